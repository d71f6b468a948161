package oauth2_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
)

// TestSecureCookies: with an https issuer (a deployment behind TLS) the
// pre-session cookie (what the sign-in form's CSRF token is bound to) and
// the session cookie (what every other form's CSRF token is bound to) are
// Secure, HttpOnly, SameSite=Lax, Path=/ with no Domain, under the
// __Host- prefix — so neither script nor a sibling subdomain can read or
// plant them. The test server itself speaks plain HTTP, so the cookies are
// read off the responses and sent back by hand (a cookie jar would not
// send Secure cookies over http).
func TestSecureCookies(t *testing.T) {
	e := apitest.New(t, apitest.WithIssuer("https://auth.acme.test"))
	w := newWorld(t, e, clientSpec{name: "web", clientType: "public", grantTypes: []string{"authorization_code"},
		redirectURIs: []string{callback}, scopes: []string{"tenants.oauth_clients.get"}})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(req *http.Request) *http.Response {
		t.Helper()
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		return res
	}
	cookie := func(res *http.Response, name string) *http.Cookie {
		t.Helper()
		for _, c := range res.Cookies() {
			if c.Name == name {
				return c
			}
		}
		t.Fatalf("no %s cookie in %q", name, res.Header.Values("Set-Cookie"))
		return nil
	}
	expectHostCookie := func(c *http.Cookie, deleted bool) {
		t.Helper()
		if !strings.HasPrefix(c.Name, "__Host-") || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode ||
			c.Path != "/" || c.Domain != "" || (c.MaxAge < 0) != deleted {
			t.Errorf("cookie %s: %+v (raw %q)", c.Name, c, c.Raw)
		}
	}

	// The sign-in page sets the pre-session cookie.
	b := newBrowser(t, e) // to parse pages; cookies are sent by hand
	res := do(mustRequest(t, http.MethodGet, e.URL("/oauth/sign-in"), ""))
	pre := cookie(res, "__Host-oauthd_presession")
	expectHostCookie(pre, false)
	for _, c := range res.Cookies() {
		if !strings.HasPrefix(c.Name, "__Host-") {
			t.Errorf("cookie %s without the __Host- prefix", c.Name)
		}
	}

	// Its CSRF token works with that cookie; signing in sets the session
	// and deletes the pre-session, both with the same attributes.
	form := url.Values{"email": {w.email}, "password": {testPassword}, "csrf": {csrfFor(t, e, pre)}, "return_to": {"/oauth/sign-in"}}
	req := mustRequest(t, http.MethodPost, e.URL("/oauth/sign-in"), form.Encode())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: pre.Name, Value: pre.Value})
	res = do(req)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	session := cookie(res, "__Host-oauthd_session")
	expectHostCookie(session, false)
	expectHostCookie(cookie(res, "__Host-oauthd_presession"), true)

	// The session works under its prefixed name; the unprefixed name
	// (which a sibling subdomain could plant) is not read.
	req = mustRequest(t, http.MethodGet, e.URL("/oauth/sign-in"), "")
	req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
	if p := b.do(req); !strings.Contains(p.text(), "Signed in as "+w.email) {
		t.Fatalf("with the session cookie: %s", p.text())
	}
	req = mustRequest(t, http.MethodGet, e.URL("/oauth/sign-in"), "")
	req.AddCookie(&http.Cookie{Name: "oauthd_session", Value: session.Value})
	if p := b.do(req); strings.Contains(p.text(), "Signed in") {
		t.Fatalf("an unprefixed session cookie was accepted: %s", p.text())
	}

	// Signing out deletes the session cookie with the same attributes.
	req = mustRequest(t, http.MethodGet, e.URL("/oauth/sign-in"), "")
	req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
	signedIn := b.do(req)
	out := signedIn.form(t, "/oauth/sign-out")
	req = mustRequest(t, http.MethodPost, e.URL("/oauth/sign-out"), out.values.Encode())
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: session.Name, Value: session.Value})
	res = do(req)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", res.StatusCode)
	}
	expectHostCookie(cookie(res, "__Host-oauthd_session"), true)
}

// csrfFor is the sign-in form's CSRF token for the pre-session cookie pre,
// read off the sign-in page fetched with that cookie.
func csrfFor(t *testing.T, e *apitest.Env, pre *http.Cookie) string {
	t.Helper()
	b := newBrowser(t, e)
	req := mustRequest(t, http.MethodGet, e.URL("/oauth/sign-in"), "")
	req.AddCookie(&http.Cookie{Name: pre.Name, Value: pre.Value})
	p := b.do(req)
	expectStatus(t, p, http.StatusOK)
	token := p.form(t, "/oauth/sign-in").values.Get("csrf")
	if token == "" {
		t.Fatal("no csrf token on the sign-in form")
	}
	return token
}

func mustRequest(t *testing.T, method, rawURL, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}
