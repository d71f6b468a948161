package apiclients_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/audit"
	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/fault"
	"github.com/oauthd/oauthd/internal/listing"
	"github.com/oauthd/oauthd/internal/testdb"
	"github.com/oauthd/oauthd/policy"
)

type acEnv struct {
	db   *database.DB
	svc  *apiclients.Service
	a, b uuid.UUID
}

var testBounds = apiclients.Bounds{MinAccessTTL: time.Minute, MaxAccessTTL: 24 * time.Hour,
	MinRefreshTTL: time.Hour, MaxRefreshTTL: 90 * 24 * time.Hour}

func acSetup(t *testing.T) *acEnv {
	t.Helper()
	db := testdb.Open(t)
	ctx := context.Background()
	enforcer, err := policy.NewEnforcer(db)
	if err != nil {
		t.Fatal(err)
	}
	e := &acEnv{db: db, a: uuid.New(), b: uuid.New()}
	for i, id := range []uuid.UUID{e.a, e.b} {
		if err := db.Conn(ctx).Exec("INSERT INTO tenants (id, name) VALUES (?, ?)", id, []string{"a", "b"}[i]).Error; err != nil {
			t.Fatal(err)
		}
	}
	e.svc = apiclients.NewService(db, apiclients.NewStore(db), enforcer, audit.NewLog(db),
		apiclients.Options{Bounds: testBounds})
	return e
}

func (e *acEnv) confidential(t *testing.T, tenant uuid.UUID) (*apiclients.Client, string) {
	t.Helper()
	c, secret, err := e.svc.Create(context.Background(), tenant, nil, apiclients.NewClient{
		Name: "bot-" + uuid.NewString()[:8], ClientType: apiclients.TypeConfidential,
		GrantTypes: []string{apiclients.GrantClientCredentials}, Roles: []string{"viewer"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, secret
}

func (e *acEnv) count(t *testing.T, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := e.db.Conn(context.Background()).Raw(query, args...).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// bcryptChecks is how many bcrypt comparisons svc has made: the loads of
// its verified-secret cache.
func bcryptChecks(svc *apiclients.Service) uint64 {
	return svc.Caches()["verified_client_secrets"].Loads()
}

// legacy stores secret the way secrets were stored before digests, as a
// bcrypt hash, in place of the client's secret rows' digests.
func (e *acEnv) legacy(t *testing.T, c *apiclients.Client, secret string) {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(secret), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.Conn(context.Background()).Exec(`UPDATE api_client_secrets SET hash = ? WHERE tenant_id = ? AND client_pk = ?`,
		string(h), c.TenantID, c.ID).Error; err != nil {
		t.Fatal(err)
	}
}

// A new secret is stored as its SHA-256 digest, self-described, and
// verifies without bcrypt; a wrong one fails.
func TestSecretsStoredAsDigests(t *testing.T) {
	e := acSetup(t)
	ctx := context.Background()
	c, secret := e.confidential(t, e.a)
	_, second, err := e.svc.CreateSecret(ctx, e.a, c.ID, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, `SELECT count(*) FROM api_client_secrets WHERE client_pk = ? AND hash LIKE '$sha256$%'`, c.ID); n != 2 {
		t.Fatalf("%d secrets stored as digests, want 2", n)
	}
	for _, s := range []string{secret, second} {
		if n := e.count(t, `SELECT count(*) FROM api_client_secrets WHERE strpos(hash, ?) > 0`, s); n != 0 {
			t.Fatal("a secret stored in plain text")
		}
		if got, err := e.svc.Authenticate(ctx, c.ClientID, s); err != nil || got.ID != c.ID {
			t.Fatalf("authenticate: %v, %v", got, err)
		}
	}
	for _, wrong := range []string{secret + "x", secret[:len(secret)-1], "", strings.ToUpper(secret)} {
		if _, err := e.svc.Authenticate(ctx, c.ClientID, wrong); !errors.Is(err, apiclients.ErrInvalidClient) {
			t.Fatalf("wrong secret %q: %v", wrong, err)
		}
	}
	if n := bcryptChecks(e.svc); n != 0 {
		t.Errorf("%d bcrypt comparisons for digests", n)
	}
}

// A secret stored as a bcrypt hash (before digests) keeps working; the
// second authentication with it costs no bcrypt: the verified-secret cache
// answers. Deleting the secret still takes effect at once, because the
// cache only vouches for rows the query still returns.
func TestAuthenticateCachesVerifiedSecrets(t *testing.T) {
	e := acSetup(t)
	ctx := context.Background()
	c, secret := e.confidential(t, e.a)
	e.legacy(t, c, secret)

	before := bcryptChecks(e.svc)
	got, err := e.svc.Authenticate(ctx, c.ClientID, secret)
	if err != nil || got.ID != c.ID {
		t.Fatalf("first authenticate: %v, %v", got, err)
	}
	if n := bcryptChecks(e.svc) - before; n != 1 {
		t.Fatalf("first authenticate made %d bcrypt comparisons, want 1", n)
	}
	before = bcryptChecks(e.svc)
	for range 5 {
		if _, err := e.svc.Authenticate(ctx, c.ClientID, secret); err != nil {
			t.Fatalf("repeat authenticate: %v", err)
		}
	}
	if n := bcryptChecks(e.svc) - before; n != 0 {
		t.Fatalf("cached authentications made %d bcrypt comparisons, want 0", n)
	}

	// A wrong secret is never cached: each try pays bcrypt and fails.
	before = bcryptChecks(e.svc)
	for range 2 {
		if _, err := e.svc.Authenticate(ctx, c.ClientID, secret+"x"); !errors.Is(err, apiclients.ErrInvalidClient) {
			t.Fatalf("wrong secret: %v", err)
		}
	}
	if n := bcryptChecks(e.svc) - before; n != 2 {
		t.Fatalf("two wrong secrets made %d bcrypt comparisons, want 2", n)
	}

	// Delete the (cached) secret: the very next call fails.
	secrets, err := e.svc.Secrets(ctx, e.a, c.ID)
	if err != nil || len(secrets) != 1 {
		t.Fatalf("secrets: %v %v", secrets, err)
	}
	if err := e.svc.DeleteSecret(ctx, e.a, c.ID, secrets[0].ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Authenticate(ctx, c.ClientID, secret); !errors.Is(err, apiclients.ErrInvalidClient) {
		t.Fatalf("deleted cached secret still authenticates: %v", err)
	}
}

// An expired secret fails even when it is in the cache.
func TestAuthenticateExpiredSecretFailsEvenWhenCached(t *testing.T) {
	e := acSetup(t)
	ctx := context.Background()
	c, secret := e.confidential(t, e.a)
	if _, err := e.svc.Authenticate(ctx, c.ClientID, secret); err != nil {
		t.Fatal(err)
	}
	if err := e.db.Conn(ctx).Exec(`UPDATE api_client_secrets SET expires_at = now() - interval '1 second' WHERE client_pk = ?`, c.ID).Error; err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Authenticate(ctx, c.ClientID, secret); !errors.Is(err, apiclients.ErrInvalidClient) {
		t.Fatalf("expired secret: %v", err)
	}
}

// Every failure is the same ErrInvalidClient.
func TestAuthenticateFailuresLookAlike(t *testing.T) {
	e := acSetup(t)
	ctx := context.Background()
	conf, secret := e.confidential(t, e.a)
	pub, plain, err := e.svc.Create(ctx, e.a, nil, apiclients.NewClient{Template: "oauthd-cli"}, nil)
	if err != nil || plain != "" {
		t.Fatalf("public client: secret %q, %v", plain, err)
	}
	cases := []struct{ name, id, secret string }{
		{"unknown client", "o2c_nobody", secret},
		{"unknown client, no secret", "o2c_nobody", ""},
		{"empty client id", "", secret},
		{"wrong secret", conf.ClientID, wrongSecret(secret)},
		{"no secret for a confidential client", conf.ClientID, ""},
		{"a secret from a public client", pub.ClientID, secret},
		{"another client's secret", pub.ClientID, "o2s_" + strings.Repeat("a", 43)},
		{"over-long secret", conf.ClientID, secret + strings.Repeat("x", 100)},
	}
	for _, c := range cases {
		got, err := e.svc.Authenticate(ctx, c.id, c.secret)
		if got != nil || !errors.Is(err, apiclients.ErrInvalidClient) {
			t.Errorf("%s: %v, %v; want ErrInvalidClient", c.name, got, err)
		}
	}
	if got, err := e.svc.Authenticate(ctx, pub.ClientID, ""); err != nil || got.ID != pub.ID || !got.Public() {
		t.Errorf("public client without a secret: %v, %v", got, err)
	}
}

// last_used_at is written on first use and then at most once a minute.
func TestAuthenticateTouchesLastUsedAtOncePerMinute(t *testing.T) {
	e := acSetup(t)
	ctx := context.Background()
	c, secret := e.confidential(t, e.a)
	if _, err := e.svc.Authenticate(ctx, c.ClientID, secret); err != nil {
		t.Fatal(err)
	}
	var first time.Time
	if err := e.db.Conn(ctx).Raw(`SELECT last_used_at FROM api_clients WHERE id = ?`, c.ID).Scan(&first).Error; err != nil || first.IsZero() {
		t.Fatalf("client last_used_at after use: %v %v", first, err)
	}
	if n := e.count(t, `SELECT count(*) FROM api_client_secrets WHERE client_pk = ? AND last_used_at IS NOT NULL`, c.ID); n != 1 {
		t.Fatalf("secret last_used_at not set")
	}
	// Within the minute, nothing is written again.
	if _, err := e.svc.Authenticate(ctx, c.ClientID, secret); err != nil {
		t.Fatal(err)
	}
	var second time.Time
	if err := e.db.Conn(ctx).Raw(`SELECT last_used_at FROM api_clients WHERE id = ?`, c.ID).Scan(&second).Error; err != nil {
		t.Fatal(err)
	}
	if !second.Equal(first) {
		t.Errorf("last_used_at rewritten within a minute: %v then %v", first, second)
	}
	// Once it is over a minute old, the next use moves it.
	if err := e.db.Conn(ctx).Exec(`UPDATE api_clients SET last_used_at = now() - interval '2 minutes' WHERE id = ?`, c.ID).Error; err != nil {
		t.Fatal(err)
	}
	e.svc.ForgetTouches()
	if _, err := e.svc.Authenticate(ctx, c.ClientID, secret); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, `SELECT count(*) FROM api_clients WHERE id = ? AND last_used_at > now() - interval '1 minute'`, c.ID); n != 1 {
		t.Errorf("last_used_at not moved after a minute")
	}
}

// Secrets are stored as SHA-256 digests, never in plain text.
func TestSecretsAreHashed(t *testing.T) {
	e := acSetup(t)
	ctx := context.Background()
	c, secret := e.confidential(t, e.a)
	if !strings.HasPrefix(secret, apiclients.SecretPrefix) || len(secret) != len(apiclients.SecretPrefix)+43 {
		t.Errorf("secret %q is not o2s_ + 43 characters", secret)
	}
	if !strings.HasPrefix(c.ClientID, apiclients.ClientIDPrefix) || len(c.ClientID) < len(apiclients.ClientIDPrefix)+22 {
		t.Errorf("client id %q is not o2c_ + 22 or more characters", c.ClientID)
	}
	var hash string
	if err := e.db.Conn(ctx).Raw(`SELECT hash FROM api_client_secrets WHERE client_pk = ?`, c.ID).Scan(&hash).Error; err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(secret))
	if hash != "$sha256$"+base64.RawStdEncoding.EncodeToString(sum[:]) {
		t.Errorf("stored hash %q is not the secret's SHA-256", hash)
	}
	if n := e.count(t, `SELECT count(*) FROM api_client_secrets WHERE strpos(hash, ?) > 0 OR strpos(hint, ?) > 0`, secret, secret); n != 0 {
		t.Errorf("secret found in plain text")
	}
	if n := e.count(t, `SELECT count(*) FROM audit_events WHERE strpos(details::text, ?) > 0`, secret); n != 0 {
		t.Errorf("secret found in the audit log")
	}
}

// Another tenant's id finds nothing, for every operation.
func TestTenantScoping(t *testing.T) {
	e := acSetup(t)
	ctx := context.Background()
	c, _ := e.confidential(t, e.a)
	name := "x"
	if _, err := e.svc.Get(ctx, e.b, c.ID); !errors.Is(err, apiclients.ErrNotFound) {
		t.Errorf("get from B: %v", err)
	}
	if _, err := e.svc.Update(ctx, e.b, c.ID, apiclients.Patch{Name: &name}, nil); !errors.Is(err, apiclients.ErrNotFound) {
		t.Errorf("update from B: %v", err)
	}
	if err := e.svc.RevokeTokens(ctx, e.b, c.ID, nil); !errors.Is(err, apiclients.ErrNotFound) {
		t.Errorf("revoke from B: %v", err)
	}
	if _, _, err := e.svc.CreateSecret(ctx, e.b, c.ID, nil, nil); !errors.Is(err, apiclients.ErrNotFound) {
		t.Errorf("create secret from B: %v", err)
	}
	if _, err := e.svc.Secrets(ctx, e.b, c.ID); !errors.Is(err, apiclients.ErrNotFound) {
		t.Errorf("secrets from B: %v", err)
	}
	secrets, _ := e.svc.Secrets(ctx, e.a, c.ID)
	if err := e.svc.DeleteSecret(ctx, e.b, c.ID, secrets[0].ID, nil); !errors.Is(err, apiclients.ErrNotFound) {
		t.Errorf("delete secret from B: %v", err)
	}
	if err := e.svc.Delete(ctx, e.b, c.ID, nil); !errors.Is(err, apiclients.ErrNotFound) {
		t.Errorf("delete from B: %v", err)
	}
	page, err := e.svc.List(ctx, e.b, apiclients.Filter{}, listing.Default())
	if err != nil || page.Total != 0 || len(page.Items) != 0 {
		t.Errorf("B lists %d clients (%v)", page.Total, err)
	}
	if got, err := e.svc.ByClientID(ctx, c.ClientID); err != nil || got.TenantID != e.a {
		t.Errorf("by client id: %v %v", got, err)
	}
	if _, err := e.svc.Get(ctx, e.a, c.ID); err != nil {
		t.Errorf("A's client is gone: %v", err)
	}
}

// RevokeTokens moves tokens_valid_after forward and revokes the grants.
func TestRevokeTokens(t *testing.T) {
	e := acSetup(t)
	ctx := context.Background()
	c, _ := e.confidential(t, e.a)
	if !c.TokensValidAfter.IsZero() {
		t.Errorf("a new client's tokens_valid_after is %v", c.TokensValidAfter)
	}
	// Stored as a finite time (Go cannot scan '-infinity'), for readers
	// that select the column directly.
	if n := e.count(t, `SELECT count(*) FROM api_clients WHERE id = ? AND isfinite(tokens_valid_after)`, c.ID); n != 1 {
		t.Errorf("a new client's tokens_valid_after is not a finite time")
	}
	grant := uuid.New()
	if err := e.db.Conn(ctx).Exec(`INSERT INTO grants (tenant_id, id, client_pk) VALUES (?, ?, ?)`, e.a, grant, c.ID).Error; err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Second)
	if err := e.svc.RevokeTokens(ctx, e.a, c.ID, nil); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.Get(ctx, e.a, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.TokensValidAfter.Before(start) {
		t.Errorf("tokens_valid_after %v not moved to now", got.TokensValidAfter)
	}
	if n := e.count(t, `SELECT count(*) FROM grants WHERE id = ? AND revoked_at IS NOT NULL`, grant); n != 1 {
		t.Errorf("the client's grant was not revoked")
	}
	if n := e.count(t, `SELECT count(*) FROM audit_events WHERE action = 'api_client.revoke_tokens' AND resource_id = ?`, c.ID.String()); n != 1 {
		t.Errorf("no audit event for revoke_tokens")
	}
}

// Several goroutines adding secrets at once never exceed the limit.
func TestCreateSecretLimitUnderConcurrency(t *testing.T) {
	e := acSetup(t)
	ctx := context.Background()
	c, _ := e.confidential(t, e.a)
	const tries = 12
	errs := make(chan error, tries)
	for range tries {
		go func() {
			_, _, err := e.svc.CreateSecret(ctx, e.a, c.ID, nil, nil)
			errs <- err
		}()
	}
	created, refused := 0, 0
	for range tries {
		switch err := <-errs; {
		case err == nil:
			created++
		case errors.Is(err, apiclients.ErrTooManySecrets):
			refused++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if n := e.count(t, `SELECT count(*) FROM api_client_secrets WHERE client_pk = ?`, c.ID); n != 5 || created != 4 || refused != tries-4 {
		t.Errorf("%d secrets stored, %d created, %d refused; want 5, 4, %d", n, created, refused, tries-4)
	}
}

func TestRedirectURIAllowed(t *testing.T) {
	c := &apiclients.Client{RedirectURIs: []string{"https://app.example.com/cb", "http://127.0.0.1/callback",
		"http://[::1]:8080/cb", "com.example.app:/oauth", "http://localhost/cb"}}
	cases := map[string]bool{
		"https://app.example.com/cb":       true,
		"https://app.example.com/cb/":      false,
		"https://app.example.com/cb?x=1":   false,
		"https://APP.example.com/cb":       false,
		"http://127.0.0.1/callback":        true,
		"http://127.0.0.1:53682/callback":  true, // RFC 8252 §7.3: any port on a loopback IP
		"http://127.0.0.1:53682/other":     false,
		"http://127.0.0.1:53682/callback#": false,
		"https://127.0.0.1/callback":       false,
		"http://[::1]:9999/cb":             true,
		"http://localhost/cb":              true,
		"http://localhost:9999/cb":         false, // the port exception is for IP literals only
		"com.example.app:/oauth":           true,
		"com.example.app:/oauth2":          false,
		"":                                 false,
	}
	for uri, want := range cases {
		if got := c.RedirectURIAllowed(uri); got != want {
			t.Errorf("RedirectURIAllowed(%q) = %v, want %v", uri, got, want)
		}
	}
}

// Validation reports every problem at once, each at its attribute.
func TestCreateValidation(t *testing.T) {
	e := acSetup(t)
	ctx := context.Background()
	ttl := 5
	_, _, err := e.svc.Create(ctx, e.a, nil, apiclients.NewClient{
		Name: " ", ClientType: "secretive", GrantTypes: []string{"password", apiclients.GrantAuthorizationCode},
		RedirectURIs: []string{}, Roles: []string{"emperor"}, Scopes: []string{"tenants.nothing", "role:emperor"},
		AccessTokenTTL: &ttl, RefreshTokenTTL: &ttl, Template: "nope"}, nil)
	ps, ok := fault.List(err)
	if !ok {
		t.Fatalf("not problems: %v", err)
	}
	want := map[string]string{"template": "unknown_template", "name": "required", "client_type": "invalid_client_type",
		"grant_types": "unknown_grant_type", "redirect_uris": "redirect_uri_required", "roles": "unknown_role",
		"scopes": "unknown_scope", "access_token_ttl": "out_of_bounds", "refresh_token_ttl": "out_of_bounds"}
	found := map[string]string{}
	for _, p := range ps {
		if _, seen := found[p.Attribute]; !seen {
			found[p.Attribute] = p.Code
		}
	}
	for attr, code := range want {
		if found[attr] != code {
			t.Errorf("%s: got %q, want %q (all: %v)", attr, found[attr], code, ps)
		}
	}
}

// wrongSecret changes the secret's last character. (Appending a fixed one
// is not enough: a 32-byte base64url secret ends in "A" one time in 16.)
func wrongSecret(secret string) string {
	last := "A"
	if strings.HasSuffix(secret, "A") {
		last = "B"
	}
	return secret[:len(secret)-1] + last
}
