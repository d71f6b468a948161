package authserver_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/authserver"
	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/keyring"
	"github.com/oauthd/oauthd/internal/testdb"
)

const issuer = "https://auth.example.test"

var masterKey = bytes.Repeat([]byte{7}, keyring.KeySize)

// instance is one oauthd process's view of the keys: its own pool and cache.
type instance struct {
	db   *database.DB
	keys *authserver.Keys
}

func newInstance(t testing.TB, url string, o authserver.KeyOptions) *instance {
	t.Helper()
	db, err := database.Open(url, database.Options{MaxOpenConns: 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	kr, err := keyring.New(masterKey)
	if err != nil {
		t.Fatal(err)
	}
	return &instance{db: db, keys: authserver.NewKeys(db, kr, o)}
}

func ensured(t testing.TB, url string, o authserver.KeyOptions) *instance {
	t.Helper()
	in := newInstance(t, url, o)
	if err := in.keys.Ensure(context.Background()); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return in
}

func claims() authserver.AccessClaims {
	now := time.Now().Unix()
	return authserver.AccessClaims{
		Issuer: issuer, Subject: "0190f0e2-0000-7000-8000-000000000001", Audience: []string{issuer},
		Expiry: now + 900, IssuedAt: now, JTI: authserver.NewJTI(), ClientID: "o2c_abc",
		Scope: "tenants.flows.get role:viewer", TenantID: "0190f0e2-0000-7000-8000-0000000000aa",
		GrantID: "0190f0e2-0000-7000-8000-0000000000bb", UserID: "0190f0e2-0000-7000-8000-000000000001",
	}
}

func sign(t testing.TB, k *authserver.Keys, c authserver.AccessClaims) string {
	t.Helper()
	tok, err := k.SignAccessToken(c)
	if err != nil {
		t.Fatalf("SignAccessToken: %v", err)
	}
	return tok
}

func header(t *testing.T, token string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

func kids(set jose.JSONWebKeySet) []string {
	out := make([]string, len(set.Keys))
	for i, k := range set.Keys {
		out[i] = k.KeyID
	}
	return out
}

func countKeys(t *testing.T, db *database.DB, where string) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow("SELECT count(*) FROM signing_keys WHERE " + where).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func exec(t *testing.T, db *database.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.SQL().Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// privateKey unseals a stored key the way an attacker with the master key
// would; tests use it to forge tokens that only differ in one respect.
func privateKey(t *testing.T, db *database.DB, kid string) any {
	t.Helper()
	var sealed []byte
	var sealedWith string
	if err := db.SQL().QueryRow("SELECT private_ciphertext, sealed_with FROM signing_keys WHERE kid = $1", kid).Scan(&sealed, &sealedWith); err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.New(masterKey)
	if err != nil {
		t.Fatal(err)
	}
	der, err := kr.Open(sealed, sealedWith, []byte(kid))
	if err != nil {
		t.Fatalf("open sealed key: %v", err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func TestEnsureConcurrentInstancesCreateOneKey(t *testing.T) {
	url := testdb.New(t)
	a, b := newInstance(t, url, authserver.KeyOptions{}), newInstance(t, url, authserver.KeyOptions{})
	var wg sync.WaitGroup
	errs := make(chan error, 5)
	start := make(chan struct{})
	for i := range 5 {
		in := a
		if i%2 == 1 {
			in = b
		}
		wg.Go(func() {
			<-start
			errs <- in.keys.Ensure(context.Background())
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Ensure: %v", err)
		}
	}
	if n := countKeys(t, a.db, "true"); n != 1 {
		t.Fatalf("signing_keys rows = %d, want 1", n)
	}
	if err := a.keys.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := countKeys(t, a.db, "true"); n != 1 {
		t.Fatalf("after a second Ensure: %d rows, want 1", n)
	}
	ka, kb := kids(a.keys.JWKS()), kids(b.keys.JWKS())
	if len(ka) != 1 || len(kb) != 1 || ka[0] != kb[0] {
		t.Fatalf("JWKS kids: a=%v b=%v, want the same single key", ka, kb)
	}
}

func TestSignParseRoundTrip(t *testing.T) {
	in := ensured(t, testdb.New(t), authserver.KeyOptions{})
	c := claims()
	c.NotBefore = c.IssuedAt
	tok := sign(t, in.keys, c)

	h := header(t, tok)
	kid := in.keys.JWKS().Keys[0].KeyID
	if h["alg"] != "ES256" || h["typ"] != "at+jwt" || h["kid"] != kid || len(h) != 3 {
		t.Fatalf("header = %v, want {alg: ES256, kid: %s, typ: at+jwt}", h, kid)
	}
	got, err := in.keys.ParseAccessToken(context.Background(), tok, issuer)
	if err != nil {
		t.Fatalf("ParseAccessToken: %v", err)
	}
	gotJSON, _ := json.Marshal(got)
	wantJSON, _ := json.Marshal(c)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Fatalf("claims\n got %s\nwant %s", gotJSON, wantJSON)
	}
}

func TestSignFillsIssuedAtAndRequiresClaims(t *testing.T) {
	in := ensured(t, testdb.New(t), authserver.KeyOptions{})
	c := claims()
	c.IssuedAt = 0
	before := time.Now().Unix()
	got, err := in.keys.ParseAccessToken(context.Background(), sign(t, in.keys, c), issuer)
	if err != nil {
		t.Fatal(err)
	}
	if got.IssuedAt < before || got.IssuedAt > time.Now().Unix() {
		t.Fatalf("iat = %d, want now", got.IssuedAt)
	}
	for name, drop := range map[string]func(*authserver.AccessClaims){
		"iss": func(c *authserver.AccessClaims) { c.Issuer = "" },
		"sub": func(c *authserver.AccessClaims) { c.Subject = "" },
		"aud": func(c *authserver.AccessClaims) { c.Audience = nil },
		"exp": func(c *authserver.AccessClaims) { c.Expiry = 0 },
		"jti": func(c *authserver.AccessClaims) { c.JTI = "" },
		"cid": func(c *authserver.AccessClaims) { c.ClientID = "" },
	} {
		c := claims()
		drop(&c)
		if _, err := in.keys.SignAccessToken(c); err == nil {
			t.Errorf("signed claims without %s", name)
		}
	}
}

func TestSignWithoutEnsureFails(t *testing.T) {
	in := newInstance(t, testdb.New(t), authserver.KeyOptions{})
	if _, err := in.keys.SignAccessToken(claims()); !errors.Is(err, authserver.ErrNoSigningKey) {
		t.Fatalf("err = %v, want ErrNoSigningKey", err)
	}
}

func TestUnsupportedAlgorithmRefused(t *testing.T) {
	in := newInstance(t, testdb.New(t), authserver.KeyOptions{Algorithm: "HS256"})
	if err := in.keys.Ensure(context.Background()); err == nil {
		t.Fatal("Ensure accepted HS256")
	}
	if n := countKeys(t, in.db, "true"); n != 0 {
		t.Fatalf("%d keys stored", n)
	}
}

func TestTokenVerifiesOnAnotherInstance(t *testing.T) {
	url := testdb.New(t)
	a := ensured(t, url, authserver.KeyOptions{})
	b := ensured(t, url, authserver.KeyOptions{})
	c := claims()
	got, err := b.keys.ParseAccessToken(context.Background(), sign(t, a.keys, c), issuer)
	if err != nil {
		t.Fatalf("B rejects A's token: %v", err)
	}
	if got.JTI != c.JTI {
		t.Fatalf("jti = %s, want %s", got.JTI, c.JTI)
	}

	// A rotates; B has not reloaded but learns the new kid from the token.
	if err := a.keys.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := b.keys.ParseAccessToken(context.Background(), sign(t, a.keys, claims()), issuer); err != nil {
		t.Fatalf("B rejects a token signed with A's new key: %v", err)
	}
	if n := len(b.keys.JWKS().Keys); n != 2 {
		t.Fatalf("B publishes %d keys after reloading, want 2", n)
	}
}

func TestRotation(t *testing.T) {
	url := testdb.New(t)
	a := ensured(t, url, authserver.KeyOptions{Overlap: 3 * time.Hour})
	b := ensured(t, url, authserver.KeyOptions{Overlap: 3 * time.Hour})
	ctx := context.Background()
	oldKID := a.keys.JWKS().Keys[0].KeyID
	oldToken := sign(t, a.keys, claims())

	if err := a.keys.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	newToken := sign(t, a.keys, claims())
	newKID, _ := header(t, newToken)["kid"].(string)
	if newKID == "" || newKID == oldKID {
		t.Fatalf("kid after rotation = %q, old %q", newKID, oldKID)
	}
	if got := kids(a.keys.JWKS()); len(got) != 2 || got[0] != newKID || got[1] != oldKID {
		t.Fatalf("JWKS kids = %v, want [%s %s]", got, newKID, oldKID)
	}
	for name, in := range map[string]*instance{"A": a, "B": b} {
		for _, tok := range []string{oldToken, newToken} {
			if _, err := in.keys.ParseAccessToken(ctx, tok, issuer); err != nil {
				t.Errorf("%s rejects %s-kid token: %v", name, header(t, tok)["kid"], err)
			}
		}
	}
	// The old key stops signing at once and stays published for Overlap.
	if n := countKeys(t, a.db, "kid = '"+oldKID+"' AND retires_at <= now() AND expires_at BETWEEN now() + interval '179 minutes' AND now() + interval '3 hours'"); n != 1 {
		t.Fatal("old key not retired now and published for the overlap")
	}
	if n := countKeys(t, a.db, "activates_at <= now() AND now() < retires_at"); n != 1 {
		t.Fatalf("%d active keys, want 1", n)
	}
}

func TestExpiredKeyIsUnpublished(t *testing.T) {
	url := testdb.New(t)
	a := ensured(t, url, authserver.KeyOptions{})
	ctx := context.Background()
	oldKID := a.keys.JWKS().Keys[0].KeyID
	oldToken := sign(t, a.keys, claims())
	if err := a.keys.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	exec(t, a.db, "UPDATE signing_keys SET expires_at = now() - interval '1 second' WHERE kid = $1", oldKID)

	c := ensured(t, url, authserver.KeyOptions{}) // a fresh instance
	if err := a.keys.Ensure(ctx); err != nil {    // and one that reloads
		t.Fatal(err)
	}
	for name, in := range map[string]*instance{"A": a, "C": c} {
		if got := kids(in.keys.JWKS()); len(got) != 1 || got[0] == oldKID {
			t.Errorf("%s JWKS = %v, want only the new key", name, got)
		}
		if _, err := in.keys.ParseAccessToken(ctx, oldToken, issuer); !errors.Is(err, authserver.ErrInvalidToken) {
			t.Errorf("%s: token of an expired key: err = %v, want ErrInvalidToken", name, err)
		}
	}
	if n := countKeys(t, a.db, "kid = '"+oldKID+"'"); n != 0 {
		t.Errorf("expired key row kept")
	}
}

func TestPrivateKeyIsSealed(t *testing.T) {
	url := testdb.New(t)
	in := ensured(t, url, authserver.KeyOptions{})
	kid := in.keys.JWKS().Keys[0].KeyID
	var sealed []byte
	var publicJWK, sealedWith string
	if err := in.db.SQL().QueryRow("SELECT private_ciphertext, public_jwk::text, sealed_with FROM signing_keys WHERE kid = $1", kid).
		Scan(&sealed, &publicJWK, &sealedWith); err != nil {
		t.Fatal(err)
	}
	priv, ok := privateKey(t, in.db, kid).(*ecdsa.PrivateKey)
	if !ok {
		t.Fatal("stored key is not ECDSA")
	}
	d, err := priv.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, d) {
		t.Fatal("private_ciphertext holds the private scalar in clear")
	}
	if strings.Contains(publicJWK, base64.RawURLEncoding.EncodeToString(d)) || strings.Contains(publicJWK, `"d"`) {
		t.Fatalf("public_jwk holds the private key: %s", publicJWK)
	}
	var jwk jose.JSONWebKey
	if err := json.Unmarshal([]byte(publicJWK), &jwk); err != nil || !jwk.IsPublic() || jwk.Use != "sig" || jwk.Algorithm != "ES256" {
		t.Fatalf("public_jwk = %s (%v)", publicJWK, err)
	}
	// The ciphertext is bound to its kid: moved to another row it does not open.
	kr, _ := keyring.New(masterKey)
	if _, err := kr.Open(sealed, sealedWith, []byte("another-kid")); err == nil {
		t.Fatal("sealed key opens under another kid")
	}
}

func TestRS256(t *testing.T) {
	url := testdb.New(t)
	in := ensured(t, url, authserver.KeyOptions{Algorithm: "RS256"})
	tok := sign(t, in.keys, claims())
	if h := header(t, tok); h["alg"] != "RS256" || h["typ"] != "at+jwt" {
		t.Fatalf("header = %v", h)
	}
	if _, err := in.keys.ParseAccessToken(context.Background(), tok, issuer); err != nil {
		t.Fatal(err)
	}
	if k := in.keys.JWKS().Keys[0]; k.Algorithm != "RS256" || k.Use != "sig" || !k.IsPublic() {
		t.Fatalf("JWKS key = %+v", k)
	}
	// An ES256 instance on the same keys verifies RS256 tokens by the key's
	// own algorithm, and does not accept ES256 under the RSA kid.
	es := ensured(t, url, authserver.KeyOptions{})
	if _, err := es.keys.ParseAccessToken(context.Background(), tok, issuer); err != nil {
		t.Fatalf("ES256-configured instance rejects an RS256 key's token: %v", err)
	}
	kid := in.keys.JWKS().Keys[0].KeyID
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forged := forge(t, jose.ES256, jose.JSONWebKey{Key: ecKey, KeyID: kid}, "at+jwt", claims())
	if _, err := in.keys.ParseAccessToken(context.Background(), forged, issuer); !errors.Is(err, authserver.ErrInvalidToken) {
		t.Fatalf("ES256 token under an RSA kid: err = %v", err)
	}
}

func forge(t *testing.T, alg jose.SignatureAlgorithm, key jose.JSONWebKey, typ string, c authserver.AccessClaims) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(c)
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// handMade builds a compact JWS from raw parts, for algorithms go-jose
// will not sign with.
func handMade(h map[string]any, c authserver.AccessClaims, sig func(signingInput string) []byte) string {
	hj, _ := json.Marshal(h)
	cj, _ := json.Marshal(c)
	input := base64.RawURLEncoding.EncodeToString(hj) + "." + base64.RawURLEncoding.EncodeToString(cj)
	return input + "." + base64.RawURLEncoding.EncodeToString(sig(input))
}

func TestParseRejects(t *testing.T) {
	url := testdb.New(t)
	in := ensured(t, url, authserver.KeyOptions{})
	ctx := context.Background()
	pub := in.keys.JWKS().Keys[0]
	kid := pub.KeyID
	realKey := jose.JSONWebKey{Key: privateKey(t, in.db, kid), KeyID: kid}
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pubJSON, _ := json.Marshal(pub)
	pubDER, _ := x509.MarshalPKIXPublicKey(pub.Key)
	now := time.Now().Unix()

	good := sign(t, in.keys, claims())
	if _, err := in.keys.ParseAccessToken(ctx, good, issuer); err != nil {
		t.Fatalf("control token rejected: %v", err)
	}
	parts := strings.Split(good, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[5] ^= 0x01
	tampered := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	otherClaims := claims()
	otherClaims.Scope = "tenants.api_clients.*"
	swapped := parts[0] + "." + strings.Split(sign(t, in.keys, otherClaims), ".")[1] + "." + parts[2]

	with := func(f func(*authserver.AccessClaims)) authserver.AccessClaims {
		c := claims()
		f(&c)
		return c
	}
	hs256 := func(secret []byte) func(string) []byte {
		return func(input string) []byte {
			m := hmac.New(sha256.New, secret)
			m.Write([]byte(input))
			return m.Sum(nil)
		}
	}
	cases := map[string]string{
		"tampered signature":     tampered,
		"swapped payload":        swapped,
		"alg none":               handMade(map[string]any{"alg": "none", "kid": kid, "typ": "at+jwt"}, claims(), func(string) []byte { return nil }),
		"alg none, no sig":       strings.TrimSuffix(handMade(map[string]any{"alg": "none", "kid": kid, "typ": "at+jwt"}, claims(), func(string) []byte { return nil }), "."),
		"HS256 with public JWK":  handMade(map[string]any{"alg": "HS256", "kid": kid, "typ": "at+jwt"}, claims(), hs256(pubJSON)),
		"HS256 with public DER":  handMade(map[string]any{"alg": "HS256", "kid": kid, "typ": "at+jwt"}, claims(), hs256(pubDER)),
		"wrong iss":              sign(t, in.keys, with(func(c *authserver.AccessClaims) { c.Issuer = "https://evil.test" })),
		"wrong aud":              sign(t, in.keys, with(func(c *authserver.AccessClaims) { c.Audience = []string{"https://other.test"} })),
		"expired":                sign(t, in.keys, with(func(c *authserver.AccessClaims) { c.Expiry = now - 31 })),
		"not yet valid":          sign(t, in.keys, with(func(c *authserver.AccessClaims) { c.NotBefore = now + 120 })),
		"jti not UUIDv7":         sign(t, in.keys, with(func(c *authserver.AccessClaims) { c.JTI = "a4b0a5f2-5c4c-4d3e-9f1a-0e3b1e4c7d21" })),
		"typ JWT":                forge(t, jose.ES256, realKey, "JWT", claims()),
		"no typ":                 forge(t, jose.ES256, realKey, "", claims()),
		"unknown kid":            forge(t, jose.ES256, jose.JSONWebKey{Key: otherKey, KeyID: "made-up"}, "at+jwt", claims()),
		"other key, real kid":    forge(t, jose.ES256, jose.JSONWebKey{Key: otherKey, KeyID: kid}, "at+jwt", claims()),
		"no kid":                 forge(t, jose.ES256, jose.JSONWebKey{Key: otherKey}, "at+jwt", claims()),
		"garbage":                "not.a.token",
		"empty":                  "",
		"JSON serialization":     `{"payload":"e30","signatures":[]}`,
		"too long":               good + strings.Repeat("A", 9000),
		"exp missing (real key)": forge(t, jose.ES256, realKey, "at+jwt", with(func(c *authserver.AccessClaims) { c.Expiry = 0 })),
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := in.keys.ParseAccessToken(ctx, tok, issuer)
			if !errors.Is(err, authserver.ErrInvalidToken) || got != nil {
				t.Fatalf("got %+v, err = %v; want ErrInvalidToken", got, err)
			}
		})
	}
	// Within the leeway, a just-expired token still passes.
	if _, err := in.keys.ParseAccessToken(ctx, sign(t, in.keys, with(func(c *authserver.AccessClaims) { c.Expiry = now - 5 })), issuer); err != nil {
		t.Fatalf("token 5 s past exp rejected: %v", err)
	}
	// The same key and claims with typ application/at+jwt are accepted.
	if _, err := in.keys.ParseAccessToken(ctx, forge(t, jose.ES256, realKey, "application/at+jwt", claims()), issuer); err != nil {
		t.Fatalf("typ application/at+jwt rejected: %v", err)
	}
}

func TestRunPublishesSuccessorBeforeItSigns(t *testing.T) {
	url := testdb.New(t)
	o := authserver.KeyOptions{RotateEvery: time.Hour, Overlap: 2 * time.Hour}
	in := ensured(t, url, o)
	oldKID := in.keys.JWKS().Keys[0].KeyID
	exec(t, in.db, "UPDATE signing_keys SET activates_at = now() - interval '2 hours'")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); in.keys.Run(ctx, slog.New(slog.DiscardHandler)) }()
	apitest.Eventually(t, 20*time.Second, func() error {
		if n := len(in.keys.JWKS().Keys); n < 2 {
			return fmt.Errorf("JWKS has %d keys, want the successor too", n)
		}
		return nil
	})
	cancel()
	<-done

	set := kids(in.keys.JWKS())
	if len(set) != 2 || set[1] != oldKID {
		t.Fatalf("JWKS after Run = %v, want [successor %s]", set, oldKID)
	}
	newKID := set[0]
	// The successor is published ahead of time; the old key signs until it
	// activates, then retires exactly then and stays published for Overlap.
	if n := countKeys(t, in.db, "kid = '"+newKID+"' AND activates_at > now() + interval '9 minutes'"); n != 1 {
		t.Fatal("successor does not activate in the future")
	}
	var boundary bool
	if err := in.db.SQL().QueryRow(`SELECT o.retires_at = n.activates_at AND o.expires_at = n.activates_at + interval '2 hours'
		FROM signing_keys o, signing_keys n WHERE o.kid = $1 AND n.kid = $2`, oldKID, newKID).Scan(&boundary); err != nil || !boundary {
		t.Fatalf("old key does not retire when its successor activates (%v)", err)
	}
	if kid := header(t, sign(t, in.keys, claims()))["kid"]; kid != oldKID {
		t.Fatalf("signed with %v before the successor activates, want %s", kid, oldKID)
	}
	// A second rotation check with a successor pending creates nothing.
	if err := in.keys.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := countKeys(t, in.db, "true"); n != 2 {
		t.Fatalf("%d keys, want 2", n)
	}
	// Time passes: the successor takes over on the next reload.
	exec(t, in.db, `UPDATE signing_keys SET activates_at = now() - interval '1 second' WHERE kid = $1`, newKID)
	exec(t, in.db, `UPDATE signing_keys SET retires_at = now() - interval '1 second' WHERE kid = $1`, oldKID)
	if err := in.keys.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	if kid := header(t, sign(t, in.keys, claims()))["kid"]; kid != newKID {
		t.Fatalf("signed with %v after the successor activated, want %s", kid, newKID)
	}
	if n := countKeys(t, in.db, "true"); n != 2 {
		t.Fatalf("%d keys after the switch, want 2 (no extra key created)", n)
	}
}

func FuzzParseAccessToken(f *testing.F) {
	in := ensured(f, testdb.New(f), authserver.KeyOptions{})
	want := claims()
	good, err := in.keys.SignAccessToken(want)
	if err != nil {
		f.Fatal(err)
	}
	wantJSON, _ := json.Marshal(want)
	f.Add(good)
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add(strings.Replace(good, ".", "..", 1))
	f.Fuzz(func(t *testing.T, tok string) {
		c, err := in.keys.ParseAccessToken(context.Background(), tok, issuer)
		// Another encoding of the same signed claims may pass; other claims never.
		if gotJSON, _ := json.Marshal(c); err == nil && !bytes.Equal(gotJSON, wantJSON) {
			t.Fatalf("accepted claims it did not sign: %q (%s)", tok, gotJSON)
		}
		if err != nil && !errors.Is(err, authserver.ErrInvalidToken) {
			t.Fatalf("err = %v, want ErrInvalidToken", err)
		}
	})
}

func BenchmarkSignAccessToken(b *testing.B) {
	in := ensured(b, testdb.New(b), authserver.KeyOptions{})
	c := claims()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := in.keys.SignAccessToken(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseAccessToken(b *testing.B) {
	in := ensured(b, testdb.New(b), authserver.KeyOptions{})
	tok, err := in.keys.SignAccessToken(claims())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := in.keys.ParseAccessToken(ctx, tok, issuer); err != nil {
			b.Fatal(err)
		}
	}
}
