package apitest

// The helper layer of the tests of the authorization-server half: API
// clients made through the service (the management API has its own
// tests), posts to the /oauth endpoints through the spec-checking client,
// authorization codes, PKCE, and tokens got with golang.org/x/oauth2.
// Each takes the test to report to and routes the Env's own reporting to
// it too (e.For(t)), so they are safe in subtests and, with a goroutine's
// reporter from Race or Go, in goroutines.

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/authserver"
)

// FormType is the content type of the /oauth endpoints' requests.
const FormType = "application/x-www-form-urlencoded"

// RedirectURI is the redirect URI of the web-app clients WebAppClient makes.
const RedirectURI = "https://app.example.test/callback"

// APIClient is an API client under test with its one-time secret.
type APIClient struct {
	TenantID string
	Client   *apiclients.Client
	Secret   string
}

// GrantClient is the client as the grants service knows it.
func (c APIClient) GrantClient() authserver.Client {
	return authserver.Client{TenantID: c.Client.TenantID, PK: c.Client.ID, ClientID: c.Client.ClientID}
}

// PostCreds adds client_secret_post credentials (the client id, and the
// secret when the client has one) to form and returns it.
func (c APIClient) PostCreds(form url.Values) url.Values {
	form.Set("client_id", c.Client.ClientID)
	if c.Secret != "" {
		form.Set("client_secret", c.Secret)
	}
	return form
}

// NewAPIClient creates an API client in tenant tid through the service;
// a missing name is made unique, a missing type is confidential.
func NewAPIClient(t testing.TB, e *Env, tid string, in apiclients.NewClient) APIClient {
	t.Helper()
	if in.Name == "" {
		in.Name = "client-" + randomSuffix()
	}
	if in.ClientType == "" {
		in.ClientType = apiclients.TypeConfidential
	}
	c, secret, err := e.App.APIClients.Create(context.Background(), uuid.MustParse(tid), nil, in, nil)
	if err != nil {
		t.Fatalf("create api client: %v", err)
	}
	return APIClient{TenantID: tid, Client: c, Secret: secret}
}

// MachineClient is a confidential client-credentials client with roles.
func MachineClient(t testing.TB, e *Env, tid string, roles ...string) APIClient {
	t.Helper()
	return NewAPIClient(t, e, tid, apiclients.NewClient{GrantTypes: []string{apiclients.GrantClientCredentials}, Roles: roles})
}

// WebAppClient is a confidential client for user tokens (authorization
// code and refresh token) redirecting to RedirectURI.
func WebAppClient(t testing.TB, e *Env, tid string, scopes ...string) APIClient {
	t.Helper()
	return NewAPIClient(t, e, tid, apiclients.NewClient{
		GrantTypes:   []string{apiclients.GrantAuthorizationCode, apiclients.GrantRefreshToken},
		RedirectURIs: []string{RedirectURI}, Scopes: scopes,
	})
}

// OAuthAnswer is one answer of an /oauth endpoint; JSON holds its members
// when it is JSON.
type OAuthAnswer struct {
	Status int
	Header http.Header
	Raw    []byte
	JSON   map[string]any
}

// Str is the string member k of the JSON answer ("" when absent).
func (r OAuthAnswer) Str(k string) string { s, _ := r.JSON[k].(string); return s }

// ExpectError fails t unless the answer is an RFC 6749 error (JSON) with
// this status and error code, Cache-Control: no-store, and a description
// (but for the device grant's answers to a poll, RFC 8628 §3.5, whose code
// says all there is).
func (r OAuthAnswer) ExpectError(t testing.TB, status int, code string) {
	t.Helper()
	if r.Status != status || r.Str("error") != code {
		t.Fatalf("got %d %s, want %d error %q", r.Status, r.Raw, status, code)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error content type %q", ct)
	}
	if r.Str("error_description") == "" && !devicePollCodes[code] {
		t.Fatalf("error without a description: %s", r.Raw)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("error without Cache-Control: no-store: %v", r.Header)
	}
}

// devicePollCodes are the device grant's answers to a poll (RFC 8628 §3.5).
var devicePollCodes = map[string]bool{"authorization_pending": true, "slow_down": true, "access_denied": true, "expired_token": true}

// PostOAuth sends a raw body to an /oauth endpoint of e with the given
// headers; the answer is checked against openapi.yaml, and a 5xx fails t.
func PostOAuth(t testing.TB, e *Env, path, contentType string, body io.Reader, hdr map[string]string) OAuthAnswer {
	t.Helper()
	return DoOAuth(t, e, http.MethodPost, path, contentType, body, hdr)
}

// DoOAuth is PostOAuth with any method (a HEAD answer has no body to
// decode).
func DoOAuth(t testing.TB, e *Env, method, path, contentType string, body io.Reader, hdr map[string]string) OAuthAnswer {
	t.Helper()
	target := e.URL(path)
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.For(t).Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	r := OAuthAnswer{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if resp.StatusCode >= 500 {
		t.Errorf("%s %s → %d: %s", method, target, resp.StatusCode, raw)
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") && method != http.MethodHead {
		if err := json.Unmarshal(raw, &r.JSON); err != nil {
			t.Fatalf("%s %s: body is not JSON: %v\n%s", method, target, err, raw)
		}
	}
	return r
}

// PostForm posts form to an /oauth endpoint (client_secret_post when the
// form carries the credentials).
func PostForm(t testing.TB, e *Env, path string, form url.Values) OAuthAnswer {
	t.Helper()
	return PostOAuth(t, e, path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()), nil)
}

// ClientCredentialsToken gets an access token for c with the client
// credentials grant.
func ClientCredentialsToken(t testing.TB, e *Env, c APIClient) string {
	t.Helper()
	r := PostForm(t, e, "/oauth/token", c.PostCreds(url.Values{"grant_type": {"client_credentials"}}))
	if r.Status != http.StatusOK || r.Str("access_token") == "" {
		t.Fatalf("client credentials: %d %s", r.Status, r.Raw)
	}
	return r.Str("access_token")
}

// Bearer calls the management API with a bearer token.
func Bearer(t testing.TB, e *Env, method, path, token string, body any) *Response {
	t.Helper()
	return e.For(t).Do(Request{Method: method, Path: path, Body: body,
		Header: http.Header{"Authorization": {"Bearer " + token}}})
}

// PKCE returns a verifier and its S256 challenge.
func PKCE() (verifier, challenge string) {
	verifier = oauth2.GenerateVerifier()
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// IssueCode issues an authorization code for userID as the consent page
// would, redirecting to RedirectURI.
func IssueCode(t testing.TB, e *Env, c APIClient, userID string, challenge string, scopes ...string) string {
	t.Helper()
	code, err := e.App.Grants.CreateCode(context.Background(), c.GrantClient(), authserver.CodeRequest{
		UserID: uuid.MustParse(userID), RedirectURI: RedirectURI, Scopes: scopes, CodeChallenge: challenge})
	if err != nil {
		t.Fatalf("create code: %v", err)
	}
	return code
}

// OAuth2Config is the golang.org/x/oauth2 view of a web-app client.
func OAuth2Config(e *Env, c APIClient, style oauth2.AuthStyle) *oauth2.Config {
	return &oauth2.Config{ClientID: c.Client.ClientID, ClientSecret: c.Secret, RedirectURL: RedirectURI,
		Endpoint: oauth2.Endpoint{TokenURL: e.URL("/oauth/token"), AuthStyle: style}}
}

// UserToken exchanges a fresh code for userID's tokens with
// golang.org/x/oauth2; without scopes it asks for the client's own, as the
// consent page grants when none are asked for.
func UserToken(t testing.TB, e *Env, c APIClient, userID string, scopes ...string) *oauth2.Token {
	t.Helper()
	if len(scopes) == 0 {
		scopes = c.Client.Scopes
	}
	v, ch := PKCE()
	code := IssueCode(t, e, c, userID, ch, scopes...)
	ctx := e.For(t).OAuth2Context(context.Background())
	tok, err := OAuth2Config(e, c, oauth2.AuthStyleInParams).Exchange(ctx, code, oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("exchange code: %v", err)
	}
	return tok
}

// Introspect asks /oauth/introspect about token as client c.
func Introspect(t testing.TB, e *Env, c APIClient, token string) OAuthAnswer {
	t.Helper()
	return PostForm(t, e, "/oauth/introspect", c.PostCreds(url.Values{"token": {token}}))
}
