package oauth2_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/net/html"
	"golang.org/x/oauth2"

	"github.com/oauthd/oauthd/api/apitest"
)

// The pages are tested as a browser uses them: a cookie jar, real HTTP,
// forms parsed out of the HTML and posted back with every hidden input.

const testPassword = "correct horse battery staple"

// world is a tenant with a member who has a password, and an API client.
type world struct {
	e        *apitest.Env
	tenantID string
	tenant   string
	email    string
	clientID string
	callback string
}

type clientSpec struct {
	name         string
	clientType   string
	grantTypes   []string
	redirectURIs []string
	scopes       []string
}

// newWorld creates the tenant, the member and the client through the API.
func newWorld(t *testing.T, e *apitest.Env, cs clientSpec) *world {
	t.Helper()
	w := &world{e: e, tenant: "acme", email: "ada@acme.test"}
	w.tenantID = e.Post("/v2/tenants", &e.Super, doc("tenant", map[string]any{"name": w.tenant})).ExpectStatus(t, http.StatusCreated).ID(t)
	uid := createUser(t, e, w.email)
	e.Post("/v2/tenants/"+w.tenantID+"/members", &e.Super, map[string]any{"data": map[string]any{
		"type": "member", "attributes": map[string]any{"roles": []string{"admin"}, "permissions": []string{}},
		"relationships": map[string]any{"user": map[string]any{"data": map[string]any{"type": "user", "id": uid}}},
	}}).ExpectStatus(t, http.StatusCreated)
	w.clientID = createClient(t, e, w.tenantID, cs)
	if len(cs.redirectURIs) > 0 {
		w.callback = cs.redirectURIs[0]
	}
	return w
}

func createUser(t *testing.T, e *apitest.Env, email string) string {
	t.Helper()
	return e.Post("/v2/users", &e.Super, doc("user", map[string]any{"email": email, "password": testPassword})).
		ExpectStatus(t, http.StatusCreated).ID(t)
}

// createClient uses the API clients management API.
func createClient(t *testing.T, e *apitest.Env, tenantID string, cs clientSpec) string {
	t.Helper()
	res := e.Do(apitest.Request{Method: http.MethodPost, Path: "/v2/tenants/" + tenantID + "/api-clients", Auth: &e.Super,
		Body: doc("api-client", map[string]any{
			"name": cs.name, "client_type": cs.clientType, "grant_types": cs.grantTypes,
			"redirect_uris": append([]string{}, cs.redirectURIs...), "roles": []string{}, "scopes": cs.scopes,
		})}).ExpectStatus(t, http.StatusCreated)
	id, _ := res.Attr(t, "client_id").(string)
	if id == "" {
		t.Fatalf("no client_id in %s", res.Body)
	}
	return id
}

func doc(typ string, attrs map[string]any) map[string]any {
	return map[string]any{"data": map[string]any{"type": typ, "attributes": attrs}}
}

// browser is a cookie-keeping HTTP client that follows redirects within
// oauthd and stops at the first one that leaves it (the client's callback);
// every answer, redirects included, is checked against openapi.yaml.
type browser struct {
	t      *testing.T
	e      *apitest.Env
	client *http.Client
}

func newBrowser(t *testing.T, e *apitest.Env) *browser {
	return &browser{t: t, e: e, client: e.Browser()}
}

// page is one response as the browser saw it.
type page struct {
	status int
	header http.Header
	url    *url.URL
	body   string
	doc    *html.Node
}

func (b *browser) do(req *http.Request) *page {
	b.t.Helper()
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer func() { _ = res.Body.Close() }()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	p := &page{status: res.StatusCode, header: res.Header, url: res.Request.URL, body: string(raw)}
	if strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		if p.doc, err = html.Parse(strings.NewReader(p.body)); err != nil {
			b.t.Fatalf("parse page: %v", err)
		}
	}
	return p
}

func (b *browser) get(rawURL string) *page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) *page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.e.URL(path), strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// form is a parsed <form>: its action and its inputs' values.
type form struct {
	action string
	values url.Values
	// buttons are the submit buttons' name=value pairs.
	buttons map[string][]string
}

// forms lists the page's forms.
func (p *page) forms() []form {
	var out []form
	for _, f := range apitest.FormsOf(p.doc) {
		out = append(out, form{action: f.Action, values: f.Values, buttons: f.Buttons})
	}
	return out
}

// form is the page's form posting to action; the test fails without one.
func (p *page) form(t *testing.T, action string) form {
	t.Helper()
	for _, f := range p.forms() {
		if f.action == action {
			return f
		}
	}
	t.Fatalf("no form posting to %s on the page (%d at %s):\n%s", action, p.status, p.url, p.body)
	return form{}
}

func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// text is the page's visible text, entities decoded and spaces collapsed.
func (p *page) text() string {
	var b strings.Builder
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "style" || n.Data == "head") {
			return
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			b.WriteString(" ")
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	if p.doc != nil {
		walk(p.doc)
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// problem is the text of the page's error box.
func (p *page) problem() string {
	var out string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && strings.Contains(attr(n, "class"), "problem") {
			out = (&page{doc: n}).text()
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	if p.doc != nil {
		walk(p.doc)
	}
	return out
}

// submit posts the form back as a browser would: every input as it came,
// with the fields a user typed, and the button pressed (name=value).
func (b *browser) submit(f form, typed map[string]string, button ...string) *page {
	b.t.Helper()
	v := url.Values{}
	for k, vs := range f.values {
		v[k] = append([]string(nil), vs...)
	}
	for k, val := range typed {
		v.Set(k, val)
	}
	if len(button) == 2 {
		found := false
		for _, bv := range f.buttons[button[0]] {
			found = found || bv == button[1]
		}
		if !found {
			b.t.Fatalf("the form has no button %s=%s (buttons: %v)", button[0], button[1], f.buttons)
		}
		v.Set(button[0], button[1])
	}
	return b.post(f.action, v)
}

// signIn fills in the sign-in form on p.
func (b *browser) signIn(p *page, email string) *page {
	b.t.Helper()
	return b.submit(p.form(b.t, "/oauth/sign-in"), map[string]string{"email": email, "password": testPassword})
}

func expectStatus(t *testing.T, p *page, want int) {
	t.Helper()
	if p.status != want {
		t.Fatalf("status %d at %s, want %d:\n%s", p.status, p.url, want, p.body)
	}
}

// expectPageHeaders checks what every page must carry.
func expectPageHeaders(t *testing.T, p *page) {
	t.Helper()
	csp := p.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "form-action 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
		}
	}
	if got := p.header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options = %q", got)
	}
	if got := p.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}
	if got := p.header.Get("Content-Type"); !strings.HasPrefix(got, "text/html") {
		t.Errorf("Content-Type = %q", got)
	}
	if strings.Contains(strings.ToLower(p.body), "<script") {
		t.Errorf("the page has a script")
	}
}

func deviceWorld(t *testing.T, opts ...apitest.Option) (*world, *oauth2.Config) {
	e := apitest.New(t, opts...)
	w := newWorld(t, e, clientSpec{name: "oauthd CLI", clientType: "public",
		grantTypes: []string{"urn:ietf:params:oauth:grant-type:device_code", "refresh_token"},
		scopes:     []string{"tenants.oauth_clients.get"}})
	cfg := &oauth2.Config{ClientID: w.clientID, Scopes: []string{"tenants.oauth_clients.get"},
		Endpoint: oauth2.Endpoint{DeviceAuthURL: e.URL("/oauth/device_authorization"), TokenURL: e.URL("/oauth/token"),
			AuthStyle: oauth2.AuthStyleInParams}}
	return w, cfg
}

// approveDevice signs in on the device page and answers the consent with
// decision, typing the code as given.
func approveDevice(t *testing.T, w *world, verificationURI, typed, decision string) *page {
	t.Helper()
	b := newBrowser(t, w.e)
	p := b.get(verificationURI)
	expectStatus(t, p, http.StatusOK)
	p = b.signIn(p, w.email)
	expectStatus(t, p, http.StatusOK)
	if p.url.Path != "/device" {
		t.Fatalf("after sign-in the browser is at %s, want /device", p.url)
	}
	expectPageHeaders(t, p)
	p = b.submit(p.form(t, "/device"), map[string]string{"user_code": typed})
	expectStatus(t, p, http.StatusOK)
	text := p.text()
	for _, want := range []string{"oauthd CLI", w.tenant, "Read the tenant's OAuth clients"} {
		if !strings.Contains(text, want) {
			t.Errorf("device consent page lacks %q: %s", want, text)
		}
	}
	return b.submit(p.form(t, "/device/decision"), nil, "decision", decision)
}

func TestDeviceFlowApproved(t *testing.T) {
	w, cfg := deviceWorld(t)
	ctx := w.e.OAuth2Context(context.Background())
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		t.Fatalf("device authorization: %v", err)
	}
	if da.VerificationURI != w.e.URL("/device") || len(da.UserCode) != 9 || da.UserCode[4] != '-' {
		t.Fatalf("device authorization response: %+v", da)
	}
	// Typed in lower case, without the dash.
	done := approveDevice(t, w, da.VerificationURI, strings.ToLower(strings.ReplaceAll(da.UserCode, "-", "")), "approve")
	expectStatus(t, done, http.StatusOK)
	if !strings.Contains(done.text(), "You may return to your device") {
		t.Errorf("done page: %s", done.text())
	}
	da.Interval = 1 // the approval is in; no need to wait the advertised 5 s before polling
	tok, err := cfg.DeviceAccessToken(ctx, da)
	if err != nil {
		t.Fatalf("device access token: %v", err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.Extra("scope") != "tenants.oauth_clients.get" {
		t.Fatalf("token: %+v scope=%v", tok, tok.Extra("scope"))
	}
	res := w.e.Do(apitest.Request{Method: http.MethodGet, Path: "/v2/tenants/" + w.tenantID + "/oauth-clients",
		Header: http.Header{"Authorization": {"Bearer " + tok.AccessToken}}})
	res.ExpectStatus(t, http.StatusOK)

	// The code is used up: entering it again finds nothing.
	b := newBrowser(t, w.e)
	p := b.signIn(b.get(w.e.URL("/device")), w.email)
	p = b.submit(p.form(t, "/device"), map[string]string{"user_code": da.UserCode})
	expectStatus(t, p, http.StatusBadRequest)
	if !strings.Contains(p.problem(), "not valid or has expired") {
		t.Errorf("problem: %q", p.problem())
	}
}

func TestDeviceFlowDenied(t *testing.T) {
	w, cfg := deviceWorld(t)
	ctx := w.e.OAuth2Context(context.Background())
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// verification_uri_complete prefills the code.
	b := newBrowser(t, w.e)
	p := b.signIn(b.get(da.VerificationURIComplete), w.email)
	expectStatus(t, p, http.StatusOK)
	f := p.form(t, "/device")
	if got := f.values.Get("user_code"); got != da.UserCode {
		t.Fatalf("prefilled user_code = %q, want %q", got, da.UserCode)
	}
	p = b.submit(f, nil)
	expectStatus(t, p, http.StatusOK)
	p = b.submit(p.form(t, "/device/decision"), nil, "decision", "deny")
	expectStatus(t, p, http.StatusOK)
	if !strings.Contains(p.text(), "Request denied") {
		t.Errorf("page: %s", p.text())
	}
	da.Interval = 1
	_, err = cfg.DeviceAccessToken(ctx, da)
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "access_denied" {
		t.Fatalf("after deny: %v, want access_denied", err)
	}
}

func TestDevicePageErrors(t *testing.T) {
	w, cfg := deviceWorld(t)
	b := newBrowser(t, w.e)
	p := b.signIn(b.get(w.e.URL("/device")), w.email)
	expectStatus(t, p, http.StatusOK)
	f := p.form(t, "/device")

	t.Run("unknown code", func(t *testing.T) {
		p := b.submit(f, map[string]string{"user_code": "BCDF-GHJK"})
		expectStatus(t, p, http.StatusBadRequest)
		if !strings.Contains(p.problem(), "not valid or has expired") {
			t.Errorf("problem: %q", p.problem())
		}
		p.form(t, "/device") // the form again
		p = b.submit(f, map[string]string{"user_code": "not a code!"})
		expectStatus(t, p, http.StatusBadRequest)
	})
	t.Run("missing csrf", func(t *testing.T) {
		v := url.Values{"user_code": {"BCDF-GHJK"}}
		p := b.post("/device", v)
		expectStatus(t, p, http.StatusForbidden)
		expectPageHeaders(t, p)
	})
	t.Run("csrf of another form", func(t *testing.T) {
		da, err := cfg.DeviceAuth(w.e.OAuth2Context(context.Background()))
		if err != nil {
			t.Fatal(err)
		}
		// The code form's token does not work for the decision.
		v := url.Values{"user_code": {da.UserCode}, "csrf": {f.values.Get("csrf")}, "decision": {"approve"}}
		p := b.post("/device/decision", v)
		expectStatus(t, p, http.StatusForbidden)
	})
	t.Run("not a member", func(t *testing.T) {
		da, err := cfg.DeviceAuth(w.e.OAuth2Context(context.Background()))
		if err != nil {
			t.Fatal(err)
		}
		createUser(t, w.e, "outsider@else.test")
		ob := newBrowser(t, w.e)
		p := ob.signIn(ob.get(da.VerificationURIComplete), "outsider@else.test")
		p = ob.submit(p.form(t, "/device"), nil)
		expectStatus(t, p, http.StatusForbidden)
		if !strings.Contains(p.text(), "not a member") || strings.Contains(p.text(), w.tenant) {
			t.Errorf("not-a-member page: %s", p.text())
		}
	})
	t.Run("signed out", func(t *testing.T) {
		anon := newBrowser(t, w.e)
		p := anon.get(w.e.URL("/device?user_code=BCDF-GHJK"))
		expectStatus(t, p, http.StatusOK)
		if got := p.form(t, "/oauth/sign-in").values.Get("return_to"); got != "/device?user_code=BCDF-GHJK" {
			t.Errorf("return_to = %q", got)
		}
	})
}

func TestSignIn(t *testing.T) {
	e := apitest.New(t)
	w := newWorld(t, e, clientSpec{name: "web", clientType: "public", grantTypes: []string{"authorization_code"},
		redirectURIs: []string{"http://127.0.0.1:43117/cb"}, scopes: []string{"tenants.oauth_clients.get"}})
	_ = w

	t.Run("wrong password and unknown email look alike", func(t *testing.T) {
		e := e.For(t)
		b := newBrowser(t, e)
		p := b.get(e.URL("/oauth/sign-in"))
		expectStatus(t, p, http.StatusOK)
		expectPageHeaders(t, p)
		f := p.form(t, "/oauth/sign-in")
		wrong := b.submit(f, map[string]string{"email": w.email, "password": "not the password"})
		expectStatus(t, wrong, http.StatusUnauthorized)
		unknown := b.submit(f, map[string]string{"email": "nobody@acme.test", "password": testPassword})
		expectStatus(t, unknown, http.StatusUnauthorized)
		if wrong.problem() == "" || wrong.problem() != unknown.problem() {
			t.Fatalf("problems differ: %q vs %q", wrong.problem(), unknown.problem())
		}
		// The form is shown again, ready for another try.
		unknown.form(t, "/oauth/sign-in")
		for _, c := range b.client.Jar.Cookies(mustURL(t, e.URL("/"))) {
			if c.Name == "oauthd_session" {
				t.Fatalf("a failed sign-in set a session")
			}
		}
	})

	t.Run("session cookie", func(t *testing.T) {
		e := e.For(t)
		b := newBrowser(t, e)
		f := b.get(e.URL("/oauth/sign-in")).form(t, "/oauth/sign-in")
		f.values.Set("email", strings.ToUpper(w.email)) // emails match whatever their case
		f.values.Set("password", testPassword)
		req, _ := http.NewRequest(http.MethodPost, e.URL("/oauth/sign-in"), strings.NewReader(f.values.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		stop := *b.client
		stop.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		res, err := stop.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/oauth/sign-in" {
			t.Fatalf("sign-in: %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		var session *http.Cookie
		for _, c := range res.Cookies() {
			if c.Name == "oauthd_session" {
				session = c
			}
		}
		if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Path != "/" ||
			session.MaxAge != 12*3600 || session.Secure {
			t.Fatalf("session cookie: %+v", session)
		}
		p := b.get(e.URL("/oauth/sign-in"))
		if !strings.Contains(p.text(), "Signed in as "+w.email) {
			t.Fatalf("signed-in page: %s", p.text())
		}

		// A tampered cookie is no session.
		jar, _ := cookiejar.New(nil)
		tampered := *session
		payload, sig, _ := strings.Cut(session.Value, ".")
		raw, err := base64.RawURLEncoding.DecodeString(payload)
		if err != nil || len(raw) < 16 {
			t.Fatalf("session cookie value %q", session.Value)
		}
		root := uuid.MustParse(e.Super.UserID) // someone else, under the old signature
		copy(raw, root[:])
		tampered.Value = base64.RawURLEncoding.EncodeToString(raw) + "." + sig
		jar.SetCookies(mustURL(t, e.URL("/")), []*http.Cookie{&tampered})
		forged := newBrowser(t, e)
		forged.client.Jar = jar
		if p := forged.get(e.URL("/oauth/sign-in")); strings.Contains(p.text(), "Signed in") {
			t.Fatalf("a forged session cookie was accepted: %s", p.text())
		}

		// Signing out ends the session.
		p = b.submit(p.form(t, "/oauth/sign-out"), nil)
		expectStatus(t, p, http.StatusOK)
		p.form(t, "/oauth/sign-in")
	})

	t.Run("missing csrf", func(t *testing.T) {
		e := e.For(t)
		b := newBrowser(t, e)
		f := b.get(e.URL("/oauth/sign-in")).form(t, "/oauth/sign-in")
		f.values.Del("csrf")
		p := b.submit(f, map[string]string{"email": w.email, "password": testPassword})
		expectStatus(t, p, http.StatusForbidden)
		// Without the pre-session cookie the token is no good either.
		f = b.get(e.URL("/oauth/sign-in")).form(t, "/oauth/sign-in")
		fresh := newBrowser(t, e)
		p = fresh.submit(f, map[string]string{"email": w.email, "password": testPassword})
		expectStatus(t, p, http.StatusForbidden)
	})

	t.Run("return_to stays on this site", func(t *testing.T) {
		e := e.For(t)
		for _, target := range []string{"//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"} {
			b := newBrowser(t, e)
			f := b.get(e.URL("/oauth/sign-in")).form(t, "/oauth/sign-in")
			f.values.Set("return_to", target)
			p := b.submit(f, map[string]string{"email": w.email, "password": testPassword})
			expectStatus(t, p, http.StatusOK)
			if p.url.String() != e.URL("/oauth/sign-in") {
				t.Errorf("return_to %q led to %s", target, p.url)
			}
		}
	})
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestScopeWordsOnConsent(t *testing.T) {
	e := apitest.New(t)
	w := newWorld(t, e, clientSpec{name: "dashboard", clientType: "confidential", grantTypes: []string{"authorization_code"},
		redirectURIs: []string{"https://dash.example/cb"},
		scopes:       []string{"role:viewer", "tenants.flows.*", "tenants.oauth_clients.get"}})
	b := newBrowser(t, e)
	q := url.Values{"response_type": {"code"}, "client_id": {w.clientID}, "redirect_uri": {w.callback},
		"scope": {"role:viewer tenants.flows.*"}, "state": {"s"}}
	p := b.signIn(b.get(e.URL("/oauth/authorize?"+q.Encode())), w.email)
	expectStatus(t, p, http.StatusOK)
	expectPageHeaders(t, p)
	text := p.text()
	for _, want := range []string{
		"Everything the viewer role may do:", "Read the tenant's OAuth clients", "Read the tenant's components",
		"All of:", "Create flows in the tenant", "Delete the tenant's flows", "dashboard", w.tenant,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("consent page lacks %q:\n%s", want, text)
		}
	}
	if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' https://dash.example") {
		t.Errorf("CSP %q does not let the consent form's redirect reach the client", csp)
	}
	f := p.form(t, "/oauth/authorize")
	if got := fmt.Sprint(f.buttons["decision"]); got != "[approve deny]" {
		t.Errorf("decision buttons: %s", got)
	}
}
