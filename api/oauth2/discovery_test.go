package oauth2_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/oauthd/oauthd/api/oauth2"
	"github.com/oauthd/oauthd/authserver"
	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/keyring"
	"github.com/oauthd/oauthd/internal/testdb"
	"github.com/oauthd/oauthd/policy"
)

const issuer = "https://auth.example.test"

func get(t *testing.T, h http.Handler, method string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, err := http.NewRequest(method, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

func TestMetadata(t *testing.T) {
	res, body := get(t, oauth2.MetadataHandler(issuer), http.MethodGet, nil)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, content type %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if cc := res.Header.Get("Cache-Control"); !strings.HasPrefix(cc, "public, max-age=") {
		t.Fatalf("Cache-Control = %q", cc)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"issuer":                        issuer,
		"authorization_endpoint":        issuer + "/oauth/authorize",
		"token_endpoint":                issuer + "/oauth/token",
		"device_authorization_endpoint": issuer + "/oauth/device_authorization",
		"revocation_endpoint":           issuer + "/oauth/revoke",
		"introspection_endpoint":        issuer + "/oauth/introspect",
		"jwks_uri":                      issuer + "/.well-known/jwks.json",
		"service_documentation":         issuer + "/docs",
		"response_types_supported":      []any{"code"},
		"response_modes_supported":      []any{"query"},
		"grant_types_supported": []any{"authorization_code", "client_credentials", "refresh_token",
			"urn:ietf:params:oauth:grant-type:device_code"},
		"token_endpoint_auth_methods_supported":         []any{"client_secret_basic", "client_secret_post", "none"},
		"revocation_endpoint_auth_methods_supported":    []any{"client_secret_basic", "client_secret_post", "none"},
		"introspection_endpoint_auth_methods_supported": []any{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":              []any{"S256"},
	}
	scopes, _ := m["scopes_supported"].([]any)
	delete(m, "scopes_supported")
	for k, v := range want {
		got, _ := json.Marshal(m[k])
		exp, _ := json.Marshal(v)
		if !bytes.Equal(got, exp) {
			t.Errorf("%s = %s, want %s", k, got, exp)
		}
		delete(m, k)
	}
	if len(m) != 0 {
		t.Errorf("unexpected members: %v", m)
	}
	if len(scopes) != len(policy.Catalogue) || !slices.Contains(scopes, any(policy.OAuthClientsGet)) {
		t.Errorf("scopes_supported = %v, want the permission catalogue", scopes)
	}
}

func TestMetadataIssuerWithTrailingSlash(t *testing.T) {
	md := oauth2.NewMetadata(issuer + "/")
	if md.Issuer != issuer+"/" || md.TokenEndpoint != issuer+"/oauth/token" || md.JWKSURI != issuer+"/.well-known/jwks.json" {
		t.Fatalf("metadata = %+v", md)
	}
}

func TestMetadataMethodsAndConditionalGet(t *testing.T) {
	h := oauth2.MetadataHandler(issuer)
	res, body := get(t, h, http.MethodPost, nil)
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" || !json.Valid(body) {
		t.Fatalf("POST: %d Allow=%q %s", res.StatusCode, res.Header.Get("Allow"), body)
	}
	res, body = get(t, h, http.MethodHead, nil)
	if res.StatusCode != http.StatusOK || len(body) != 0 {
		t.Fatalf("HEAD: %d with %d bytes", res.StatusCode, len(body))
	}
	etag := res.Header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	res, body = get(t, h, http.MethodGet, map[string]string{"If-None-Match": etag})
	if res.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Fatalf("If-None-Match: %d", res.StatusCode)
	}
	res, _ = get(t, h, http.MethodGet, map[string]string{"If-None-Match": `"other"`})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("stale If-None-Match: %d", res.StatusCode)
	}
}

func newKeys(t *testing.T) *authserver.Keys {
	t.Helper()
	db, err := database.Open(testdb.New(t), database.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	kr, err := keyring.New(bytes.Repeat([]byte{9}, keyring.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	k := authserver.NewKeys(db, kr, authserver.KeyOptions{})
	if err := k.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	return k
}

func TestJWKS(t *testing.T) {
	keys := newKeys(t)
	h := oauth2.JWKSHandler(keys)
	res, body := get(t, h, http.MethodGet, nil)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json" ||
		res.Header.Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("status %d, headers %v", res.StatusCode, res.Header)
	}
	var doc struct {
		Keys []map[string]any `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Keys) != 1 {
		t.Fatalf("keys = %s", body)
	}
	k := doc.Keys[0]
	var names []string
	for n := range k {
		names = append(names, n)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"alg", "crv", "kid", "kty", "use", "x", "y"}) ||
		k["kty"] != "EC" || k["crv"] != "P-256" || k["alg"] != "ES256" || k["use"] != "sig" || k["kid"] == "" {
		t.Fatalf("key = %v", k)
	}

	// A resource server verifies a token with nothing but the served JWKS.
	now := time.Now().Unix()
	tok, err := keys.SignAccessToken(authserver.AccessClaims{Issuer: issuer, Subject: "s", Audience: []string{issuer},
		Expiry: now + 60, IssuedAt: now, JTI: authserver.NewJTI(), ClientID: "o2c_x", TenantID: "t"})
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSignedCompact(tok, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	found := set.Key(jws.Signatures[0].Header.KeyID)
	if len(found) != 1 {
		t.Fatalf("token kid %q not in JWKS", jws.Signatures[0].Header.KeyID)
	}
	if _, err := jws.Verify(found[0].Key); err != nil {
		t.Fatalf("token does not verify with the JWKS key: %v", err)
	}

	// Asked for the JWK Set media type, it is served as that.
	res, _ = get(t, h, http.MethodGet, map[string]string{"Accept": "application/jwk-set+json, application/json;q=0.5"})
	if res.Header.Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("Accept jwk-set: content type %q", res.Header.Get("Content-Type"))
	}
	res, _ = get(t, h, http.MethodGet, map[string]string{"Accept": "application/jwk-set+json;q=0, application/json"})
	if res.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("jwk-set refused with q=0: content type %q", res.Header.Get("Content-Type"))
	}

	// After a rotation both keys are served, and the ETag changes.
	etag := res.Header.Get("ETag")
	if err := keys.Rotate(context.Background()); err != nil {
		t.Fatal(err)
	}
	res, body = get(t, h, http.MethodGet, map[string]string{"If-None-Match": etag})
	if res.StatusCode != http.StatusOK {
		t.Fatalf("after rotation, If-None-Match of the old set: %d", res.StatusCode)
	}
	if err := json.Unmarshal(body, &set); err != nil || len(set.Keys) != 2 {
		t.Fatalf("after rotation: %s (%v)", body, err)
	}
	for _, k := range set.Keys {
		if !k.IsPublic() || k.Use != "sig" || k.Algorithm != "ES256" {
			t.Fatalf("key %+v", k)
		}
	}
}
