package oauth2_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/apiclients"
)

// TestMalformedClientIDs: a client id that cannot be one of ours — bytes
// Postgres refuses in text (invalid UTF-8, NUL), control characters, an
// absurd length, the wrong shape — is answered as an unknown client on
// every endpoint that authenticates clients, never with a 500.
func TestMalformedClientIDs(t *testing.T) {
	e := apitest.New(t)
	tid := e.Post("/v2/tenants", &e.Super, doc("tenant", map[string]any{"name": "acme"})).ExpectStatus(t, http.StatusCreated).ID(t)
	m := apitest.MachineClient(t, e, tid, "viewer")
	post := func(path, body string, hdr map[string]string) apitest.OAuthAnswer {
		t.Helper()
		return apitest.PostOAuth(t, e, path, apitest.FormType, strings.NewReader(body), hdr)
	}
	basic := func(id, secret string) map[string]string {
		return map[string]string{"Authorization": apitest.BasicOf(id, secret)}
	}

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
			a := post(path, body, basic(id, "x"))
			a.ExpectError(t, http.StatusUnauthorized, "invalid_client")
			if !strings.HasPrefix(a.Header.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("%s, basic id %q: WWW-Authenticate %q", path, id, a.Header.Get("WWW-Authenticate"))
			}
		}
		// A secret that cannot be one either.
		post(path, body, basic(m.Client.ClientID, "%00")).ExpectError(t, http.StatusUnauthorized, "invalid_client")
		// A Basic header that is not base64 of id:secret.
		for _, h := range []string{"Basic !!!", "Basic", "basic " + base64.StdEncoding.EncodeToString([]byte("no colon"))} {
			a := post(path, body, map[string]string{"Authorization": h})
			a.ExpectError(t, http.StatusUnauthorized, "invalid_client")
			if a.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s, Authorization %q: no challenge", path, h)
			}
		}
		// In the body: the form's own rule refuses what is not plain text;
		// the rest is an unknown client.
		for _, id := range []string{"%ff", "%00", "o2c_%ff", "o2c_%7f", "o2c_%0a"} {
			a := post(path, body+"&client_id="+id+"&client_secret=x", nil)
			a.ExpectError(t, http.StatusBadRequest, "invalid_request")
			if d := a.Str("error_description"); !strings.Contains(d, "client_id") {
				t.Errorf("%s, body client_id %q: description %q does not name client_id", path, id, d)
			}
		}
		for _, id := range []string{"o2c_é", strings.Repeat("o2c_a", 100), "x"} {
			post(path, body+"&client_id="+url.QueryEscape(id)+"&client_secret=x", nil).
				ExpectError(t, http.StatusUnauthorized, "invalid_client")
		}
	}
	// Nothing was logged as a server error.
	if logs := e.Logs.String(); strings.Contains(logs, "oauth endpoint error") || strings.Contains(logs, "22021") {
		t.Fatalf("server errors in the log:\n%s", logs)
	}
	// The right credentials still work.
	a := post("/oauth/token", "grant_type=client_credentials", basic(m.Client.ClientID, m.Secret))
	if a.Status != http.StatusOK || a.Str("access_token") == "" {
		t.Fatalf("token with the right credentials: %d %s", a.Status, a.Raw)
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
