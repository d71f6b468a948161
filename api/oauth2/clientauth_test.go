package oauth2_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/apiclients"
)

// machine is a confidential API client (client credentials, role viewer)
// and its secret.
type machine struct{ id, secret string }

func newMachine(t testing.TB, e *apitest.Env, tenantID string) machine {
	t.Helper()
	res := e.Do(apitest.Request{Method: http.MethodPost, Path: "/v2/tenants/" + tenantID + "/api-clients", Auth: &e.Super,
		NoCheck: true, Body: doc("api-client", map[string]any{
			"name": "bot", "client_type": "confidential", "grant_types": []string{"client_credentials"},
			"redirect_uris": []string{}, "roles": []string{"viewer"}, "scopes": []string{},
		})}).ExpectStatus(t, http.StatusCreated)
	m := machine{}
	m.id, _ = res.Attr(t, "client_id").(string)
	m.secret, _ = res.Attr(t, "client_secret").(string)
	if m.id == "" || m.secret == "" {
		t.Fatalf("no client_id or client_secret in %s", res.Body)
	}
	return m
}

// rfcAnswer is a protocol endpoint's answer.
type rfcAnswer struct {
	status int
	header http.Header
	body   []byte
	fields map[string]any
}

// protocolPost posts a form to a protocol endpoint over HTTP, with extra
// headers; the answer's body is decoded when it is JSON.
func protocolPost(t *testing.T, e *apitest.Env, path, body string, header http.Header) rfcAnswer {
	t.Helper()
	return protocolDo(t, e, http.MethodPost, path, body, header)
}

func protocolDo(t *testing.T, e *apitest.Env, method, path, body string, header http.Header) rfcAnswer {
	t.Helper()
	req, err := http.NewRequest(method, e.URL(path), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, vs := range header {
		req.Header[k] = vs
	}
	res, err := e.Client().Do(req) // checked against openapi.yaml
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = res.Body.Close() }()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := rfcAnswer{status: res.StatusCode, header: res.Header, body: raw}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") && method != http.MethodHead {
		if err := json.Unmarshal(raw, &a.fields); err != nil {
			t.Fatalf("%s %s: JSON body %q: %v", method, path, raw, err)
		}
	}
	return a
}

// expectRFCError fails unless the answer is status with RFC 6749 error
// code, as JSON with a description.
func (a rfcAnswer) expectRFCError(t *testing.T, status int, code string) {
	t.Helper()
	if a.status != status || a.fields["error"] != code {
		t.Fatalf("status %d, body %s; want %d %s", a.status, a.body, status, code)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	if d, _ := a.fields["error_description"].(string); d == "" {
		t.Fatalf("error without a description: %s", a.body)
	}
	if a.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("error without Cache-Control: no-store")
	}
}

func basicHeader(id, secret string) http.Header {
	return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))}}
}

// TestMalformedClientIDs: a client id that cannot be one of ours — bytes
// Postgres refuses in text (invalid UTF-8, NUL), control characters, an
// absurd length, the wrong shape — is answered as an unknown client on
// every endpoint that authenticates clients, never with a 500.
func TestMalformedClientIDs(t *testing.T) {
	e := apitest.New(t)
	tid := e.Post("/v2/tenants", &e.Super, doc("tenant", map[string]any{"name": "acme"})).ExpectStatus(t, http.StatusCreated).ID(t)
	m := newMachine(t, e, tid)

	endpoints := map[string]string{
		"/oauth/token":                "grant_type=client_credentials",
		"/oauth/introspect":           "token=x.y.z",
		"/oauth/revoke":               "token=ort_x",
		"/oauth/device_authorization": "scope=tenants.flows.get",
	}
	// As the Authorization header carries them: the header's parts are
	// form-urlencoded (RFC 6749 §2.3.1), so %ff and %00 are decoded.
	basicIDs := []string{"\xff", "%ff", "%FF", "\x00", "%00", "o2c_\x00", "o2c_%00", "o2c_\xff", "o2c_%ff",
		"o2c_\x7f", "o2c_\t", "o2c_é", strings.Repeat("o2c_a", 100), "o2c_a b", "o2c_a/b", "not-ours", "%e2%80%ae"}
	for path, body := range endpoints {
		for _, id := range basicIDs {
			a := protocolPost(t, e, path, body, basicHeader(id, "x"))
			a.expectRFCError(t, http.StatusUnauthorized, "invalid_client")
			if !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("%s, basic id %q: WWW-Authenticate %q", path, id, a.header.Get("WWW-Authenticate"))
			}
		}
		// A secret that cannot be one either.
		protocolPost(t, e, path, body, basicHeader(m.id, "%00")).expectRFCError(t, http.StatusUnauthorized, "invalid_client")
		// A Basic header that is not base64 of id:secret.
		for _, h := range []string{"Basic !!!", "Basic", "basic " + base64.StdEncoding.EncodeToString([]byte("no colon"))} {
			a := protocolPost(t, e, path, body, http.Header{"Authorization": {h}})
			a.expectRFCError(t, http.StatusUnauthorized, "invalid_client")
			if a.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s, Authorization %q: no challenge", path, h)
			}
		}
		// In the body: the form's own rule refuses what is not plain text;
		// the rest is an unknown client.
		for _, id := range []string{"%ff", "%00", "o2c_%ff", "o2c_%7f", "o2c_%0a"} {
			a := protocolPost(t, e, path, body+"&client_id="+id+"&client_secret=x", nil)
			a.expectRFCError(t, http.StatusBadRequest, "invalid_request")
			if d, _ := a.fields["error_description"].(string); !strings.Contains(d, "client_id") {
				t.Errorf("%s, body client_id %q: description %q does not name client_id", path, id, d)
			}
		}
		for _, id := range []string{"o2c_é", strings.Repeat("o2c_a", 100), "x"} {
			protocolPost(t, e, path, body+"&client_id="+url.QueryEscape(id)+"&client_secret=x", nil).
				expectRFCError(t, http.StatusUnauthorized, "invalid_client")
		}
	}
	// Nothing was logged as a server error.
	if logs := e.Logs.String(); strings.Contains(logs, "oauth endpoint error") || strings.Contains(logs, "22021") {
		t.Fatalf("server errors in the log:\n%s", logs)
	}
	// The right credentials still work.
	a := protocolPost(t, e, "/oauth/token", "grant_type=client_credentials", basicHeader(m.id, m.secret))
	if a.status != http.StatusOK || a.fields["access_token"] == nil {
		t.Fatalf("token with the right credentials: %d %s", a.status, a.body)
	}
}

// TestAuthorizeMalformedClientID: GET /oauth/authorize with a client_id
// that cannot be one of ours is the unknown-client page, not a 500; other
// parameters that are not plain text go back to the client as
// invalid_request naming them.
func TestAuthorizeMalformedClientID(t *testing.T) {
	w, _ := webWorld(t)
	e := w.e
	b := newBrowser(t, e)
	for _, id := range []string{"%ff", "%00", "o2c_%00", "o2c_%ff", "o2c_%0d%0a", strings.Repeat("o2c_a", 100)} {
		p := b.get(e.URL("/oauth/authorize?response_type=code&client_id=" + id))
		expectStatus(t, p, http.StatusBadRequest)
		expectPageHeaders(t, p)
		if !strings.Contains(p.text(), "unknown client_id") {
			t.Errorf("client_id %q: page %s", id, p.text())
		}
	}
	for _, param := range []string{"state=%00", "scope=%ff", "code_challenge=%07"} {
		q := url.Values{"response_type": {"code"}, "client_id": {w.clientID}, "redirect_uri": {callback}}
		p := b.get(e.URL("/oauth/authorize?" + q.Encode() + "&" + param))
		got := redirected(t, p)
		name, _, _ := strings.Cut(param, "=")
		if got.Get("error") != "invalid_request" || !strings.Contains(got.Get("error_description"), name) {
			t.Errorf("%s: redirected with %v", param, got)
		}
	}
	if logs := e.Logs.String(); strings.Contains(logs, "page error") {
		t.Fatalf("server errors in the log:\n%s", logs)
	}
}

// TestSignInAbsurdEmail: an email longer than any user's is a wrong sign-in
// like any other.
func TestSignInAbsurdEmail(t *testing.T) {
	e := apitest.New(t)
	b := newBrowser(t, e)
	f := b.get(e.URL("/oauth/sign-in")).form(t, "/oauth/sign-in")
	p := b.submit(f, map[string]string{"email": strings.Repeat("a", 100000) + "@acme.test", "password": testPassword})
	expectStatus(t, p, http.StatusUnauthorized)
	if p.problem() != "The email or password is not correct." {
		t.Errorf("problem %q", p.problem())
	}
}

func TestPlausibleClientID(t *testing.T) {
	for id, want := range map[string]bool{
		"o2c_AbC-_09": true, "o2c_" + strings.Repeat("a", 60): true,
		"": false, "o2c_": false, "O2C_abc": false, "abc": false, "o2c_" + strings.Repeat("a", 61): false,
		"o2c_a\x00": false, "o2c_\xff": false, "o2c_a=": false, "o2c_a.b": false, "o2c_a+b": false, "\x20o2c_a": false, // a leading space
	} {
		if got := apiclients.PlausibleClientID(id); got != want {
			t.Errorf("PlausibleClientID(%q) = %v, want %v", id, got, want)
		}
	}
}
