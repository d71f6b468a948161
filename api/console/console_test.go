package console_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/oauthd/oauthd/api/apitest"
)

func TestSignedOutGoesToSignInAndBack(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	other := newTenant(t, e)
	p := newMember(t, e, tid, []string{"viewer"}, nil)

	b := newBrowser(t, e)
	b.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, path := range []string{"/console", "/console/account", "/console/tenants/" + tid + "/oauth-clients?component=x"} {
		pg := b.get(path).expect(http.StatusSeeOther)
		loc, err := url.Parse(pg.Header.Get("Location"))
		if err != nil || loc.Path != "/oauth/sign-in" || loc.Query().Get("return_to") != path {
			t.Errorf("%s signed out: Location %q, want the sign-in page coming back here", path, pg.Header.Get("Location"))
		}
	}
	b = newBrowser(t, e)
	home := b.signInAt("/console/tenants/"+tid, p).expect(http.StatusOK)
	if home.URL.Path != "/console/tenants/"+tid {
		t.Fatalf("after sign-in: %s, want back at the tenant's page", home.URL)
	}
	home = b.get("/console").expect(http.StatusOK)
	links := home.Doc.Find("#tenants a")
	if links.Length() != 1 || links.AttrOr("href", "") != "/console/tenants/"+tid {
		t.Errorf("tenants listed: %d, first %q; want only the user's own", links.Length(), links.AttrOr("href", ""))
	}
	if strings.Contains(string(home.Body), other) {
		t.Error("the home page names a tenant the user is not a member of")
	}
	// Signing out (the header's form) ends the console session.
	out := b.submitForm(home, home.Doc.Find(`form[action="/oauth/sign-out"]`), nil)
	if out.URL.Path != "/oauth/sign-in" {
		t.Errorf("after sign-out: %s", out.URL)
	}
}

func TestPagesCarryStrictHeaders(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	b := newBrowser(t, e)
	b.signIn(newMember(t, e, tid, []string{"owner"}, nil))
	pg := b.get("/console/tenants/" + tid + "/api-clients/new").expect(http.StatusOK)
	csp := pg.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe") {
		t.Errorf("CSP allows unsafe sources: %q", csp)
	}
	if pg.Header.Get("Cache-Control") != "no-store" || pg.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers %v", pg.Header)
	}
	// Nothing inline: no style attributes, no inline scripts, no handlers,
	// and every script and stylesheet comes from this server.
	if n := pg.Doc.Find("[style], style, script:not([src])").Length(); n > 0 {
		t.Errorf("%d inline styles or scripts, which the CSP would block", n)
	}
	pg.Doc.Find("script[src], link[rel=stylesheet]").Each(func(_ int, s *goquery.Selection) {
		src := s.AttrOr("src", s.AttrOr("href", ""))
		if !strings.HasPrefix(src, "/console/static/") {
			t.Errorf("asset from elsewhere: %q", src)
		}
		asset := b.get(src).expect(http.StatusOK)
		if len(asset.Body) < 100 {
			t.Errorf("%s is empty", src)
		}
	})
	// Every control has a label.
	pg.Doc.Find("input:not([type=hidden]), select, textarea").Each(func(_ int, s *goquery.Selection) {
		id := s.AttrOr("id", "")
		if id == "" || (pg.Doc.Find(`label[for="`+id+`"]`).Length() == 0 && s.AttrOr("aria-label", "") == "") {
			if _, hidden := s.Attr("hidden"); !hidden {
				t.Errorf("control %s without a label", id)
			}
		}
	})
	if b.get("/console/static/nothing.js").Status != http.StatusNotFound {
		t.Error("an unknown static file was served")
	}
}

// Every form post of the console needs the session's token: without one,
// or with another session's, it is refused and changes nothing.
func TestEveryFormNeedsItsToken(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	owner := newMember(t, e, tid, []string{"owner"}, nil)
	comp := newOAuthComponent(t, e, tid, "crm")
	oc := newOAuthClient(t, e, tid, comp, "crm-client", "crm-secret-0123456789")

	mine := newBrowser(t, e)
	mine.signIn(owner)
	theirs := newBrowser(t, e)
	theirs.signIn(newMember(t, e, tid, []string{"owner"}, nil))
	otherToken := theirs.get("/console/account").Doc.Find("form#create-api-key input[name=csrf]").AttrOr("value", "")
	if otherToken == "" {
		t.Fatal("no token on the account page")
	}
	ids := strings.NewReplacer(":tid", tid, ":id", oc, ":sid", oc, ":uid", owner.UserID, ":kid", oc, ":cid", oc)
	n := 0
	for _, r := range e.App.Server.Echo().Routes() {
		if r.Method != http.MethodPost || !strings.HasPrefix(r.Path, "/console") {
			continue
		}
		n++
		path := ids.Replace(r.Path)
		for name, token := range map[string]string{"no token": "", "another session's token": otherToken} {
			form := url.Values{"name": {"x"}, "client_id": {"x"}, "client_secret": {"y"}, "component": {comp}}
			if token != "" {
				form.Set("csrf", token)
			}
			pg := mine.post(path, form)
			if pg.Status != http.StatusForbidden || !strings.Contains(pg.text(), "This form has expired") {
				t.Errorf("POST %s with %s: %d, want 403 'This form has expired'", r.Path, name, pg.Status)
			}
		}
	}
	if n < 20 {
		t.Errorf("only %d console form actions", n)
	}
	// Nothing was made or deleted.
	if got := e.Get("/v2/tenants/"+tid+"/oauth-clients", &e.Super).List(t); len(got) != 1 {
		t.Errorf("%d OAuth clients after refused posts, want 1", len(got))
	}
	if got := e.Get("/v2/tenants/"+tid+"/api-clients", &e.Super).List(t); len(got) != 0 {
		t.Errorf("%d API clients after refused posts, want 0", len(got))
	}
	// A form that is not url-encoded is a 400, not a crash.
	req, _ := http.NewRequest(http.MethodPost, e.URL("/console/tenants/"+tid+"/flows"), strings.NewReader(`{"name":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	if pg := mine.do(req); pg.Status != http.StatusBadRequest {
		t.Errorf("JSON post: %d, want 400", pg.Status)
	}
}

// A path under /console that no page serves answers the console's own
// 404 page (its layout, in HTML), signed in or not, never the API's
// JSON:API error; a method a page does not take is a 405 page saying so.
func TestUnknownConsolePathsAnswerAnHTMLPage(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	p := newMember(t, e, tid, []string{"owner"}, nil)
	signedOut := newBrowser(t, e)
	signedIn := newBrowser(t, e)
	signedIn.signIn(p)
	paths := []string{"/console/nope", "/console/tenants/" + tid + "/no-such-section", "/console/tenants/" + tid + "/api-clients/x/y/z",
		"/console/account/nope", "/console/static/nope.css"}
	for _, b := range []*browser{signedOut, signedIn} {
		for _, path := range paths {
			pg := b.get(path).expect(http.StatusNotFound)
			if ct := pg.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("%s: Content-Type %q, want the console's HTML page", path, ct)
			}
			if !pg.has("header.top a.brand") || pg.Doc.Find("main h1").Text() != "Not found" {
				t.Errorf("%s: not the console's 404 page:\n%s", path, pg.text())
			}
			if strings.Contains(pg.text(), p.Email) != (b == signedIn) {
				t.Errorf("%s: the header shows the signed-in user (%v) when it should not, or not when it should", path, b == signedIn)
			}
		}
	}
	post := signedIn.post("/console/nope", url.Values{"csrf": {"x"}}).expect(http.StatusNotFound)
	if !post.has("header.top") {
		t.Error("POST to an unknown console path: not the console's page")
	}
	// GET on a form's action (it takes POST only).
	wrong := signedIn.get("/console/account/password").expect(http.StatusMethodNotAllowed)
	if !strings.Contains(wrong.Header.Get("Allow"), http.MethodPost) || !wrong.has("header.top") {
		t.Errorf("GET on a POST-only page: Allow %q, or not the console's page", wrong.Header.Get("Allow"))
	}
	// Outside /console an unknown path is still the API's error.
	if r := e.Get("/v2/nope", &e.Super); r.Status != http.StatusNotFound || r.Header.Get("Content-Type") != "application/vnd.api+json" {
		t.Errorf("/v2/nope: %d %q", r.Status, r.Header.Get("Content-Type"))
	}
}
