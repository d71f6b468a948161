package oauth2_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
)

// sessionCookie is the browser's session cookie for e, "" when it has none.
func sessionCookie(t *testing.T, b *browser) string {
	t.Helper()
	u, _ := url.Parse(b.e.URL("/"))
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "oauthd_session" {
			return c.Value
		}
	}
	return ""
}

// signedInWith reports whether instance e takes the session cookie value
// as signed in (its sign-in page then offers only the sign-out form).
func signedInWith(t *testing.T, e *apitest.Env, cookie string) bool {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.URL("/oauth/sign-in"), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: "oauthd_session", Value: cookie})
	res, err := e.Browser().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = res.Body.Close() }()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("sign-in page: %d", res.StatusCode)
	}
	return strings.Contains(string(body), `action="/oauth/sign-out"`)
}

// Sessions are revocable, on every instance at once: signing out ends
// that session (a copy of its cookie no longer signs in anywhere), a
// password change ends all of the user's sessions, and so does removing
// the user.
func TestSessionsEndEverywhere(t *testing.T) {
	e := apitest.New(t)
	other := apitest.New(t, apitest.WithDatabaseURL(e.DatabaseURL), apitest.WithIssuer(e.Server.URL))
	uid := createUser(t, e, "ada@acme.test")
	signIn := func() string {
		b := newBrowser(t, e)
		expectStatus(t, b.signIn(b.get(e.URL("/oauth/sign-in")), "ada@acme.test"), http.StatusOK)
		c := sessionCookie(t, b)
		if c == "" || !signedInWith(t, e, c) || !signedInWith(t, other, c) {
			t.Fatal("a fresh session does not sign in on both instances")
		}
		return c
	}

	t.Run("sign-out ends that session", func(t *testing.T) {
		b := newBrowser(t, e)
		p := b.signIn(b.get(e.URL("/oauth/sign-in")), "ada@acme.test")
		kept, stolen := signIn(), sessionCookie(t, b)
		b.submit(p.form(t, "/oauth/sign-out"), nil)
		if signedInWith(t, other, stolen) || signedInWith(t, e, stolen) {
			t.Error("a copy of the signed-out cookie still signs in")
		}
		if !signedInWith(t, other, kept) {
			t.Error("signing out ended the user's other session too")
		}
	})
	t.Run("a password change ends them all", func(t *testing.T) {
		first, second := signIn(), signIn()
		e.Patch("/v2/users/"+uid, &e.Super, doc("user", map[string]any{"password": "another horse battery staple"})).
			ExpectStatus(t, http.StatusOK)
		if signedInWith(t, other, first) || signedInWith(t, e, second) {
			t.Error("a session outlived the password change")
		}
		e.Patch("/v2/users/"+uid, &e.Super, doc("user", map[string]any{"password": testPassword})).ExpectStatus(t, http.StatusOK)
	})
	t.Run("removing the user ends them all", func(t *testing.T) {
		c := signIn()
		e.Delete("/v2/users/"+uid, &e.Super).ExpectStatus(t, http.StatusNoContent)
		if signedInWith(t, other, c) {
			t.Error("a deleted user's session still signs in")
		}
	})
}
