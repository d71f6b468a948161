package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/oauth2"

	"github.com/oauthd/oauthd/api/apitest"
)

func TestAPIKeysShownOnce(t *testing.T) {
	e := apitest.New(t)
	p := newPerson(t, e)
	b := newBrowser(t, e)
	b.signIn(p)
	acct := b.get("/console/account").expect(http.StatusOK)
	if strings.Contains(string(acct.Body), p.Key) || acct.Doc.Find("table#api-key-list tbody tr").Length() != 1 {
		t.Fatal("the account page shows a key, or not the one key")
	}
	empty := b.submit(acct, "create-api-key", map[string]string{"name": ""}).expect(http.StatusUnprocessableEntity)
	if empty.fieldError("name") == "" {
		t.Error("no problem next to the name")
	}
	made := b.submit(acct, "create-api-key", map[string]string{"name": "laptop"}).expect(http.StatusCreated)
	key := made.testid("api-key")
	me := e.Get("/v2/users/me", &apitest.Creds{Email: p.Email, Key: key})
	if me.Status != http.StatusOK {
		t.Fatalf("the new key does not work: %d", me.Status)
	}
	acct = b.get("/console/account")
	if strings.Contains(string(acct.Body), key) || acct.Doc.Find("table#api-key-list tbody tr").Length() != 2 {
		t.Error("after leaving the page the key is shown again, or is not listed")
	}
	row := acct.Doc.Find("table#api-key-list tbody tr").FilterFunction(func(_ int, s *goquery.Selection) bool {
		return strings.Contains(s.Text(), "laptop")
	})
	b.submit(acct, row.Find("form").AttrOr("id", ""), nil).expect(http.StatusOK)
	if e.Get("/v2/users/me", &apitest.Creds{Email: p.Email, Key: key}).Status != http.StatusUnauthorized {
		t.Error("a deleted key still works")
	}
}

func TestChangePassword(t *testing.T) {
	e := apitest.New(t)
	p := newPerson(t, e)
	b := newBrowser(t, e)
	b.signIn(p)
	acct := b.get("/console/account")
	wrong := b.submit(acct, "change-password", map[string]string{"current_password": "nope", "password": "a brand new password", "password_again": "a brand new password"})
	wrong.expect(http.StatusUnprocessableEntity)
	if wrong.fieldError("current_password") == "" {
		t.Errorf("wrong current password: no problem next to it:\n%s", wrong.text())
	}
	differ := b.submit(acct, "change-password", map[string]string{"current_password": p.Password, "password": "a brand new password", "password_again": "another one"})
	if differ.Status != http.StatusUnprocessableEntity || differ.fieldError("password_again") == "" {
		t.Errorf("passwords that differ: %d", differ.Status)
	}
	b.submit(acct, "change-password", map[string]string{"current_password": p.Password, "password": "a brand new password", "password_again": "a brand new password"})
	// The new password signs in; the old one no longer does.
	p2 := p
	p2.Password = "a brand new password"
	if pg := newBrowser(t, e).signIn(p2); pg.URL.Path != "/console" {
		t.Errorf("new password: ended at %s", pg.URL)
	}
	if pg := newBrowser(t, e).signIn(p); pg.Status != http.StatusUnauthorized {
		t.Errorf("old password: %d, want 401", pg.Status)
	}
}

// approveApp runs the authorization code flow as a person in the browser
// and returns the application's token.
func approveApp(t *testing.T, e *apitest.Env, b *browser, conf *oauth2.Config) *oauth2.Token {
	t.Helper()
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier))
	u, _ := url.Parse(authURL)
	consent := b.get(u.RequestURI()).expect(http.StatusOK)
	f := consent.Doc.Find(`form[action="/oauth/authorize"]`)
	vals := formValues(f)
	vals.Set("decision", "approve")
	b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	defer func() { b.client.CheckRedirect = nil }()
	back := b.post("/oauth/authorize", vals)
	loc, err := url.Parse(back.Header.Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		t.Fatalf("consent answered %d, Location %q", back.Status, back.Header.Get("Location"))
	}
	tok, err := conf.Exchange(e.OAuth2Context(context.Background()), loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestRevokeAnAuthorizedApplication(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	p := newMember(t, e, tid, []string{"viewer"}, nil)
	made := e.Post("/v2/tenants/"+tid+"/api-clients", &e.Super, doc("api-client", map[string]any{"name": "Dashboard",
		"client_type": "confidential", "grant_types": []string{"authorization_code", "refresh_token"},
		"redirect_uris": []string{"https://dashboard.example/cb"}, "scopes": []string{"tenants.flows.get"}}, nil)).
		ExpectStatus(t, http.StatusCreated)
	id, _ := made.Attr(t, "client_id").(string)
	secret, _ := made.Attr(t, "client_secret").(string)
	conf := &oauth2.Config{ClientID: id, ClientSecret: secret, RedirectURL: "https://dashboard.example/cb",
		Scopes: []string{"tenants.flows.get"}, Endpoint: oauth2.Endpoint{AuthURL: e.URL("/oauth/authorize"), TokenURL: e.URL("/oauth/token")}}

	b := newBrowser(t, e)
	b.signIn(p)
	if !b.get("/console/account").has("#no-applications") {
		t.Error("a new user has authorized applications")
	}
	tok := approveApp(t, e, b, conf)
	if s := bearerStatus(t, e, tid, tok.AccessToken); s != http.StatusOK {
		t.Fatalf("the application's token: %d", s)
	}

	acct := b.get("/console/account").expect(http.StatusOK)
	forms := acct.Doc.Find(`form[id^="revoke-grant"]`)
	row := acct.Doc.Find("table#authorized-applications tbody tr")
	if forms.Length() != 1 || !strings.Contains(row.Text(), "Dashboard") || !strings.Contains(row.Text(), "tenants.flows.get") {
		t.Fatalf("authorized applications:\n%s", acct.text())
	}
	if strings.Contains(string(acct.Body), tok.AccessToken) || strings.Contains(string(acct.Body), tok.RefreshToken) {
		t.Error("the account page shows a token")
	}
	done := b.submit(acct, forms.AttrOr("id", ""), nil).expect(http.StatusOK)
	if !done.has("#no-applications") || !strings.Contains(done.text(), "Access revoked") {
		t.Errorf("after revoking:\n%s", done.text())
	}
	if s := bearerStatus(t, e, tid, tok.AccessToken); s != http.StatusUnauthorized {
		t.Errorf("access token after the revocation: %d, want 401", s)
	}
	if _, err := conf.TokenSource(e.OAuth2Context(context.Background()), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Error("the refresh token still works after the revocation")
	}
	events := e.Get("/v2/tenants/"+tid+"/audit-events?filter[action]=authorization.revoke", &e.Super).List(t)
	if len(events) != 1 {
		t.Errorf("%d authorization.revoke events, want 1", len(events))
	}
}
