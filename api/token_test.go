package api_test

// The token endpoint (POST /oauth/token) end to end: Encore's Go program
// and curl command, Cloud 66's form-encoded answer, the four grants, and
// the failures RFC 6749 prescribes. /oauth/* calls go through plain
// net/http and golang.org/x/oauth2, as the seeds' users do, on the test
// environment's transport, which checks every answer against openapi.yaml.

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/authserver"
)

// asClient is an API client under test with its one-time secret.
type asClient struct {
	TID    string
	C      *apiclients.Client
	Secret string
}

func (c asClient) grantClient() authserver.Client {
	return authserver.Client{TenantID: c.C.TenantID, PK: c.C.ID, ClientID: c.C.ClientID}
}

const asRedirect = "https://app.example.test/callback"

// asNewClient creates an API client in tid through the service (the
// management API is tested elsewhere).
func asNewClient(t testing.TB, e *apitest.Env, tid string, in apiclients.NewClient) asClient {
	t.Helper()
	if in.Name == "" {
		in.Name = "client-" + uniq()
	}
	if in.ClientType == "" {
		in.ClientType = apiclients.TypeConfidential
	}
	c, secret, err := e.App.APIClients.Create(context.Background(), uuid.MustParse(tid), nil, in)
	if err != nil {
		t.Fatalf("create api client: %v", err)
	}
	return asClient{TID: tid, C: c, Secret: secret}
}

// asMachine is a confidential client-credentials client with roles.
func asMachine(t testing.TB, e *apitest.Env, tid string, roles ...string) asClient {
	t.Helper()
	return asNewClient(t, e, tid, apiclients.NewClient{GrantTypes: []string{apiclients.GrantClientCredentials}, Roles: roles})
}

// asWebApp is a confidential client for user tokens: code + refresh.
func asWebApp(t testing.TB, e *apitest.Env, tid string, scopes ...string) asClient {
	t.Helper()
	return asNewClient(t, e, tid, apiclients.NewClient{
		GrantTypes:   []string{apiclients.GrantAuthorizationCode, apiclients.GrantRefreshToken},
		RedirectURIs: []string{asRedirect}, Scopes: scopes,
	})
}

// asResult is one /oauth/* answer.
type asResult struct {
	Status int
	Header http.Header
	Raw    []byte
	JSON   map[string]any
}

func (r asResult) str(k string) string { s, _ := r.JSON[k].(string); return s }

func (r asResult) expectError(t testing.TB, status int, code string) {
	t.Helper()
	if r.Status != status || r.str("error") != code {
		t.Fatalf("got %d %s, want %d error %q", r.Status, r.Raw, status, code)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error content type %q", ct)
	}
}

// asPost sends a raw body to an /oauth endpoint of e with the given
// headers; the answer is checked against openapi.yaml.
func asPost(t testing.TB, e *apitest.Env, path, contentType string, body io.Reader, hdr map[string]string) asResult {
	t.Helper()
	target := e.URL(path)
	req, err := http.NewRequest(http.MethodPost, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.Client().Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", target, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	r := asResult{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if resp.StatusCode >= 500 {
		t.Errorf("POST %s → %d: %s", target, resp.StatusCode, raw)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &r.JSON); err != nil {
			t.Fatalf("POST %s: body is not JSON: %v\n%s", target, err, raw)
		}
	}
	return r
}

// asForm posts form to an /oauth endpoint (client_secret_post when the
// form carries the credentials).
func asForm(t testing.TB, e *apitest.Env, path string, form url.Values) asResult {
	t.Helper()
	return asPost(t, e, path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), nil)
}

// asCreds adds client_secret_post credentials to form.
func (c asClient) creds(form url.Values) url.Values {
	form.Set("client_id", c.C.ClientID)
	if c.Secret != "" {
		form.Set("client_secret", c.Secret)
	}
	return form
}

// asCC gets a client-credentials token.
func asCC(t testing.TB, e *apitest.Env, c asClient) string {
	t.Helper()
	r := asForm(t, e, "/oauth/token", c.creds(url.Values{"grant_type": {"client_credentials"}}))
	if r.Status != http.StatusOK || r.str("access_token") == "" {
		t.Fatalf("client credentials: %d %s", r.Status, r.Raw)
	}
	return r.str("access_token")
}

// asBearer calls the management API with a bearer token.
func asBearer(e *apitest.Env, method, path, token string, body any) *apitest.Response {
	e.T.Helper()
	return e.Do(apitest.Request{Method: method, Path: path, Body: body,
		Header: http.Header{"Authorization": {"Bearer " + token}}})
}

// asPKCE returns a verifier and its S256 challenge.
func asPKCE() (verifier, challenge string) {
	verifier = oauth2.GenerateVerifier()
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// asCode issues an authorization code as the consent page would.
func asCode(t testing.TB, e *apitest.Env, c asClient, userID string, challenge string, scopes ...string) string {
	t.Helper()
	code, err := e.App.Grants.CreateCode(context.Background(), c.grantClient(), authserver.CodeRequest{
		UserID: uuid.MustParse(userID), RedirectURI: asRedirect, Scopes: scopes, CodeChallenge: challenge})
	if err != nil {
		t.Fatalf("create code: %v", err)
	}
	return code
}

// asOAuth2Config is the golang.org/x/oauth2 view of a web app client.
func asOAuth2Config(e *apitest.Env, c asClient, style oauth2.AuthStyle) *oauth2.Config {
	return &oauth2.Config{ClientID: c.C.ClientID, ClientSecret: c.Secret, RedirectURL: asRedirect,
		Endpoint: oauth2.Endpoint{TokenURL: e.URL("/oauth/token"), AuthStyle: style}}
}

// asUserToken exchanges a fresh code for tokens with x/oauth2.
func asUserToken(t testing.TB, e *apitest.Env, c asClient, userID string, scopes ...string) *oauth2.Token {
	t.Helper()
	if len(scopes) == 0 {
		scopes = c.C.Scopes // what the consent page grants when none are asked for
	}
	v, ch := asPKCE()
	code := asCode(t, e, c, userID, ch, scopes...)
	tok, err := asOAuth2Config(e, c, oauth2.AuthStyleInParams).Exchange(e.OAuth2Context(context.Background()), code, oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("exchange code: %v", err)
	}
	return tok
}

// asIntrospect asks /oauth/introspect about token as client c.
func asIntrospect(t testing.TB, e *apitest.Env, c asClient, token string) asResult {
	t.Helper()
	return asForm(t, e, "/oauth/introspect", c.creds(url.Values{"token": {token}}))
}

// TestEncoreGoProgram runs Encore's Go program, changed only in its URLs
// and in its context, which carries the HTTP client that checks every
// answer against openapi.yaml.
func TestEncoreGoProgram(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	cl := asMachine(t, e, tid, "viewer")
	t.Setenv("OAUTH_CLIENT_ID", cl.C.ClientID)
	t.Setenv("OAUTH_CLIENT_SECRET", cl.Secret)

	oauthConfig := &clientcredentials.Config{
		ClientID:     os.Getenv("OAUTH_CLIENT_ID"),
		ClientSecret: os.Getenv("OAUTH_CLIENT_SECRET"),
		TokenURL:     e.URL("/oauth/token"),
	}
	ctx := e.OAuth2Context(context.Background()) // the library's requests are checked against openapi.yaml
	client := oauthConfig.Client(ctx)
	resp, err := client.Get(e.URL("/v2/tenants/" + tid + "/oauth-clients"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET oauth-clients with the seed's client: %d %s", resp.StatusCode, body)
	}
	// The token the library got is the seed's: Bearer, one hour.
	tok, err := oauthConfig.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "Bearer" || time.Until(tok.Expiry) < 59*time.Minute || time.Until(tok.Expiry) > 61*time.Minute {
		t.Fatalf("token type %q expiry in %v", tok.TokenType, time.Until(tok.Expiry))
	}
	if tok.Extra("actor") != cl.C.ClientID {
		t.Fatalf("actor %v, want %s", tok.Extra("actor"), cl.C.ClientID)
	}
	// client_secret_basic too (the library's other style).
	oauthConfig.AuthStyle = oauth2.AuthStyleInHeader
	if _, err := oauthConfig.Token(ctx); err != nil {
		t.Fatalf("client_secret_basic: %v", err)
	}
}

// TestEncoreCurl is Encore's curl command: client_secret_post with
// curl -d, and the JSON response it shows.
func TestEncoreCurl(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	cl := asMachine(t, e, tid, "viewer")

	resp, err := e.Client().PostForm(e.URL("/oauth/token"), url.Values{
		"client_id": {cl.C.ClientID}, "client_secret": {cl.Secret}, "grant_type": {"client_credentials"}})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("curl: %d %s", resp.StatusCode, raw)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q", ct)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q, want no-store (RFC 6749 §5.1)", resp.Header.Get("Cache-Control"))
	}
	var body struct {
		AccessToken  string  `json:"access_token"`
		TokenType    string  `json:"token_type"`
		ExpiresIn    float64 `json:"expires_in"`
		Actor        string  `json:"actor"`
		Scope        string  `json:"scope"`
		RefreshToken *string `json:"refresh_token"`
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	if body.AccessToken == "" || body.TokenType != "Bearer" || body.ExpiresIn != 3600 || body.Actor != cl.C.ClientID ||
		body.Scope != "role:viewer" || body.RefreshToken != nil {
		t.Fatalf("token response %s", raw)
	}
	asCheckJWT(t, e, body.AccessToken, cl)

	// client_secret_basic gives the same.
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(cl.C.ClientID)+":"+url.QueryEscape(cl.Secret)))
	r := asPost(t, e, "/oauth/token", "application/x-www-form-urlencoded", strings.NewReader("grant_type=client_credentials"),
		map[string]string{"Authorization": basic})
	if r.Status != http.StatusOK || r.str("token_type") != "Bearer" || r.str("actor") != cl.C.ClientID || r.JSON["expires_in"] != float64(3600) {
		t.Fatalf("client_secret_basic: %d %s", r.Status, r.Raw)
	}

	// Cloud 66: Accept: application/x-www-form-urlencoded → a form body.
	r = asPost(t, e, "/oauth/token", "application/x-www-form-urlencoded", strings.NewReader(
		cl.creds(url.Values{"grant_type": {"client_credentials"}}).Encode()),
		map[string]string{"Accept": "application/x-www-form-urlencoded"})
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		t.Fatalf("form answer: %d %q %s", r.Status, r.Header.Get("Content-Type"), r.Raw)
	}
	v, err := url.ParseQuery(string(r.Raw))
	if err != nil || v.Get("access_token") == "" || v.Get("token_type") != "Bearer" || v.Get("expires_in") != "3600" ||
		v.Get("actor") != cl.C.ClientID || v.Get("scope") != "role:viewer" {
		t.Fatalf("form answer %q (%v)", r.Raw, err)
	}
	// Errors come form-encoded too when asked for.
	r = asPost(t, e, "/oauth/token", "application/x-www-form-urlencoded", strings.NewReader("grant_type=password"),
		map[string]string{"Accept": "application/x-www-form-urlencoded"})
	v, _ = url.ParseQuery(string(r.Raw))
	if r.Status != http.StatusBadRequest || v.Get("error") != "unsupported_grant_type" {
		t.Fatalf("form error: %d %s", r.Status, r.Raw)
	}
}

// asCheckJWT checks the RFC 9068 shape of an access token and verifies it
// with the published keys.
func asCheckJWT(t testing.TB, e *apitest.Env, token string, cl asClient) {
	t.Helper()
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("access token is not an ES256 JWS: %v", err)
	}
	h := jws.Signatures[0].Header
	if h.KeyID == "" || h.Algorithm != "ES256" || h.ExtraHeaders[jose.HeaderType] != "at+jwt" {
		t.Fatalf("header kid=%q alg=%q typ=%v", h.KeyID, h.Algorithm, h.ExtraHeaders[jose.HeaderType])
	}
	resp, err := e.Client().Get(e.URL("/.well-known/jwks.json"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /.well-known/jwks.json → %d: %s", resp.StatusCode, raw)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		t.Fatalf("jwks: %v", err)
	}
	keys := set.Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %s is not published once in the JWKS: %s", h.KeyID, raw)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("token does not verify with the JWKS key: %v", err)
	}
	var claims map[string]any
	_ = json.Unmarshal(payload, &claims)
	if claims["iss"] != e.App.Issuer || claims["client_id"] != cl.C.ClientID || claims["sub"] != cl.C.ClientID ||
		claims["jti"] == nil || claims["exp"] == nil || claims["iat"] == nil {
		t.Fatalf("claims %v", claims)
	}
}

// TestWellKnownDocuments fetches the RFC 8414 metadata and the JWKS
// through the whole stack (the handlers' own tests call them directly), so
// their answers, 304s included, are checked against openapi.yaml.
func TestWellKnownDocuments(t *testing.T) {
	e := apitest.New(t)
	get := func(path string, hdr map[string]string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, e.URL(path), nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := e.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		return resp, raw
	}
	resp, raw := get("/.well-known/oauth-authorization-server", nil)
	var meta map[string]any
	if err := json.Unmarshal(raw, &meta); resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("metadata: %d %s", resp.StatusCode, raw)
	}
	if meta["issuer"] != e.App.Issuer || meta["token_endpoint"] != e.App.Issuer+"/oauth/token" ||
		meta["jwks_uri"] != e.App.Issuer+"/.well-known/jwks.json" {
		t.Fatalf("metadata %s", raw)
	}
	if again, _ := get("/.well-known/oauth-authorization-server", map[string]string{"If-None-Match": resp.Header.Get("ETag")}); again.StatusCode != http.StatusNotModified {
		t.Fatalf("metadata with its ETag: %d", again.StatusCode)
	}
	resp, raw = get("/.well-known/jwks.json", map[string]string{"Accept": "application/jwk-set+json"})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("jwks: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
	}
	if again, _ := get("/.well-known/jwks.json", map[string]string{"Accept": "application/jwk-set+json", "If-None-Match": resp.Header.Get("ETag")}); again.StatusCode != http.StatusNotModified {
		t.Fatalf("jwks with its ETag: %d", again.StatusCode)
	}
}

// TestClientCredentialsScope: a request may narrow the scope to roles or
// permissions the client has, never widen it; public clients cannot use the
// grant; a client may use only its grant types.
func TestClientCredentialsScope(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	cl := asMachine(t, e, tid, "viewer")
	tokenPath := "/oauth/token"

	r := asForm(t, e, tokenPath, cl.creds(url.Values{"grant_type": {"client_credentials"}, "scope": {"tenants.oauth_clients.get"}}))
	if r.Status != http.StatusOK || r.str("scope") != "tenants.oauth_clients.get" {
		t.Fatalf("narrowed: %d %s", r.Status, r.Raw)
	}
	asForm(t, e, tokenPath, cl.creds(url.Values{"grant_type": {"client_credentials"}, "scope": {"role:admin"}})).
		expectError(t, http.StatusBadRequest, "invalid_scope")
	asForm(t, e, tokenPath, cl.creds(url.Values{"grant_type": {"client_credentials"}, "scope": {"tenants.oauth_clients.create"}})).
		expectError(t, http.StatusBadRequest, "invalid_scope")
	asForm(t, e, tokenPath, cl.creds(url.Values{"grant_type": {"client_credentials"}, "scope": {"tenants.*"}})).
		expectError(t, http.StatusBadRequest, "invalid_scope")
	// A narrowed token is narrowed on the API: no GET of members.
	tok := asForm(t, e, tokenPath, cl.creds(url.Values{"grant_type": {"client_credentials"}, "scope": {"tenants.components.get"}})).str("access_token")
	asBearer(e, http.MethodGet, tenantPath(tid, "/components"), tok, nil).ExpectStatus(t, http.StatusOK)
	asBearer(e, http.MethodGet, tenantPath(tid, "/oauth-clients"), tok, nil).ExpectStatus(t, http.StatusForbidden)

	// Grant types the client was not given.
	asForm(t, e, tokenPath, cl.creds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"ort_x"}})).
		expectError(t, http.StatusBadRequest, "unauthorized_client")
	web := asWebApp(t, e, tid, "tenants.oauth_clients.get")
	asForm(t, e, tokenPath, web.creds(url.Values{"grant_type": {"client_credentials"}})).
		expectError(t, http.StatusBadRequest, "unauthorized_client")
}

// TestClientLifetimes: a client's own access_token_ttl is the expires_in
// of its tokens and the span from iat to exp in the JWT (and at
// introspection), with or without a refresh token; a change through the
// management API applies to the next token; its refresh_token_ttl is the
// lifetime of each refresh token it gets, and a refresh token past it is
// refused.
func TestClientLifetimes(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	user := newMember(t, e, tid, []string{"viewer"}, nil)
	ttl := func(n int) *int { return &n }
	introspector := asMachine(t, e, tid)
	// expectLifetime checks expires_in, the JWT's exp - iat and the
	// introspected exp - iat of one token response.
	expectLifetime := func(t *testing.T, what string, token string, expiresIn any, want int) {
		t.Helper()
		if expiresIn != float64(want) {
			t.Fatalf("%s: expires_in %v, want %d", what, expiresIn, want)
		}
		claims, err := e.App.Keys.ParseAccessToken(context.Background(), token, e.App.Issuer)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if got := claims.Expiry - claims.IssuedAt; got != int64(want) {
			t.Fatalf("%s: the JWT lives %d s (exp %d, iat %d), want %d", what, got, claims.Expiry, claims.IssuedAt, want)
		}
		r := asIntrospect(t, e, introspector, token)
		if exp, iat := r.JSON["exp"].(float64), r.JSON["iat"].(float64); r.JSON["active"] != true || exp-iat != float64(want) {
			t.Fatalf("%s: introspection %s", what, r.Raw)
		}
	}
	// refreshLifetime is how long the stored refresh token lives, in
	// seconds, from its creation.
	refreshLifetime := func(t *testing.T, rt string) float64 {
		t.Helper()
		var s float64
		if err := e.App.DB.SQL().QueryRow(`SELECT extract(epoch FROM expires_at - created_at) FROM refresh_tokens WHERE digest = $1`,
			asDigest(rt)).Scan(&s); err != nil {
			t.Fatalf("refresh token row: %v", err)
		}
		return s
	}

	t.Run("client credentials", func(t *testing.T) {
		m := asNewClient(t, e, tid, apiclients.NewClient{GrantTypes: []string{apiclients.GrantClientCredentials},
			Roles: []string{"viewer"}, AccessTokenTTL: ttl(600)})
		r := asForm(t, e, "/oauth/token", m.creds(url.Values{"grant_type": {"client_credentials"}}))
		if r.Status != http.StatusOK {
			t.Fatalf("token: %d %s", r.Status, r.Raw)
		}
		expectLifetime(t, "600 s client", r.str("access_token"), r.JSON["expires_in"], 600)

		// Changed through the management API: the next token follows.
		e.Patch(tenantPath(tid, "/api-clients/"+m.C.ID.String()), &e.Super,
			doc("api-client", map[string]any{"access_token_ttl": 1200}, nil)).ExpectStatus(t, http.StatusOK)
		r = asForm(t, e, "/oauth/token", m.creds(url.Values{"grant_type": {"client_credentials"}}))
		expectLifetime(t, "after the PATCH", r.str("access_token"), r.JSON["expires_in"], 1200)
		// Back to the deployment's default (3600 for client credentials).
		e.Patch(tenantPath(tid, "/api-clients/"+m.C.ID.String()), &e.Super,
			doc("api-client", map[string]any{"access_token_ttl": nil}, nil)).ExpectStatus(t, http.StatusOK)
		r = asForm(t, e, "/oauth/token", m.creds(url.Values{"grant_type": {"client_credentials"}}))
		expectLifetime(t, "back to the default", r.str("access_token"), r.JSON["expires_in"], 3600)
	})

	t.Run("user tokens and refresh tokens", func(t *testing.T) {
		const access, refresh = 300, 7200
		w := asNewClient(t, e, tid, apiclients.NewClient{
			GrantTypes:   []string{apiclients.GrantAuthorizationCode, apiclients.GrantRefreshToken},
			RedirectURIs: []string{asRedirect}, Scopes: []string{"tenants.oauth_clients.get"},
			AccessTokenTTL: ttl(access), RefreshTokenTTL: ttl(refresh)})
		tok := asUserToken(t, e, w, user.UserID)
		expectLifetime(t, "code exchange", tok.AccessToken, tok.Extra("expires_in"), access)
		if got := refreshLifetime(t, tok.RefreshToken); got < refresh-5 || got > refresh+5 {
			t.Fatalf("the refresh token lives %v s, want the client's %d", got, refresh)
		}
		// Each rotated refresh token gets the client's lifetime too.
		r := asForm(t, e, "/oauth/token", w.creds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}))
		if r.Status != http.StatusOK {
			t.Fatalf("refresh: %d %s", r.Status, r.Raw)
		}
		expectLifetime(t, "refresh", r.str("access_token"), r.JSON["expires_in"], access)
		rotated := r.str("refresh_token")
		if got := refreshLifetime(t, rotated); got < refresh-5 || got > refresh+5 {
			t.Fatalf("the rotated refresh token lives %v s, want the client's %d", got, refresh)
		}
		// Past its lifetime (the row's clock moved back by it) it is refused.
		asExec(t, e, `UPDATE refresh_tokens SET expires_at = expires_at - make_interval(secs => $2) WHERE digest = $1`,
			asDigest(rotated), refresh)
		asForm(t, e, "/oauth/token", w.creds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rotated}})).
			expectError(t, http.StatusBadRequest, "invalid_grant")
	})
}

// TestRefreshRotation: each refresh token works once; a used one presented
// again fails and revokes the whole family, newest tokens included.
func TestRefreshRotation(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	user := newMember(t, e, tid, []string{"admin"}, nil)
	cl := asWebApp(t, e, tid, "tenants.oauth_clients.*")
	tok := asUserToken(t, e, cl, user.UserID, "tenants.oauth_clients.get")
	if tok.RefreshToken == "" || tok.Extra("expires_in") != float64(900) || tok.Extra("actor") != cl.C.ClientID {
		t.Fatalf("code exchange: refresh %q expires_in %v actor %v", tok.RefreshToken, tok.Extra("expires_in"), tok.Extra("actor"))
	}
	refresh := func(rt string) asResult {
		return asForm(t, e, "/oauth/token", cl.creds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}))
	}
	first := tok.RefreshToken
	r1 := refresh(first)
	if r1.Status != http.StatusOK || r1.str("refresh_token") == "" || r1.str("refresh_token") == first ||
		r1.str("scope") != "tenants.oauth_clients.get" || r1.JSON["expires_in"] != float64(900) {
		t.Fatalf("first refresh: %d %s", r1.Status, r1.Raw)
	}
	r2 := refresh(r1.str("refresh_token"))
	if r2.Status != http.StatusOK {
		t.Fatalf("second refresh: %d %s", r2.Status, r2.Raw)
	}
	newestAccess, newestRefresh := r2.str("access_token"), r2.str("refresh_token")
	asBearer(e, http.MethodGet, tenantPath(tid, "/oauth-clients"), newestAccess, nil).ExpectStatus(t, http.StatusOK)

	// Reuse of the first refresh token: invalid_grant, and the family dies.
	refresh(first).expectError(t, http.StatusBadRequest, "invalid_grant")
	asBearer(e, http.MethodGet, tenantPath(tid, "/oauth-clients"), newestAccess, nil).ExpectStatus(t, http.StatusUnauthorized)
	asBearer(e, http.MethodGet, tenantPath(tid, "/oauth-clients"), tok.AccessToken, nil).ExpectStatus(t, http.StatusUnauthorized)
	refresh(newestRefresh).expectError(t, http.StatusBadRequest, "invalid_grant")
	introspector := asMachine(t, e, tid)
	if r := asIntrospect(t, e, introspector, newestAccess); r.Status != http.StatusOK || r.JSON["active"] != false {
		t.Fatalf("introspect newest access token after reuse: %d %s", r.Status, r.Raw)
	}

	// Another family of the same user and client is untouched.
	other := asUserToken(t, e, cl, user.UserID, "tenants.oauth_clients.get")
	if r := refresh(other.RefreshToken); r.Status != http.StatusOK {
		t.Fatalf("an unrelated family was hurt: %d %s", r.Status, r.Raw)
	}

	// A refresh may narrow the scope, never widen it.
	fam := asUserToken(t, e, cl, user.UserID, "tenants.oauth_clients.get")
	asForm(t, e, "/oauth/token", cl.creds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {fam.RefreshToken},
		"scope": {"tenants.oauth_clients.delete"}})).expectError(t, http.StatusBadRequest, "invalid_scope")

	// Another client cannot use this client's refresh token.
	thief := asWebApp(t, e, tid, "tenants.oauth_clients.*")
	fam2 := asUserToken(t, e, cl, user.UserID, "tenants.oauth_clients.get")
	asForm(t, e, "/oauth/token", thief.creds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {fam2.RefreshToken}})).
		expectError(t, http.StatusBadRequest, "invalid_grant")
	if r := refresh(fam2.RefreshToken); r.Status != http.StatusOK {
		t.Fatalf("the owner's refresh after another client tried it: %d %s", r.Status, r.Raw)
	}
}

// TestRefreshWithOAuth2Library: x/oauth2's TokenSource refreshes an
// expired token by itself, and the rotated token is used from then on.
func TestRefreshWithOAuth2Library(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	user := newMember(t, e, tid, []string{"viewer"}, nil)
	cl := asWebApp(t, e, tid, "tenants.oauth_clients.get")
	tok := asUserToken(t, e, cl, user.UserID)
	old := tok.RefreshToken
	tok.Expiry = time.Now().Add(-time.Minute) // make the library refresh
	ctx := e.OAuth2Context(context.Background())
	src := asOAuth2Config(e, cl, oauth2.AuthStyleInHeader).TokenSource(ctx, tok)
	resp, err := oauth2.NewClient(ctx, src).Get(e.URL(tenantPath(tid, "/oauth-clients")))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET with the refreshed token: %d", resp.StatusCode)
	}
	nt, err := src.Token()
	if err != nil || nt.RefreshToken == old || nt.AccessToken == tok.AccessToken {
		t.Fatalf("the library did not rotate: %v", err)
	}
}

// TestRefreshConcurrentReuse: ten presentations of one refresh token at
// once; exactly one wins.
func TestRefreshConcurrentReuse(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	user := newMember(t, e, tid, []string{"viewer"}, nil)
	cl := asWebApp(t, e, tid, "tenants.oauth_clients.get")
	tok := asUserToken(t, e, cl, user.UserID)
	form := cl.creds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}).Encode()

	const n = 10
	var wg sync.WaitGroup
	statuses := make([]int, n)
	bodies := make([]string, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			resp, err := e.Client().Post(e.URL("/oauth/token"), "application/x-www-form-urlencoded", strings.NewReader(form))
			if err != nil {
				bodies[i] = err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			statuses[i], bodies[i] = resp.StatusCode, string(b)
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for i := range n {
		switch {
		case statuses[i] == http.StatusOK:
			ok++
		case statuses[i] == http.StatusBadRequest && strings.Contains(bodies[i], `"invalid_grant"`):
		default:
			t.Errorf("request %d: %d %s", i, statuses[i], bodies[i])
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent refreshes succeeded, want exactly 1", ok, n)
	}
}

// TestAuthorizationCodeGrant covers single use, expiry, replay revocation,
// redirect URI, PKCE and Cloud 66's redirect_url.
func TestAuthorizationCodeGrant(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	user := newMember(t, e, tid, []string{"viewer"}, nil)
	cl := asWebApp(t, e, tid, "tenants.oauth_clients.get")
	exchange := func(c asClient, form url.Values) asResult {
		form.Set("grant_type", "authorization_code")
		return asForm(t, e, "/oauth/token", c.creds(form))
	}

	t.Run("once, then a replay revokes what it issued", func(t *testing.T) {
		v, ch := asPKCE()
		code := asCode(t, e, cl, user.UserID, ch, "tenants.oauth_clients.get")
		r := exchange(cl, url.Values{"code": {code}, "redirect_uri": {asRedirect}, "code_verifier": {v}})
		if r.Status != http.StatusOK || r.str("refresh_token") == "" || r.str("scope") != "tenants.oauth_clients.get" || r.str("actor") != cl.C.ClientID {
			t.Fatalf("exchange: %d %s", r.Status, r.Raw)
		}
		access, rt := r.str("access_token"), r.str("refresh_token")
		asBearer(e, http.MethodGet, tenantPath(tid, "/oauth-clients"), access, nil).ExpectStatus(t, http.StatusOK)
		exchange(cl, url.Values{"code": {code}, "redirect_uri": {asRedirect}, "code_verifier": {v}}).
			expectError(t, http.StatusBadRequest, "invalid_grant")
		asBearer(e, http.MethodGet, tenantPath(tid, "/oauth-clients"), access, nil).ExpectStatus(t, http.StatusUnauthorized)
		asForm(t, e, "/oauth/token", cl.creds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})).
			expectError(t, http.StatusBadRequest, "invalid_grant")
	})

	t.Run("expired", func(t *testing.T) {
		v, ch := asPKCE()
		code := asCode(t, e, cl, user.UserID, ch)
		asExec(t, e, `UPDATE authorization_codes SET expires_at = now() - interval '1 second' WHERE digest = $1`, asDigest(code))
		exchange(cl, url.Values{"code": {code}, "redirect_uri": {asRedirect}, "code_verifier": {v}}).
			expectError(t, http.StatusBadRequest, "invalid_grant")
		// A fresh code expires 60 s after issue.
		code = asCode(t, e, cl, user.UserID, ch)
		var secs float64
		if err := e.App.DB.Conn(context.Background()).Raw(`SELECT extract(epoch FROM expires_at - created_at) FROM authorization_codes WHERE digest = ?`,
			asDigest(code)).Scan(&secs).Error; err != nil {
			t.Fatal(err)
		}
		if secs < 59 || secs > 61 {
			t.Fatalf("code lifetime %v s, want 60", secs)
		}
	})

	t.Run("wrong redirect, verifier, missing verifier", func(t *testing.T) {
		v, ch := asPKCE()
		other, _ := asPKCE()
		for name, form := range map[string]url.Values{
			"wrong redirect":   {"redirect_uri": {asRedirect + "x"}, "code_verifier": {v}},
			"wrong verifier":   {"redirect_uri": {asRedirect}, "code_verifier": {other}},
			"missing verifier": {"redirect_uri": {asRedirect}},
			"short verifier":   {"redirect_uri": {asRedirect}, "code_verifier": {"abc"}},
		} {
			code := asCode(t, e, cl, user.UserID, ch)
			form.Set("code", code)
			r := exchange(cl, form)
			if r.Status != http.StatusBadRequest || (r.str("error") != "invalid_grant" && r.str("error") != "invalid_request") {
				t.Errorf("%s: %d %s", name, r.Status, r.Raw)
			}
		}
		// Cloud 66: redirect_url is optional at the token endpoint.
		code0 := asCode(t, e, cl, user.UserID, ch)
		if r := exchange(cl, url.Values{"code": {code0}, "code_verifier": {v}}); r.Status != http.StatusOK {
			t.Errorf("no redirect: %d %s", r.Status, r.Raw)
		}
		// A verifier for a code issued without a challenge is refused.
		code := asCode(t, e, cl, user.UserID, "")
		exchange(cl, url.Values{"code": {code}, "redirect_uri": {asRedirect}, "code_verifier": {v}}).
			expectError(t, http.StatusBadRequest, "invalid_grant")
		// Without a challenge a confidential client needs no verifier.
		code = asCode(t, e, cl, user.UserID, "")
		if r := exchange(cl, url.Values{"code": {code}, "redirect_uri": {asRedirect}}); r.Status != http.StatusOK {
			t.Fatalf("confidential without PKCE: %d %s", r.Status, r.Raw)
		}
	})

	t.Run("another client's code", func(t *testing.T) {
		other := asWebApp(t, e, tid, "tenants.oauth_clients.get")
		v, ch := asPKCE()
		code := asCode(t, e, cl, user.UserID, ch)
		exchange(other, url.Values{"code": {code}, "redirect_uri": {asRedirect}, "code_verifier": {v}}).
			expectError(t, http.StatusBadRequest, "invalid_grant")
	})

	t.Run("redirect_url as Cloud 66 spells it", func(t *testing.T) {
		v, ch := asPKCE()
		code := asCode(t, e, cl, user.UserID, ch)
		if r := exchange(cl, url.Values{"code": {code}, "redirect_url": {asRedirect}, "code_verifier": {v}}); r.Status != http.StatusOK {
			t.Fatalf("redirect_url: %d %s", r.Status, r.Raw)
		}
	})

	t.Run("public client", func(t *testing.T) {
		pub := asNewClient(t, e, tid, apiclients.NewClient{ClientType: apiclients.TypePublic,
			GrantTypes:   []string{apiclients.GrantAuthorizationCode, apiclients.GrantRefreshToken},
			RedirectURIs: []string{asRedirect}, Scopes: []string{"tenants.oauth_clients.get"}})
		if pub.Secret != "" {
			t.Fatal("a public client got a secret")
		}
		// A code issued without PKCE cannot be redeemed by a public client.
		code := asCode(t, e, pub, user.UserID, "")
		r := exchange(pub, url.Values{"code": {code}, "redirect_uri": {asRedirect}})
		if r.Status != http.StatusBadRequest || (r.str("error") != "invalid_grant" && r.str("error") != "invalid_request") {
			t.Fatalf("public client without PKCE: %d %s", r.Status, r.Raw)
		}
		// With PKCE it works, with no secret (token_endpoint_auth_method none).
		v, ch := asPKCE()
		code = asCode(t, e, pub, user.UserID, ch, "tenants.oauth_clients.get")
		tok, err := asOAuth2Config(e, pub, oauth2.AuthStyleInParams).Exchange(e.OAuth2Context(context.Background()), code, oauth2.VerifierOption(v))
		if err != nil {
			t.Fatalf("public client with PKCE: %v", err)
		}
		asBearer(e, http.MethodGet, tenantPath(tid, "/oauth-clients"), tok.AccessToken, nil).ExpectStatus(t, http.StatusOK)
		// A public client presenting a secret is not authenticated.
		asForm(t, e, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
			"client_id": {pub.C.ClientID}, "client_secret": {"o2s_guess"}}).expectError(t, http.StatusUnauthorized, "invalid_client")
	})
}

// TestDeviceGrant is RFC 8628 at the protocol level; the approval comes
// from the grant layer (the /device page is tested elsewhere).
func TestDeviceGrant(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	user := newMember(t, e, tid, []string{"viewer"}, nil)
	cli := asNewClient(t, e, tid, apiclients.NewClient{ClientType: apiclients.TypePublic,
		GrantTypes: []string{apiclients.GrantDeviceCode, apiclients.GrantRefreshToken}, Scopes: []string{"tenants.oauth_clients.get"}})
	start := func() asResult {
		r := asForm(t, e, "/oauth/device_authorization", url.Values{"client_id": {cli.C.ClientID}, "scope": {"tenants.oauth_clients.get"}})
		if r.Status != http.StatusOK {
			t.Fatalf("device_authorization: %d %s", r.Status, r.Raw)
		}
		uc := r.str("user_code")
		if len(uc) != 9 || uc[4] != '-' || strings.Trim(strings.ReplaceAll(uc, "-", ""), "BCDFGHJKLMNPQRSTVWXZ") != "" {
			t.Fatalf("user_code %q", uc)
		}
		if r.str("device_code") == "" || r.JSON["interval"] != float64(5) || r.JSON["expires_in"] == nil ||
			!strings.HasPrefix(r.str("verification_uri"), e.App.Issuer) {
			t.Fatalf("device_authorization answer %s", r.Raw)
		}
		return r
	}
	poll := func(dc string) asResult {
		return asForm(t, e, "/oauth/token", url.Values{"grant_type": {apiclients.GrantDeviceCode}, "device_code": {dc}, "client_id": {cli.C.ClientID}})
	}
	rewindPoll := func(dc string) { // as if the interval had passed
		asExec(t, e, `UPDATE device_codes SET last_polled_at = now() - interval '10 seconds' WHERE digest = $1`, asDigest(dc))
	}
	ctx := context.Background()

	d := start()
	dc := d.str("device_code")
	poll(dc).expectError(t, http.StatusBadRequest, "authorization_pending")
	poll(dc).expectError(t, http.StatusBadRequest, "slow_down") // at once, well within the 5 s interval
	rewindPoll(dc)
	poll(dc).expectError(t, http.StatusBadRequest, "authorization_pending")

	// Approval, typed in lower case without the dash.
	typed := strings.ToLower(strings.ReplaceAll(d.str("user_code"), "-", ""))
	if err := e.App.Grants.DecideDevice(ctx, typed, uuid.MustParse(user.UserID), true); err != nil {
		t.Fatal(err)
	}
	rewindPoll(dc)
	r := poll(dc)
	if r.Status != http.StatusOK || r.str("access_token") == "" || r.str("refresh_token") == "" || r.str("actor") != cli.C.ClientID ||
		r.str("scope") != "tenants.oauth_clients.get" {
		t.Fatalf("approved poll: %d %s", r.Status, r.Raw)
	}
	asBearer(e, http.MethodGet, tenantPath(tid, "/oauth-clients"), r.str("access_token"), nil).ExpectStatus(t, http.StatusOK)
	rewindPoll(dc)
	poll(dc).expectError(t, http.StatusBadRequest, "invalid_grant")

	// Denied.
	d = start()
	if err := e.App.Grants.DecideDevice(ctx, d.str("user_code"), uuid.MustParse(user.UserID), false); err != nil {
		t.Fatal(err)
	}
	poll(d.str("device_code")).expectError(t, http.StatusBadRequest, "access_denied")

	// Expired.
	d = start()
	asExec(t, e, `UPDATE device_codes SET expires_at = now() - interval '1 second' WHERE digest = $1`, asDigest(d.str("device_code")))
	poll(d.str("device_code")).expectError(t, http.StatusBadRequest, "expired_token")
	if err := e.App.Grants.DecideDevice(ctx, d.str("user_code"), uuid.MustParse(user.UserID), true); err == nil {
		t.Fatal("an expired user code was approved")
	}

	// Unknown device code, and another client's device code.
	poll("odc_nothing").expectError(t, http.StatusBadRequest, "invalid_grant")
	other := asNewClient(t, e, tid, apiclients.NewClient{ClientType: apiclients.TypePublic,
		GrantTypes: []string{apiclients.GrantDeviceCode}, Scopes: []string{"tenants.oauth_clients.get"}})
	d = start()
	asForm(t, e, "/oauth/token", url.Values{"grant_type": {apiclients.GrantDeviceCode}, "device_code": {d.str("device_code")}, "client_id": {other.C.ClientID}}).
		expectError(t, http.StatusBadRequest, "invalid_grant")

	// A scope beyond the client's allowed scopes is refused at the start.
	asForm(t, e, "/oauth/device_authorization", url.Values{"client_id": {cli.C.ClientID}, "scope": {"tenants.oauth_clients.delete"}}).
		expectError(t, http.StatusBadRequest, "invalid_scope")
	// A client without the device grant cannot start one.
	web := asWebApp(t, e, tid, "tenants.oauth_clients.get")
	asForm(t, e, "/oauth/device_authorization", web.creds(url.Values{})).expectError(t, http.StatusBadRequest, "unauthorized_client")
}

func asDigest(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// asExec runs SQL against the test database (to move clocks on rows).
func asExec(t testing.TB, e *apitest.Env, sql string, args ...any) {
	t.Helper()
	res, err := e.App.DB.SQL().Exec(sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("%s: %d rows, want 1", sql, n)
	}
}

// TestClientAuthentication: wrong secrets are 401 invalid_client (with a
// Basic challenge for basic auth); more than ten failures within a minute
// for one client id from one address are 429 with Retry-After, and while
// blocked even the right secret is refused (the limiter answers before the
// secret is looked at, so a guesser learns nothing from a 429); other
// clients from the same address are not affected. No secret or token ever
// reaches the logs.
func TestClientAuthentication(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	cl := asMachine(t, e, tid, "viewer")
	bystander := asMachine(t, e, tid, "viewer")
	cc := url.Values{"grant_type": {"client_credentials"}}
	basic := func(id, secret string) map[string]string {
		return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))}
	}
	post := func(body string, hdr map[string]string) asResult {
		return asPost(t, e, "/oauth/token", "application/x-www-form-urlencoded", strings.NewReader(body), hdr)
	}

	// Unknown client ids and missing credentials.
	asForm(t, e, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"o2c_nobody"}, "client_secret": {"o2s_x"}}).
		expectError(t, http.StatusUnauthorized, "invalid_client")
	asForm(t, e, "/oauth/token", cc).expectError(t, http.StatusUnauthorized, "invalid_client")
	asForm(t, e, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {cl.C.ClientID}}).
		expectError(t, http.StatusUnauthorized, "invalid_client")
	// Both methods at once, and a body client_id that differs from basic's.
	r := post(cl.creds(url.Values{"grant_type": {"client_credentials"}}).Encode(), basic(cl.C.ClientID, cl.Secret))
	r.expectError(t, http.StatusBadRequest, "invalid_request")
	r = post(url.Values{"grant_type": {"client_credentials"}, "client_id": {bystander.C.ClientID}}.Encode(), basic(cl.C.ClientID, cl.Secret))
	r.expectError(t, http.StatusBadRequest, "invalid_request")

	// Basic auth with a wrong secret: 401 and the challenge.
	r = post("grant_type=client_credentials", basic(cl.C.ClientID, "o2s_wrong"))
	r.expectError(t, http.StatusUnauthorized, "invalid_client")
	if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic ") {
		t.Fatalf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
	}
	// Post with a wrong secret: 401 (failures so far: 3 for cl? no: 1 basic + 1 missing secret).
	for i := 0; ; i++ {
		r = asForm(t, e, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {cl.C.ClientID}, "client_secret": {cl.Secret + "x"}})
		if r.Status == http.StatusTooManyRequests {
			// Failures so far: the missing secret, the basic one, and i here.
			if got := i + 2; got != 10 {
				t.Fatalf("blocked after %d failures, want after 10", got)
			}
			break
		}
		r.expectError(t, http.StatusUnauthorized, "invalid_client")
		if i > 20 {
			t.Fatal("never blocked")
		}
	}
	if r.str("error") != "invalid_client" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("429 answer %s, Retry-After %q", r.Raw, r.Header.Get("Retry-After"))
	}
	// The right secret is refused while blocked, in both methods.
	r = asForm(t, e, "/oauth/token", cl.creds(url.Values{"grant_type": {"client_credentials"}}))
	if r.Status != http.StatusTooManyRequests {
		t.Fatalf("right secret while blocked: %d %s", r.Status, r.Raw)
	}
	if r = post("grant_type=client_credentials", basic(cl.C.ClientID, cl.Secret)); r.Status != http.StatusTooManyRequests {
		t.Fatalf("right secret by basic while blocked: %d", r.Status)
	}
	// Another client from the same address is not blocked.
	tok := asCC(t, e, bystander)

	// A whole flow's worth of secrets and tokens, then the logs.
	web := asWebApp(t, e, tid, "tenants.oauth_clients.get")
	user := newMember(t, e, tid, []string{"viewer"}, nil)
	ut := asUserToken(t, e, web, user.UserID)
	rt := asForm(t, e, "/oauth/token", web.creds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {ut.RefreshToken}}))
	asBearer(e, http.MethodGet, tenantPath(tid, "/oauth-clients"), tok, nil).ExpectStatus(t, http.StatusOK)
	asIntrospect(t, e, web, tok)
	asForm(t, e, "/oauth/revoke", web.creds(url.Values{"token": {rt.str("refresh_token")}}))
	e.Get("/v2/users/me", &user).ExpectStatus(t, http.StatusOK) // the API key at work
	secrets := map[string]string{"secret": cl.Secret, "bystander secret": bystander.Secret, "web secret": web.Secret,
		"access token": tok, "user access token": ut.AccessToken, "refresh token": ut.RefreshToken,
		"rotated refresh token": rt.str("refresh_token"), "API key": user.Key}
	// And what the pages see: passwords, the session cookie, codes.
	maps.Copy(secrets, asPageFlows(t, e, tid))
	logs := e.Logs.String()
	for _, path := range []string{"/oauth/token", "/oauth/sign-in", "/oauth/authorize", "/device", "/oauth/device_authorization"} {
		if !strings.Contains(logs, path) {
			t.Fatalf("no request line for %s in the log; the check below would prove nothing", path)
		}
	}
	for name, s := range secrets {
		if s == "" {
			t.Fatalf("%s is empty", name)
		}
		// The value, its end (a truncated value) and its URL-encoded form.
		for _, v := range []string{s, s[max(0, len(s)-20):], url.QueryEscape(s)} {
			if strings.Contains(logs, v) {
				t.Errorf("the %s appears in the logs", name)
				break
			}
		}
	}
}

// asPageFlows drives the pages as a person does, returning every secret
// that crossed the wire on the way: a sign-in with a mistyped password,
// then the right one (the session cookie); an authorization request
// approved on the consent page (the code in the redirect, exchanged with
// its PKCE verifier); a device approved on /device through its
// verification_uri_complete (the user code, with and without its dash,
// and the device code the device polls with).
func asPageFlows(t *testing.T, e *apitest.Env, tid string) map[string]string {
	t.Helper()
	password, typo := "correct horse battery "+uniq(), "incorrect horse battery "+uniq()
	email := "pages-" + uniq() + "@example.test"
	uid := e.Post("/v2/users", &e.Super, doc("user", map[string]any{"email": email, "password": password}, nil)).
		ExpectStatus(t, http.StatusCreated).ID(t)
	addMember(t, e, tid, apitest.Creds{UserID: uid}, []string{"viewer"}, nil)
	b := e.Browser()
	send := func(method, path string, form url.Values) (*http.Response, []byte) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		target := path
		if strings.HasPrefix(path, "/") {
			target = e.URL(path)
		}
		req, err := http.NewRequest(method, target, body)
		if err != nil {
			t.Fatal(err)
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := b.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		raw, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		return resp, raw
	}
	// submit posts the page's form to action with typed fields added.
	submit := func(page []byte, action string, typed map[string]string) (*http.Response, []byte) {
		t.Helper()
		forms, err := apitest.Forms(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range forms {
			if f.Action == action {
				for k, v := range typed {
					f.Values.Set(k, v)
				}
				return send(http.MethodPost, action, f.Values)
			}
		}
		t.Fatalf("no form posting to %s in %s", action, page)
		return nil, nil
	}

	// The authorization code flow, signing in on the way.
	web := asWebApp(t, e, tid, "tenants.oauth_clients.get")
	verifier, challenge := asPKCE()
	authorize := "/oauth/authorize?" + url.Values{"response_type": {"code"}, "client_id": {web.C.ClientID}, "redirect_uri": {asRedirect},
		"state": {"st"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}.Encode()
	_, page := send(http.MethodGet, authorize, nil)
	if resp, _ := submit(page, "/oauth/sign-in", map[string]string{"email": email, "password": typo}); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("sign-in with a mistyped password: %d", resp.StatusCode)
	}
	resp, page := submit(page, "/oauth/sign-in", map[string]string{"email": email, "password": password})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %d %s", resp.StatusCode, page)
	}
	var session string
	for _, c := range b.Jar.Cookies(resp.Request.URL) {
		if c.Name == "oauthd_session" {
			session = c.Value
		}
	}
	resp, _ = submit(page, "/oauth/authorize", map[string]string{"decision": "approve"})
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("consent: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	code := loc.Query().Get("code")
	tok, err := asOAuth2Config(e, web, oauth2.AuthStyleInHeader).Exchange(e.OAuth2Context(context.Background()), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange the code from the consent page: %v", err)
	}

	// The device flow, approved through verification_uri_complete.
	cli := asNewClient(t, e, tid, apiclients.NewClient{ClientType: apiclients.TypePublic,
		GrantTypes: []string{apiclients.GrantDeviceCode}, Scopes: []string{"tenants.oauth_clients.get"}})
	d := asForm(t, e, "/oauth/device_authorization", url.Values{"client_id": {cli.C.ClientID}})
	if d.Status != http.StatusOK {
		t.Fatalf("device_authorization: %d %s", d.Status, d.Raw)
	}
	_, page = send(http.MethodGet, d.str("verification_uri_complete"), nil)
	_, page = submit(page, "/device", nil)
	if resp, page := submit(page, "/device/decision", map[string]string{"decision": "approve"}); resp.StatusCode != http.StatusOK {
		t.Fatalf("device approval: %d %s", resp.StatusCode, page)
	}
	polled := asForm(t, e, "/oauth/token", url.Values{"grant_type": {apiclients.GrantDeviceCode}, "device_code": {d.str("device_code")},
		"client_id": {cli.C.ClientID}})
	if polled.Status != http.StatusOK {
		t.Fatalf("device poll after approval: %d %s", polled.Status, polled.Raw)
	}
	return map[string]string{"password": password, "mistyped password": typo, "session cookie": session,
		"authorization code": code, "code verifier": verifier, "code-flow access token": tok.AccessToken,
		"code-flow refresh token": tok.RefreshToken, "device code": d.str("device_code"), "user code": d.str("user_code"),
		"user code without its dash": strings.ReplaceAll(d.str("user_code"), "-", ""), "device-flow access token": polled.str("access_token")}
}

// TestOAuthBadInput: every endpoint answers bad input with an RFC 6749
// error, never a 500 and never a JSON:API document.
func TestOAuthBadInput(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	cl := asMachine(t, e, tid, "viewer")
	pub := asNewClient(t, e, tid, apiclients.NewClient{ClientType: apiclients.TypePublic,
		GrantTypes: []string{apiclients.GrantDeviceCode}, Scopes: []string{"tenants.oauth_clients.get"}})
	good := cl.creds(url.Values{"grant_type": {"client_credentials"}, "token": {"x"}}).Encode()
	formCT := "application/x-www-form-urlencoded"
	for _, path := range []string{"/oauth/token", "/oauth/revoke", "/oauth/introspect", "/oauth/device_authorization"} {
		cases := []struct {
			name, ct, body string
			status         int
		}{
			{"JSON body", "application/json", `{"grant_type":"client_credentials"}`, 400},
			{"no content type", "", good, 400},
			{"multipart", "multipart/form-data; boundary=x", "--x--", 400},
			{"bad media type", "application/x-www-form-urlencoded; ;", good, 400},
			{"duplicate parameter", formCT, good + "&client_id=" + cl.C.ClientID, 400},
			{"duplicate grant_type", formCT, good + "&grant_type=client_credentials", 400},
			{"NUL byte", formCT, good + "&scope=a%00b", 400},
			{"control character", formCT, good + "&scope=a%0Ab", 400},
			{"bad UTF-8", formCT, good + "&scope=%ff%fe", 400},
			{"bad escape", formCT, good + "&scope=%zz", 400},
			{"huge body", formCT, good + "&scope=" + strings.Repeat("a", 2<<20), 413},
		}
		for _, tc := range cases {
			r := asPost(t, e, path, tc.ct, strings.NewReader(tc.body), nil)
			if r.Status != tc.status || r.str("error") != "invalid_request" {
				t.Errorf("%s %s: %d %s", path, tc.name, r.Status, asShort(r.Raw))
			}
		}
		// A huge body without a length (chunked) is refused the same way.
		r := asPost(t, e, path, formCT, io.MultiReader(strings.NewReader(good+"&scope="), strings.NewReader(strings.Repeat("a", 2<<20))), nil)
		if r.Status != http.StatusRequestEntityTooLarge && r.Status != http.StatusBadRequest || r.str("error") != "invalid_request" {
			t.Errorf("%s chunked huge body: %d %s", path, r.Status, asShort(r.Raw))
		}
	}
	// Token endpoint specifics.
	tok := func(form url.Values) asResult { return asForm(t, e, "/oauth/token", form) }
	tok(cl.creds(url.Values{})).expectError(t, http.StatusBadRequest, "invalid_request")
	tok(cl.creds(url.Values{"grant_type": {"password"}, "username": {"a"}, "password": {"b"}})).expectError(t, http.StatusBadRequest, "unsupported_grant_type")
	tok(cl.creds(url.Values{"grant_type": {"implicit"}})).expectError(t, http.StatusBadRequest, "unsupported_grant_type")
	tok(url.Values{"grant_type": {"CLIENT_CREDENTIALS"}}).expectError(t, http.StatusBadRequest, "unsupported_grant_type")
	web := asWebApp(t, e, tid, "tenants.oauth_clients.get")
	tok(web.creds(url.Values{"grant_type": {"authorization_code"}})).expectError(t, http.StatusBadRequest, "invalid_request")
	tok(web.creds(url.Values{"grant_type": {"refresh_token"}})).expectError(t, http.StatusBadRequest, "invalid_request")
	tok(web.creds(url.Values{"grant_type": {"authorization_code"}, "code": {"nonsense"}, "redirect_uri": {asRedirect}})).
		expectError(t, http.StatusBadRequest, "invalid_grant")
	tok(web.creds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"a.b.c"}})).expectError(t, http.StatusBadRequest, "invalid_grant")
	tok(url.Values{"grant_type": {apiclients.GrantDeviceCode}, "client_id": {pub.C.ClientID}}).expectError(t, http.StatusBadRequest, "invalid_request")
	tok(cl.creds(url.Values{"grant_type": {"client_credentials"}, "scope": {strings.Repeat("role:x ", 500)}})).
		expectError(t, http.StatusBadRequest, "invalid_scope")
	// Revoke and introspect without a token.
	asForm(t, e, "/oauth/revoke", cl.creds(url.Values{})).expectError(t, http.StatusBadRequest, "invalid_request")
	asForm(t, e, "/oauth/introspect", cl.creds(url.Values{"token": {""}})).expectError(t, http.StatusBadRequest, "invalid_request")
	// Huge tokens introspect inactive; garbage in every shape too.
	for _, g := range []string{strings.Repeat("a", 100000), strings.Repeat(".", 3), "eyJhbGciOiJub25lIn0.e30.", "\u2603.\u2603.\u2603"} {
		if r := asIntrospect(t, e, cl, g); r.Status != http.StatusOK || r.JSON["active"] != false {
			t.Errorf("introspect %.20q: %d %s", g, r.Status, asShort(r.Raw))
		}
	}
}

func asShort(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}
