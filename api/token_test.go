package api_test

// The token endpoint (POST /oauth/token) end to end: Encore's Go program
// and curl command, Cloud 66's form-encoded answer, the four grants, and
// the failures RFC 6749 prescribes. /oauth/* calls go through plain
// net/http and golang.org/x/oauth2, as Encore's and Cloud 66's users do, on the test
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
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/apiclients"
)

// TestEncoreGoProgram runs Encore's Go program, changed only in its URLs
// and in its context, which carries the HTTP client that checks every
// answer against openapi.yaml.
func TestEncoreGoProgram(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	cl := apitest.MachineClient(t, e, tid, "viewer")
	t.Setenv("OAUTH_CLIENT_ID", cl.Client.ClientID)
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
		t.Fatalf("GET oauth-clients with Encore's client: %d %s", resp.StatusCode, body)
	}
	// The token the library got is Encore's: Bearer, one hour.
	tok, err := oauthConfig.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "Bearer" || time.Until(tok.Expiry) < 59*time.Minute || time.Until(tok.Expiry) > 61*time.Minute {
		t.Fatalf("token type %q expiry in %v", tok.TokenType, time.Until(tok.Expiry))
	}
	if tok.Extra("actor") != cl.Client.ClientID {
		t.Fatalf("actor %v, want %s", tok.Extra("actor"), cl.Client.ClientID)
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
	cl := apitest.MachineClient(t, e, tid, "viewer")

	resp, err := e.Client().PostForm(e.URL("/oauth/token"), url.Values{
		"client_id": {cl.Client.ClientID}, "client_secret": {cl.Secret}, "grant_type": {"client_credentials"}})
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
	if body.AccessToken == "" || body.TokenType != "Bearer" || body.ExpiresIn != 3600 || body.Actor != cl.Client.ClientID ||
		body.Scope != "role:viewer" || body.RefreshToken != nil {
		t.Fatalf("token response %s", raw)
	}
	asCheckJWT(t, e, body.AccessToken, cl)

	// client_secret_basic gives the same.
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(cl.Client.ClientID)+":"+url.QueryEscape(cl.Secret)))
	r := apitest.PostOAuth(t, e, "/oauth/token", "application/x-www-form-urlencoded", strings.NewReader("grant_type=client_credentials"),
		map[string]string{"Authorization": basic})
	if r.Status != http.StatusOK || r.Str("token_type") != "Bearer" || r.Str("actor") != cl.Client.ClientID || r.JSON["expires_in"] != float64(3600) {
		t.Fatalf("client_secret_basic: %d %s", r.Status, r.Raw)
	}

	// Cloud 66: Accept: application/x-www-form-urlencoded → a form body.
	r = apitest.PostOAuth(t, e, "/oauth/token", "application/x-www-form-urlencoded", strings.NewReader(
		cl.PostCreds(url.Values{"grant_type": {"client_credentials"}}).Encode()),
		map[string]string{"Accept": "application/x-www-form-urlencoded"})
	if r.Status != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		t.Fatalf("form answer: %d %q %s", r.Status, r.Header.Get("Content-Type"), r.Raw)
	}
	v, err := url.ParseQuery(string(r.Raw))
	if err != nil || v.Get("access_token") == "" || v.Get("token_type") != "Bearer" || v.Get("expires_in") != "3600" ||
		v.Get("actor") != cl.Client.ClientID || v.Get("scope") != "role:viewer" {
		t.Fatalf("form answer %q (%v)", r.Raw, err)
	}
	// Errors come form-encoded too when asked for.
	r = apitest.PostOAuth(t, e, "/oauth/token", "application/x-www-form-urlencoded", strings.NewReader("grant_type=password"),
		map[string]string{"Accept": "application/x-www-form-urlencoded"})
	v, _ = url.ParseQuery(string(r.Raw))
	if r.Status != http.StatusBadRequest || v.Get("error") != "unsupported_grant_type" {
		t.Fatalf("form error: %d %s", r.Status, r.Raw)
	}
}

// asCheckJWT checks the RFC 9068 shape of an access token and verifies it
// with the published keys.
func asCheckJWT(t testing.TB, e *apitest.Env, token string, cl apitest.APIClient) {
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
	if claims["iss"] != e.App.Issuer || claims["client_id"] != cl.Client.ClientID || claims["sub"] != cl.Client.ClientID ||
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
	cl := apitest.MachineClient(t, e, tid, "viewer")
	tokenPath := "/oauth/token"

	r := apitest.PostForm(t, e, tokenPath, cl.PostCreds(url.Values{"grant_type": {"client_credentials"}, "scope": {"tenants.oauth_clients.get"}}))
	if r.Status != http.StatusOK || r.Str("scope") != "tenants.oauth_clients.get" {
		t.Fatalf("narrowed: %d %s", r.Status, r.Raw)
	}
	apitest.PostForm(t, e, tokenPath, cl.PostCreds(url.Values{"grant_type": {"client_credentials"}, "scope": {"role:admin"}})).
		ExpectError(t, http.StatusBadRequest, "invalid_scope")
	apitest.PostForm(t, e, tokenPath, cl.PostCreds(url.Values{"grant_type": {"client_credentials"}, "scope": {"tenants.oauth_clients.create"}})).
		ExpectError(t, http.StatusBadRequest, "invalid_scope")
	apitest.PostForm(t, e, tokenPath, cl.PostCreds(url.Values{"grant_type": {"client_credentials"}, "scope": {"tenants.*"}})).
		ExpectError(t, http.StatusBadRequest, "invalid_scope")
	// A narrowed token is narrowed on the API: no GET of members.
	tok := apitest.PostForm(t, e, tokenPath, cl.PostCreds(url.Values{"grant_type": {"client_credentials"}, "scope": {"tenants.components.get"}})).Str("access_token")
	apitest.Bearer(t, e, http.MethodGet, tenantPath(tid, "/components"), tok, nil).ExpectStatus(t, http.StatusOK)
	apitest.Bearer(t, e, http.MethodGet, tenantPath(tid, "/oauth-clients"), tok, nil).ExpectStatus(t, http.StatusForbidden)

	// Grant types the client was not given.
	apitest.PostForm(t, e, tokenPath, cl.PostCreds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"ort_x"}})).
		ExpectError(t, http.StatusBadRequest, "unauthorized_client")
	web := apitest.WebAppClient(t, e, tid, "tenants.oauth_clients.get")
	apitest.PostForm(t, e, tokenPath, web.PostCreds(url.Values{"grant_type": {"client_credentials"}})).
		ExpectError(t, http.StatusBadRequest, "unauthorized_client")
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
	introspector := apitest.MachineClient(t, e, tid)
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
		r := apitest.Introspect(t, e, introspector, token)
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
		e := e.For(t)
		m := apitest.NewAPIClient(t, e, tid, apiclients.NewClient{GrantTypes: []string{apiclients.GrantClientCredentials},
			Roles: []string{"viewer"}, AccessTokenTTL: ttl(600)})
		r := apitest.PostForm(t, e, "/oauth/token", m.PostCreds(url.Values{"grant_type": {"client_credentials"}}))
		if r.Status != http.StatusOK {
			t.Fatalf("token: %d %s", r.Status, r.Raw)
		}
		expectLifetime(t, "600 s client", r.Str("access_token"), r.JSON["expires_in"], 600)

		// Changed through the management API: the next token follows.
		e.Patch(tenantPath(tid, "/api-clients/"+m.Client.ID.String()), &e.Super,
			doc("api-client", map[string]any{"access_token_ttl": 1200}, nil)).ExpectStatus(t, http.StatusOK)
		r = apitest.PostForm(t, e, "/oauth/token", m.PostCreds(url.Values{"grant_type": {"client_credentials"}}))
		expectLifetime(t, "after the PATCH", r.Str("access_token"), r.JSON["expires_in"], 1200)
		// Back to the deployment's default (3600 for client credentials).
		e.Patch(tenantPath(tid, "/api-clients/"+m.Client.ID.String()), &e.Super,
			doc("api-client", map[string]any{"access_token_ttl": nil}, nil)).ExpectStatus(t, http.StatusOK)
		r = apitest.PostForm(t, e, "/oauth/token", m.PostCreds(url.Values{"grant_type": {"client_credentials"}}))
		expectLifetime(t, "back to the default", r.Str("access_token"), r.JSON["expires_in"], 3600)
	})

	t.Run("user tokens and refresh tokens", func(t *testing.T) {
		e := e.For(t)
		const access, refresh = 300, 7200
		w := apitest.NewAPIClient(t, e, tid, apiclients.NewClient{
			GrantTypes:   []string{apiclients.GrantAuthorizationCode, apiclients.GrantRefreshToken},
			RedirectURIs: []string{apitest.RedirectURI}, Scopes: []string{"tenants.oauth_clients.get"},
			AccessTokenTTL: ttl(access), RefreshTokenTTL: ttl(refresh)})
		tok := apitest.UserToken(t, e, w, user.UserID)
		expectLifetime(t, "code exchange", tok.AccessToken, tok.Extra("expires_in"), access)
		if got := refreshLifetime(t, tok.RefreshToken); got < refresh-5 || got > refresh+5 {
			t.Fatalf("the refresh token lives %v s, want the client's %d", got, refresh)
		}
		// Each rotated refresh token gets the client's lifetime too.
		r := apitest.PostForm(t, e, "/oauth/token", w.PostCreds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}))
		if r.Status != http.StatusOK {
			t.Fatalf("refresh: %d %s", r.Status, r.Raw)
		}
		expectLifetime(t, "refresh", r.Str("access_token"), r.JSON["expires_in"], access)
		rotated := r.Str("refresh_token")
		if got := refreshLifetime(t, rotated); got < refresh-5 || got > refresh+5 {
			t.Fatalf("the rotated refresh token lives %v s, want the client's %d", got, refresh)
		}
		// Past its lifetime (the row's clock moved back by it) it is refused.
		asExec(t, e, `UPDATE refresh_tokens SET expires_at = expires_at - make_interval(secs => $2) WHERE digest = $1`,
			asDigest(rotated), refresh)
		apitest.PostForm(t, e, "/oauth/token", w.PostCreds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rotated}})).
			ExpectError(t, http.StatusBadRequest, "invalid_grant")
	})
}

// TestRefreshRotation: each refresh token works once; a used one presented
// again fails and revokes the whole family, newest tokens included.
func TestRefreshRotation(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	user := newMember(t, e, tid, []string{"admin"}, nil)
	cl := apitest.WebAppClient(t, e, tid, "tenants.oauth_clients.*")
	tok := apitest.UserToken(t, e, cl, user.UserID, "tenants.oauth_clients.get")
	if tok.RefreshToken == "" || tok.Extra("expires_in") != float64(900) || tok.Extra("actor") != cl.Client.ClientID {
		t.Fatalf("code exchange: refresh %q expires_in %v actor %v", tok.RefreshToken, tok.Extra("expires_in"), tok.Extra("actor"))
	}
	refresh := func(rt string) apitest.OAuthAnswer {
		return apitest.PostForm(t, e, "/oauth/token", cl.PostCreds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}))
	}
	first := tok.RefreshToken
	r1 := refresh(first)
	if r1.Status != http.StatusOK || r1.Str("refresh_token") == "" || r1.Str("refresh_token") == first ||
		r1.Str("scope") != "tenants.oauth_clients.get" || r1.JSON["expires_in"] != float64(900) {
		t.Fatalf("first refresh: %d %s", r1.Status, r1.Raw)
	}
	r2 := refresh(r1.Str("refresh_token"))
	if r2.Status != http.StatusOK {
		t.Fatalf("second refresh: %d %s", r2.Status, r2.Raw)
	}
	newestAccess, newestRefresh := r2.Str("access_token"), r2.Str("refresh_token")
	apitest.Bearer(t, e, http.MethodGet, tenantPath(tid, "/oauth-clients"), newestAccess, nil).ExpectStatus(t, http.StatusOK)

	// Reuse of the first refresh token: invalid_grant, and the family dies.
	refresh(first).ExpectError(t, http.StatusBadRequest, "invalid_grant")
	apitest.Bearer(t, e, http.MethodGet, tenantPath(tid, "/oauth-clients"), newestAccess, nil).ExpectStatus(t, http.StatusUnauthorized)
	apitest.Bearer(t, e, http.MethodGet, tenantPath(tid, "/oauth-clients"), tok.AccessToken, nil).ExpectStatus(t, http.StatusUnauthorized)
	refresh(newestRefresh).ExpectError(t, http.StatusBadRequest, "invalid_grant")
	introspector := apitest.MachineClient(t, e, tid)
	if r := apitest.Introspect(t, e, introspector, newestAccess); r.Status != http.StatusOK || r.JSON["active"] != false {
		t.Fatalf("introspect newest access token after reuse: %d %s", r.Status, r.Raw)
	}

	// Another family of the same user and client is untouched.
	other := apitest.UserToken(t, e, cl, user.UserID, "tenants.oauth_clients.get")
	if r := refresh(other.RefreshToken); r.Status != http.StatusOK {
		t.Fatalf("an unrelated family was hurt: %d %s", r.Status, r.Raw)
	}

	// A refresh may narrow the scope, never widen it.
	fam := apitest.UserToken(t, e, cl, user.UserID, "tenants.oauth_clients.get")
	apitest.PostForm(t, e, "/oauth/token", cl.PostCreds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {fam.RefreshToken},
		"scope": {"tenants.oauth_clients.delete"}})).ExpectError(t, http.StatusBadRequest, "invalid_scope")

	// Another client cannot use this client's refresh token.
	thief := apitest.WebAppClient(t, e, tid, "tenants.oauth_clients.*")
	fam2 := apitest.UserToken(t, e, cl, user.UserID, "tenants.oauth_clients.get")
	apitest.PostForm(t, e, "/oauth/token", thief.PostCreds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {fam2.RefreshToken}})).
		ExpectError(t, http.StatusBadRequest, "invalid_grant")
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
	cl := apitest.WebAppClient(t, e, tid, "tenants.oauth_clients.get")
	tok := apitest.UserToken(t, e, cl, user.UserID)
	old := tok.RefreshToken
	tok.Expiry = time.Now().Add(-time.Minute) // make the library refresh
	ctx := e.OAuth2Context(context.Background())
	src := apitest.OAuth2Config(e, cl, oauth2.AuthStyleInHeader).TokenSource(ctx, tok)
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
	cl := apitest.WebAppClient(t, e, tid, "tenants.oauth_clients.get")
	tok := apitest.UserToken(t, e, cl, user.UserID)
	form := cl.PostCreds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}).Encode()

	const n = 10
	statuses := make([]int, n)
	bodies := make([]string, n)
	apitest.Race(t, n, func(i int, t testing.TB) {
		resp, err := e.For(t).Client().Post(e.URL("/oauth/token"), "application/x-www-form-urlencoded", strings.NewReader(form))
		if err != nil {
			bodies[i] = err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		statuses[i], bodies[i] = resp.StatusCode, string(b)
	})
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
	cl := apitest.WebAppClient(t, e, tid, "tenants.oauth_clients.get")
	exchange := func(c apitest.APIClient, form url.Values) apitest.OAuthAnswer {
		form.Set("grant_type", "authorization_code")
		return apitest.PostForm(t, e, "/oauth/token", c.PostCreds(form))
	}

	t.Run("once, then a replay revokes what it issued", func(t *testing.T) {
		e := e.For(t)
		v, ch := apitest.PKCE()
		code := apitest.IssueCode(t, e, cl, user.UserID, ch, "tenants.oauth_clients.get")
		r := exchange(cl, url.Values{"code": {code}, "redirect_uri": {apitest.RedirectURI}, "code_verifier": {v}})
		if r.Status != http.StatusOK || r.Str("refresh_token") == "" || r.Str("scope") != "tenants.oauth_clients.get" || r.Str("actor") != cl.Client.ClientID {
			t.Fatalf("exchange: %d %s", r.Status, r.Raw)
		}
		access, rt := r.Str("access_token"), r.Str("refresh_token")
		apitest.Bearer(t, e, http.MethodGet, tenantPath(tid, "/oauth-clients"), access, nil).ExpectStatus(t, http.StatusOK)
		exchange(cl, url.Values{"code": {code}, "redirect_uri": {apitest.RedirectURI}, "code_verifier": {v}}).
			ExpectError(t, http.StatusBadRequest, "invalid_grant")
		apitest.Bearer(t, e, http.MethodGet, tenantPath(tid, "/oauth-clients"), access, nil).ExpectStatus(t, http.StatusUnauthorized)
		apitest.PostForm(t, e, "/oauth/token", cl.PostCreds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})).
			ExpectError(t, http.StatusBadRequest, "invalid_grant")
	})

	t.Run("expired", func(t *testing.T) {
		e := e.For(t)
		v, ch := apitest.PKCE()
		code := apitest.IssueCode(t, e, cl, user.UserID, ch)
		asExec(t, e, `UPDATE authorization_codes SET expires_at = now() - interval '1 second' WHERE digest = $1`, asDigest(code))
		exchange(cl, url.Values{"code": {code}, "redirect_uri": {apitest.RedirectURI}, "code_verifier": {v}}).
			ExpectError(t, http.StatusBadRequest, "invalid_grant")
		// A fresh code expires 60 s after issue.
		code = apitest.IssueCode(t, e, cl, user.UserID, ch)
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
		e := e.For(t)
		v, ch := apitest.PKCE()
		other, _ := apitest.PKCE()
		for name, form := range map[string]url.Values{
			"wrong redirect":   {"redirect_uri": {apitest.RedirectURI + "x"}, "code_verifier": {v}},
			"wrong verifier":   {"redirect_uri": {apitest.RedirectURI}, "code_verifier": {other}},
			"missing verifier": {"redirect_uri": {apitest.RedirectURI}},
			"short verifier":   {"redirect_uri": {apitest.RedirectURI}, "code_verifier": {"abc"}},
		} {
			code := apitest.IssueCode(t, e, cl, user.UserID, ch)
			form.Set("code", code)
			r := exchange(cl, form)
			if r.Status != http.StatusBadRequest || (r.Str("error") != "invalid_grant" && r.Str("error") != "invalid_request") {
				t.Errorf("%s: %d %s", name, r.Status, r.Raw)
			}
		}
		// Cloud 66: redirect_url is optional at the token endpoint.
		code0 := apitest.IssueCode(t, e, cl, user.UserID, ch)
		if r := exchange(cl, url.Values{"code": {code0}, "code_verifier": {v}}); r.Status != http.StatusOK {
			t.Errorf("no redirect: %d %s", r.Status, r.Raw)
		}
		// A verifier for a code issued without a challenge is refused.
		code := apitest.IssueCode(t, e, cl, user.UserID, "")
		exchange(cl, url.Values{"code": {code}, "redirect_uri": {apitest.RedirectURI}, "code_verifier": {v}}).
			ExpectError(t, http.StatusBadRequest, "invalid_grant")
		// Without a challenge a confidential client needs no verifier.
		code = apitest.IssueCode(t, e, cl, user.UserID, "")
		if r := exchange(cl, url.Values{"code": {code}, "redirect_uri": {apitest.RedirectURI}}); r.Status != http.StatusOK {
			t.Fatalf("confidential without PKCE: %d %s", r.Status, r.Raw)
		}
	})

	t.Run("another client's code", func(t *testing.T) {
		e := e.For(t)
		other := apitest.WebAppClient(t, e, tid, "tenants.oauth_clients.get")
		v, ch := apitest.PKCE()
		code := apitest.IssueCode(t, e, cl, user.UserID, ch)
		exchange(other, url.Values{"code": {code}, "redirect_uri": {apitest.RedirectURI}, "code_verifier": {v}}).
			ExpectError(t, http.StatusBadRequest, "invalid_grant")
	})

	t.Run("redirect_url as Cloud 66 spells it", func(t *testing.T) {
		e := e.For(t)
		v, ch := apitest.PKCE()
		code := apitest.IssueCode(t, e, cl, user.UserID, ch)
		if r := exchange(cl, url.Values{"code": {code}, "redirect_url": {apitest.RedirectURI}, "code_verifier": {v}}); r.Status != http.StatusOK {
			t.Fatalf("redirect_url: %d %s", r.Status, r.Raw)
		}
	})

	t.Run("public client", func(t *testing.T) {
		e := e.For(t)
		pub := apitest.NewAPIClient(t, e, tid, apiclients.NewClient{ClientType: apiclients.TypePublic,
			GrantTypes:   []string{apiclients.GrantAuthorizationCode, apiclients.GrantRefreshToken},
			RedirectURIs: []string{apitest.RedirectURI}, Scopes: []string{"tenants.oauth_clients.get"}})
		if pub.Secret != "" {
			t.Fatal("a public client got a secret")
		}
		// A code issued without PKCE cannot be redeemed by a public client.
		code := apitest.IssueCode(t, e, pub, user.UserID, "")
		r := exchange(pub, url.Values{"code": {code}, "redirect_uri": {apitest.RedirectURI}})
		if r.Status != http.StatusBadRequest || (r.Str("error") != "invalid_grant" && r.Str("error") != "invalid_request") {
			t.Fatalf("public client without PKCE: %d %s", r.Status, r.Raw)
		}
		// With PKCE it works, with no secret (token_endpoint_auth_method none).
		v, ch := apitest.PKCE()
		code = apitest.IssueCode(t, e, pub, user.UserID, ch, "tenants.oauth_clients.get")
		tok, err := apitest.OAuth2Config(e, pub, oauth2.AuthStyleInParams).Exchange(e.OAuth2Context(context.Background()), code, oauth2.VerifierOption(v))
		if err != nil {
			t.Fatalf("public client with PKCE: %v", err)
		}
		apitest.Bearer(t, e, http.MethodGet, tenantPath(tid, "/oauth-clients"), tok.AccessToken, nil).ExpectStatus(t, http.StatusOK)
		// A public client presenting a secret is not authenticated.
		apitest.PostForm(t, e, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken},
			"client_id": {pub.Client.ClientID}, "client_secret": {"o2s_guess"}}).ExpectError(t, http.StatusUnauthorized, "invalid_client")
	})
}

// TestDeviceGrant is RFC 8628 at the protocol level; the approval comes
// from the grant layer (the /device page is tested elsewhere).
func TestDeviceGrant(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	user := newMember(t, e, tid, []string{"viewer"}, nil)
	cli := apitest.NewAPIClient(t, e, tid, apiclients.NewClient{ClientType: apiclients.TypePublic,
		GrantTypes: []string{apiclients.GrantDeviceCode, apiclients.GrantRefreshToken}, Scopes: []string{"tenants.oauth_clients.get"}})
	start := func() apitest.OAuthAnswer {
		r := apitest.PostForm(t, e, "/oauth/device_authorization", url.Values{"client_id": {cli.Client.ClientID}, "scope": {"tenants.oauth_clients.get"}})
		if r.Status != http.StatusOK {
			t.Fatalf("device_authorization: %d %s", r.Status, r.Raw)
		}
		uc := r.Str("user_code")
		if len(uc) != 9 || uc[4] != '-' || strings.Trim(strings.ReplaceAll(uc, "-", ""), "BCDFGHJKLMNPQRSTVWXZ") != "" {
			t.Fatalf("user_code %q", uc)
		}
		if r.Str("device_code") == "" || r.JSON["interval"] != float64(5) || r.JSON["expires_in"] == nil ||
			!strings.HasPrefix(r.Str("verification_uri"), e.App.Issuer) {
			t.Fatalf("device_authorization answer %s", r.Raw)
		}
		return r
	}
	poll := func(dc string) apitest.OAuthAnswer {
		return apitest.PostForm(t, e, "/oauth/token", url.Values{"grant_type": {apiclients.GrantDeviceCode}, "device_code": {dc}, "client_id": {cli.Client.ClientID}})
	}
	rewindPoll := func(dc string) { // as if the interval had passed
		asExec(t, e, `UPDATE device_codes SET last_polled_at = now() - interval '10 seconds' WHERE digest = $1`, asDigest(dc))
	}
	ctx := context.Background()

	d := start()
	dc := d.Str("device_code")
	poll(dc).ExpectError(t, http.StatusBadRequest, "authorization_pending")
	poll(dc).ExpectError(t, http.StatusBadRequest, "slow_down") // at once, well within the 5 s interval
	rewindPoll(dc)
	poll(dc).ExpectError(t, http.StatusBadRequest, "authorization_pending")

	// Approval, typed in lower case without the dash.
	typed := strings.ToLower(strings.ReplaceAll(d.Str("user_code"), "-", ""))
	if err := e.App.Grants.DecideDevice(ctx, typed, uuid.MustParse(user.UserID), true); err != nil {
		t.Fatal(err)
	}
	rewindPoll(dc)
	r := poll(dc)
	if r.Status != http.StatusOK || r.Str("access_token") == "" || r.Str("refresh_token") == "" || r.Str("actor") != cli.Client.ClientID ||
		r.Str("scope") != "tenants.oauth_clients.get" {
		t.Fatalf("approved poll: %d %s", r.Status, r.Raw)
	}
	apitest.Bearer(t, e, http.MethodGet, tenantPath(tid, "/oauth-clients"), r.Str("access_token"), nil).ExpectStatus(t, http.StatusOK)
	rewindPoll(dc)
	poll(dc).ExpectError(t, http.StatusBadRequest, "invalid_grant")

	// Denied.
	d = start()
	if err := e.App.Grants.DecideDevice(ctx, d.Str("user_code"), uuid.MustParse(user.UserID), false); err != nil {
		t.Fatal(err)
	}
	poll(d.Str("device_code")).ExpectError(t, http.StatusBadRequest, "access_denied")

	// Expired.
	d = start()
	asExec(t, e, `UPDATE device_codes SET expires_at = now() - interval '1 second' WHERE digest = $1`, asDigest(d.Str("device_code")))
	poll(d.Str("device_code")).ExpectError(t, http.StatusBadRequest, "expired_token")
	if err := e.App.Grants.DecideDevice(ctx, d.Str("user_code"), uuid.MustParse(user.UserID), true); err == nil {
		t.Fatal("an expired user code was approved")
	}

	// Unknown device code, and another client's device code.
	poll("odc_nothing").ExpectError(t, http.StatusBadRequest, "invalid_grant")
	other := apitest.NewAPIClient(t, e, tid, apiclients.NewClient{ClientType: apiclients.TypePublic,
		GrantTypes: []string{apiclients.GrantDeviceCode}, Scopes: []string{"tenants.oauth_clients.get"}})
	d = start()
	apitest.PostForm(t, e, "/oauth/token", url.Values{"grant_type": {apiclients.GrantDeviceCode}, "device_code": {d.Str("device_code")}, "client_id": {other.Client.ClientID}}).
		ExpectError(t, http.StatusBadRequest, "invalid_grant")

	// A scope beyond the client's allowed scopes is refused at the start.
	apitest.PostForm(t, e, "/oauth/device_authorization", url.Values{"client_id": {cli.Client.ClientID}, "scope": {"tenants.oauth_clients.delete"}}).
		ExpectError(t, http.StatusBadRequest, "invalid_scope")
	// A client without the device grant cannot start one.
	web := apitest.WebAppClient(t, e, tid, "tenants.oauth_clients.get")
	apitest.PostForm(t, e, "/oauth/device_authorization", web.PostCreds(url.Values{})).ExpectError(t, http.StatusBadRequest, "unauthorized_client")
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
	cl := apitest.MachineClient(t, e, tid, "viewer")
	bystander := apitest.MachineClient(t, e, tid, "viewer")
	cc := url.Values{"grant_type": {"client_credentials"}}
	basic := func(id, secret string) map[string]string {
		return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))}
	}
	post := func(body string, hdr map[string]string) apitest.OAuthAnswer {
		return apitest.PostOAuth(t, e, "/oauth/token", "application/x-www-form-urlencoded", strings.NewReader(body), hdr)
	}

	// Unknown client ids and missing credentials.
	apitest.PostForm(t, e, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"o2c_nobody"}, "client_secret": {"o2s_x"}}).
		ExpectError(t, http.StatusUnauthorized, "invalid_client")
	apitest.PostForm(t, e, "/oauth/token", cc).ExpectError(t, http.StatusUnauthorized, "invalid_client")
	apitest.PostForm(t, e, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {cl.Client.ClientID}}).
		ExpectError(t, http.StatusUnauthorized, "invalid_client")
	// Both methods at once, and a body client_id that differs from basic's.
	r := post(cl.PostCreds(url.Values{"grant_type": {"client_credentials"}}).Encode(), basic(cl.Client.ClientID, cl.Secret))
	r.ExpectError(t, http.StatusBadRequest, "invalid_request")
	r = post(url.Values{"grant_type": {"client_credentials"}, "client_id": {bystander.Client.ClientID}}.Encode(), basic(cl.Client.ClientID, cl.Secret))
	r.ExpectError(t, http.StatusBadRequest, "invalid_request")

	// Basic auth with a wrong secret: 401 and the challenge.
	r = post("grant_type=client_credentials", basic(cl.Client.ClientID, "o2s_wrong"))
	r.ExpectError(t, http.StatusUnauthorized, "invalid_client")
	if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic ") {
		t.Fatalf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
	}
	// Post with a wrong secret: 401 (failures so far: 3 for cl? no: 1 basic + 1 missing secret).
	for i := 0; ; i++ {
		r = apitest.PostForm(t, e, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {cl.Client.ClientID}, "client_secret": {cl.Secret + "x"}})
		if r.Status == http.StatusTooManyRequests {
			// Failures so far: the basic one and i here (a missing secret
			// costs no check and spends no budget).
			if got := i + 1; got != 10 {
				t.Fatalf("blocked after %d failures, want after 10", got)
			}
			break
		}
		r.ExpectError(t, http.StatusUnauthorized, "invalid_client")
		if i > 20 {
			t.Fatal("never blocked")
		}
	}
	if r.Str("error") != "invalid_client" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("429 answer %s, Retry-After %q", r.Raw, r.Header.Get("Retry-After"))
	}
	// The right secret is refused while blocked, in both methods.
	r = apitest.PostForm(t, e, "/oauth/token", cl.PostCreds(url.Values{"grant_type": {"client_credentials"}}))
	if r.Status != http.StatusTooManyRequests {
		t.Fatalf("right secret while blocked: %d %s", r.Status, r.Raw)
	}
	if r = post("grant_type=client_credentials", basic(cl.Client.ClientID, cl.Secret)); r.Status != http.StatusTooManyRequests {
		t.Fatalf("right secret by basic while blocked: %d", r.Status)
	}
	// Another client from the same address is not blocked.
	tok := apitest.ClientCredentialsToken(t, e, bystander)

	// A whole flow's worth of secrets and tokens, then the logs.
	web := apitest.WebAppClient(t, e, tid, "tenants.oauth_clients.get")
	user := newMember(t, e, tid, []string{"viewer"}, nil)
	ut := apitest.UserToken(t, e, web, user.UserID)
	rt := apitest.PostForm(t, e, "/oauth/token", web.PostCreds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {ut.RefreshToken}}))
	apitest.Bearer(t, e, http.MethodGet, tenantPath(tid, "/oauth-clients"), tok, nil).ExpectStatus(t, http.StatusOK)
	apitest.Introspect(t, e, web, tok)
	apitest.PostForm(t, e, "/oauth/revoke", web.PostCreds(url.Values{"token": {rt.Str("refresh_token")}}))
	e.Get("/v2/users/me", &user).ExpectStatus(t, http.StatusOK) // the API key at work
	secrets := map[string]string{"secret": cl.Secret, "bystander secret": bystander.Secret, "web secret": web.Secret,
		"access token": tok, "user access token": ut.AccessToken, "refresh token": ut.RefreshToken,
		"rotated refresh token": rt.Str("refresh_token"), "API key": user.Key}
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
	web := apitest.WebAppClient(t, e, tid, "tenants.oauth_clients.get")
	verifier, challenge := apitest.PKCE()
	authorize := "/oauth/authorize?" + url.Values{"response_type": {"code"}, "client_id": {web.Client.ClientID}, "redirect_uri": {apitest.RedirectURI},
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
	tok, err := apitest.OAuth2Config(e, web, oauth2.AuthStyleInHeader).Exchange(e.OAuth2Context(context.Background()), code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange the code from the consent page: %v", err)
	}

	// The device flow, approved through verification_uri_complete.
	cli := apitest.NewAPIClient(t, e, tid, apiclients.NewClient{ClientType: apiclients.TypePublic,
		GrantTypes: []string{apiclients.GrantDeviceCode}, Scopes: []string{"tenants.oauth_clients.get"}})
	d := apitest.PostForm(t, e, "/oauth/device_authorization", url.Values{"client_id": {cli.Client.ClientID}})
	if d.Status != http.StatusOK {
		t.Fatalf("device_authorization: %d %s", d.Status, d.Raw)
	}
	_, page = send(http.MethodGet, d.Str("verification_uri_complete"), nil)
	_, page = submit(page, "/device", nil)
	if resp, page := submit(page, "/device/decision", map[string]string{"decision": "approve"}); resp.StatusCode != http.StatusOK {
		t.Fatalf("device approval: %d %s", resp.StatusCode, page)
	}
	polled := apitest.PostForm(t, e, "/oauth/token", url.Values{"grant_type": {apiclients.GrantDeviceCode}, "device_code": {d.Str("device_code")},
		"client_id": {cli.Client.ClientID}})
	if polled.Status != http.StatusOK {
		t.Fatalf("device poll after approval: %d %s", polled.Status, polled.Raw)
	}
	return map[string]string{"password": password, "mistyped password": typo, "session cookie": session,
		"authorization code": code, "code verifier": verifier, "code-flow access token": tok.AccessToken,
		"code-flow refresh token": tok.RefreshToken, "device code": d.Str("device_code"), "user code": d.Str("user_code"),
		"user code without its dash": strings.ReplaceAll(d.Str("user_code"), "-", ""), "device-flow access token": polled.Str("access_token")}
}

// TestOAuthBadInput: every endpoint answers bad input with an RFC 6749
// error, never a 500 and never a JSON:API document.
func TestOAuthBadInput(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	cl := apitest.MachineClient(t, e, tid, "viewer")
	pub := apitest.NewAPIClient(t, e, tid, apiclients.NewClient{ClientType: apiclients.TypePublic,
		GrantTypes: []string{apiclients.GrantDeviceCode}, Scopes: []string{"tenants.oauth_clients.get"}})
	good := cl.PostCreds(url.Values{"grant_type": {"client_credentials"}, "token": {"x"}}).Encode()
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
			{"duplicate parameter", formCT, good + "&client_id=" + cl.Client.ClientID, 400},
			{"duplicate grant_type", formCT, good + "&grant_type=client_credentials", 400},
			{"NUL byte", formCT, good + "&scope=a%00b", 400},
			{"control character", formCT, good + "&scope=a%0Ab", 400},
			{"bad UTF-8", formCT, good + "&scope=%ff%fe", 400},
			{"bad escape", formCT, good + "&scope=%zz", 400},
			{"huge body", formCT, good + "&scope=" + strings.Repeat("a", 2<<20), 413},
		}
		for _, tc := range cases {
			r := apitest.PostOAuth(t, e, path, tc.ct, strings.NewReader(tc.body), nil)
			if r.Status != tc.status || r.Str("error") != "invalid_request" {
				t.Errorf("%s %s: %d %s", path, tc.name, r.Status, asShort(r.Raw))
			}
		}
		// A huge body without a length (chunked) is refused the same way.
		r := apitest.PostOAuth(t, e, path, formCT, io.MultiReader(strings.NewReader(good+"&scope="), strings.NewReader(strings.Repeat("a", 2<<20))), nil)
		if r.Status != http.StatusRequestEntityTooLarge && r.Status != http.StatusBadRequest || r.Str("error") != "invalid_request" {
			t.Errorf("%s chunked huge body: %d %s", path, r.Status, asShort(r.Raw))
		}
	}
	// Token endpoint specifics.
	tok := func(form url.Values) apitest.OAuthAnswer { return apitest.PostForm(t, e, "/oauth/token", form) }
	tok(cl.PostCreds(url.Values{})).ExpectError(t, http.StatusBadRequest, "invalid_request")
	tok(cl.PostCreds(url.Values{"grant_type": {"password"}, "username": {"a"}, "password": {"b"}})).ExpectError(t, http.StatusBadRequest, "unsupported_grant_type")
	tok(cl.PostCreds(url.Values{"grant_type": {"implicit"}})).ExpectError(t, http.StatusBadRequest, "unsupported_grant_type")
	tok(url.Values{"grant_type": {"CLIENT_CREDENTIALS"}}).ExpectError(t, http.StatusBadRequest, "unsupported_grant_type")
	web := apitest.WebAppClient(t, e, tid, "tenants.oauth_clients.get")
	tok(web.PostCreds(url.Values{"grant_type": {"authorization_code"}})).ExpectError(t, http.StatusBadRequest, "invalid_request")
	tok(web.PostCreds(url.Values{"grant_type": {"refresh_token"}})).ExpectError(t, http.StatusBadRequest, "invalid_request")
	tok(web.PostCreds(url.Values{"grant_type": {"authorization_code"}, "code": {"nonsense"}, "redirect_uri": {apitest.RedirectURI}})).
		ExpectError(t, http.StatusBadRequest, "invalid_grant")
	tok(web.PostCreds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"a.b.c"}})).ExpectError(t, http.StatusBadRequest, "invalid_grant")
	tok(url.Values{"grant_type": {apiclients.GrantDeviceCode}, "client_id": {pub.Client.ClientID}}).ExpectError(t, http.StatusBadRequest, "invalid_request")
	tok(cl.PostCreds(url.Values{"grant_type": {"client_credentials"}, "scope": {strings.Repeat("role:x ", 500)}})).
		ExpectError(t, http.StatusBadRequest, "invalid_scope")
	// Revoke and introspect without a token.
	apitest.PostForm(t, e, "/oauth/revoke", cl.PostCreds(url.Values{})).ExpectError(t, http.StatusBadRequest, "invalid_request")
	apitest.PostForm(t, e, "/oauth/introspect", cl.PostCreds(url.Values{"token": {""}})).ExpectError(t, http.StatusBadRequest, "invalid_request")
	// Huge tokens introspect inactive; garbage in every shape too.
	for _, g := range []string{strings.Repeat("a", 100000), strings.Repeat(".", 3), "eyJhbGciOiJub25lIn0.e30.", "\u2603.\u2603.\u2603"} {
		if r := apitest.Introspect(t, e, cl, g); r.Status != http.StatusOK || r.JSON["active"] != false {
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
