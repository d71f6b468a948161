package authserver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

func testES256(t testing.TB) (*ecdsa.PrivateKey, *es256Signer, jose.Signer) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	direct, err := newES256Signer("kid-1", key)
	if err != nil {
		t.Fatal(err)
	}
	generic, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "kid-1", Algorithm: "ES256"}},
		(&jose.SignerOptions{}).WithType(accessTokenType))
	if err != nil {
		t.Fatal(err)
	}
	return key, direct, generic
}

func testClaims() AccessClaims {
	now := time.Now().Unix()
	return AccessClaims{Issuer: "https://auth.example.com", Subject: "o2c_abc", Audience: []string{"https://auth.example.com"},
		Expiry: now + 3600, IssuedAt: now, JTI: NewJTI(), ClientID: "o2c_abc", Scope: "role:viewer tenants.flows.get",
		TenantID: "0190f0e2-0000-7000-8000-0000000000aa"}
}

// decodeSegment is one base64url segment of a compact JWS, decoded as JSON.
func decodeSegment(t *testing.T, tok string, i int) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[i])
	if err != nil {
		t.Fatalf("segment %d of %s: %v", i, tok, err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("segment %d: %v: %s", i, err, raw)
	}
	return m
}

// The direct signer's tokens carry the header and claims go-jose's do (as
// decoded JSON), and verify with go-jose and the public key; for claims of
// every shape, strings that need escaping included.
func TestES256SignerMatchesGoJose(t *testing.T) {
	key, direct, generic := testES256(t)
	full := testClaims()
	full.NotBefore, full.GrantID, full.UserID = full.IssuedAt, "0190f0e2-0000-7000-8000-0000000000bb", "0190f0e2-0000-7000-8000-000000000001"
	odd := testClaims()
	odd.Scope = "quote\" back\\slash <tag> & \u2028 ünïcödé \x01 \t"
	odd.Audience = []string{"https://auth.example.com", "other \"aud\""}
	for name, c := range map[string]AccessClaims{"client credentials": testClaims(), "every claim": full, "needs escaping": odd} {
		t.Run(name, func(t *testing.T) {
			tok, err := direct.sign(&c)
			if err != nil {
				t.Fatal(err)
			}
			old, err := signWithJOSE(generic, c)
			if err != nil {
				t.Fatal(err)
			}
			if h, oh := decodeSegment(t, tok, 0), decodeSegment(t, old, 0); !reflect.DeepEqual(h, oh) {
				t.Errorf("header %v, go-jose's %v", h, oh)
			}
			if p, op := decodeSegment(t, tok, 1), decodeSegment(t, old, 1); !reflect.DeepEqual(p, op) {
				t.Errorf("claims %v, go-jose's %v", p, op)
			}
			jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.ES256})
			if err != nil {
				t.Fatal(err)
			}
			payload, err := jws.Verify(&key.PublicKey)
			if err != nil {
				t.Fatalf("go-jose does not verify the direct signer's token: %v", err)
			}
			var back AccessClaims
			if err := json.Unmarshal(payload, &back); err != nil || !reflect.DeepEqual(back, c) {
				t.Fatalf("claims read back %+v (%v), want %+v", back, err, c)
			}
			if typ := jws.Signatures[0].Header.ExtraHeaders[jose.HeaderType]; typ != accessTokenType || jws.Signatures[0].Header.KeyID != "kid-1" {
				t.Fatalf("header typ %v kid %q", typ, jws.Signatures[0].Header.KeyID)
			}
		})
	}
}

// ASN.1 signatures become 64 bytes whatever their integers' lengths: a
// short r is padded, a DER sign byte dropped; anything else is refused.
func TestRawSignature(t *testing.T) {
	der := func(r, s []byte) []byte {
		i := func(n []byte) []byte { return append([]byte{0x02, byte(len(n))}, n...) }
		body := append(i(r), i(s)...)
		return append([]byte{0x30, byte(len(body))}, body...)
	}
	big := make([]byte, 32)
	for i := range big {
		big[i] = 0xff
	}
	var out [64]byte
	if !rawSignature(der([]byte{0x05}, append([]byte{0x00}, big...)), &out) {
		t.Fatal("refused a short r and a 33-byte s with its sign byte")
	}
	if out[31] != 0x05 || out[0] != 0 || out[32] != 0xff || out[63] != 0xff {
		t.Fatalf("r||s = %x", out)
	}
	for name, bad := range map[string][]byte{
		"r too long":    der(append([]byte{0x01}, big...), []byte{1}),
		"zero s":        der([]byte{1}, []byte{0}),
		"trailing data": append(der([]byte{1}, []byte{1}), 0),
		"not a seq":     {0x02, 0x01, 0x01},
	} {
		if rawSignature(bad, &out) {
			t.Errorf("%s: accepted", name)
		}
	}
}

// BenchmarkSignES256 signs the claims of a client-credentials token with
// go-jose's generic signer (before) and with es256Signer (now).
func BenchmarkSignES256(b *testing.B) {
	_, direct, generic := testES256(b)
	c := testClaims()
	b.Run("signer=go-jose", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := signWithJOSE(generic, c); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("signer=direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := direct.sign(&c); err != nil {
				b.Fatal(err)
			}
		}
	})
}
