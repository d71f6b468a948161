package console_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/oauth2"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/internal/jobs"
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

// fromAddress makes b's requests come from address (X-Forwarded-For; the
// test server trusts loopback as its proxy).
func fromAddress(b *browser, address string) *browser {
	next := b.client.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	b.client.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("X-Forwarded-For", address)
		return next.RoundTrip(r)
	})
	return b
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A wrong current password on the password form spends the shared
// failure budgets: ten a minute for the user, from any address, so a
// stolen session cannot be used to guess the password; then 429 with
// Retry-After even with the right password, which stays unchanged. A
// right current password spends nothing. Thirty failures from one
// address, of any users, stop sign-ins from that address too.
func TestChangePasswordSpendsTheFailureBudgets(t *testing.T) {
	_, loopback, _ := net.ParseCIDR("127.0.0.0/8")
	// The budgets refill with time: on a clock standing still, a slow
	// machine's minute cannot give a failure back mid-test.
	e := apitest.New(t, apitest.WithTrustedProxies(loopback), apitest.WithClock(jobs.NewManualClock(time.Now())))
	tid := newTenant(t, e)
	change := func(b *browser, current, next string) *page {
		acct := b.get("/console/account").expect(http.StatusOK)
		return b.submit(acct, "change-password", map[string]string{"current_password": current, "password": next, "password_again": next})
	}
	p := newMember(t, e, tid, []string{"viewer"}, nil)
	thief := fromAddress(newBrowser(t, e), "203.0.113.7")
	thief.signIn(p)
	for i := range 10 {
		pg := change(thief, "guess-"+strconv.Itoa(i), "a brand new password").expect(http.StatusUnprocessableEntity)
		if pg.fieldError("current_password") == "" {
			t.Fatalf("wrong password %d: no problem next to the field", i+1)
		}
	}
	spent := change(thief, p.Password, "a brand new password").expect(http.StatusTooManyRequests)
	if s, err := strconv.Atoi(spent.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After %q", spent.Header.Get("Retry-After"))
	}
	if !strings.Contains(spent.fieldError("current_password"), "Too many") {
		t.Errorf("the 429 page says nothing next to the current password:\n%s", spent.text())
	}
	// The user's budget holds from any address, and the password did not change.
	elsewhere := fromAddress(newBrowser(t, e), "198.51.100.9")
	if pg := elsewhere.signIn(p); pg.URL.Path != "/console" {
		t.Fatalf("the unchanged password no longer signs in: %s (%d)", pg.URL, pg.Status)
	}
	change(elsewhere, p.Password, "a brand new password").expect(http.StatusTooManyRequests)

	// Another user on the thief's address is not held by p's budget; a
	// right current password (even with a new one the rules refuse) gives
	// its reservation back, however often.
	q := newMember(t, e, tid, []string{"viewer"}, nil)
	qb := fromAddress(newBrowser(t, e), "203.0.113.7")
	qb.signIn(q)
	for i := range 12 {
		if pg := change(qb, q.Password, "short"); pg.Status != http.StatusUnprocessableEntity || pg.fieldError("password") == "" {
			t.Fatalf("refused new password %d: %d, or no problem next to it", i+1, pg.Status)
		}
	}
	change(qb, q.Password, "another brand new password").expect(http.StatusOK)

	// Thirty failures from one address spend its budget of failures of
	// any kind, which the sign-in page shares.
	const crowd = "192.0.2.44"
	for range 3 {
		r := newMember(t, e, tid, []string{"viewer"}, nil)
		rb := fromAddress(newBrowser(t, e), crowd)
		rb.signIn(r)
		for i := range 10 {
			change(rb, "guess-"+strconv.Itoa(i), "a brand new password").expect(http.StatusUnprocessableEntity)
		}
	}
	late := newMember(t, e, tid, []string{"viewer"}, nil)
	if pg := fromAddress(newBrowser(t, e), crowd).signIn(late); pg.Status != http.StatusTooManyRequests {
		t.Errorf("sign-in from an address with thirty wrong passwords: %d, want 429", pg.Status)
	}
}
