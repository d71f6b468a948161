package console_test

// Shared helpers of the console tests: a cookie-keeping browser that signs
// in through /oauth/sign-in, pages parsed with goquery, forms submitted as
// a browser would (hidden inputs included), and the tenants, users and
// members the pages show, made through the JSON:API as a user would.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/oauthd/oauthd/api/apitest"
)

func uniq() string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func doc(typ string, attrs map[string]any, rels map[string]any) map[string]any {
	data := map[string]any{"type": typ}
	if attrs != nil {
		data["attributes"] = attrs
	}
	if rels != nil {
		data["relationships"] = rels
	}
	return map[string]any{"data": data}
}

func rel(typ, id string) map[string]any {
	return map[string]any{"data": map[string]any{"type": typ, "id": id}}
}

func rels(typ string, ids ...string) map[string]any {
	list := []any{}
	for _, id := range ids {
		list = append(list, map[string]any{"type": typ, "id": id})
	}
	return map[string]any{"data": list}
}

// person is a user who signs in to the console with a password; Creds
// are their basic-auth credentials for the API.
type person struct {
	apitest.Creds
	Password string
}

func newTenant(t testing.TB, e *apitest.Env) string {
	t.Helper()
	return e.Post("/v2/tenants", &e.Super, doc("tenant", map[string]any{"name": "tenant-" + uniq()}, nil)).
		ExpectStatus(t, http.StatusCreated).ID(t)
}

func newPerson(t testing.TB, e *apitest.Env) person {
	t.Helper()
	email, pw := "user-"+uniq()+"@example.test", "correct horse "+uniq()
	uid := e.Post("/v2/users", &e.Super, doc("user", map[string]any{"email": email, "password": pw}, nil)).
		ExpectStatus(t, http.StatusCreated).ID(t)
	k := e.Post("/v2/users/"+uid+"/api-keys", &e.Super, doc("api-key", map[string]any{"name": "test"}, nil)).
		ExpectStatus(t, http.StatusCreated)
	key, _ := k.Attr(t, "key").(string)
	return person{Creds: apitest.Creds{UserID: uid, Email: email, Key: key}, Password: pw}
}

func addMember(t testing.TB, e *apitest.Env, tid string, p person, roles, perms []string) {
	t.Helper()
	if roles == nil {
		roles = []string{}
	}
	if perms == nil {
		perms = []string{}
	}
	e.Post("/v2/tenants/"+tid+"/members", &e.Super, doc("member", map[string]any{"roles": roles, "permissions": perms},
		map[string]any{"user": rel("user", p.UserID)})).ExpectStatus(t, http.StatusCreated)
}

func newMember(t testing.TB, e *apitest.Env, tid string, roles, perms []string) person {
	t.Helper()
	p := newPerson(t, e)
	addMember(t, e, tid, p, roles, perms)
	return p
}

func oauthDescriptor() map[string]any {
	return map[string]any{"useOAuthClient": true, "oauth2": map[string]any{"client_id": "", "client_secret": "",
		"auth_uri": "https://auth.example.test/authorize", "token_uri": "https://auth.example.test/token"}}
}

func newOAuthComponent(t testing.TB, e *apitest.Env, tid, name string) string {
	t.Helper()
	return e.Post("/v2/tenants/"+tid+"/components", &e.Super, doc("component",
		map[string]any{"name": name, "descriptor": oauthDescriptor()}, nil)).ExpectStatus(t, http.StatusCreated).ID(t)
}

func newOAuthClient(t testing.TB, e *apitest.Env, tid, componentID, clientID, secret string) string {
	t.Helper()
	return e.Post("/v2/tenants/"+tid+"/oauth-clients", &e.Super, doc("oauth-client",
		map[string]any{"client_id": clientID, "client_secret": secret},
		map[string]any{"component": rel("component", componentID)})).ExpectStatus(t, http.StatusCreated).ID(t)
}

func newFlow(t testing.TB, e *apitest.Env, tid, name string, componentIDs ...string) string {
	t.Helper()
	return e.Post("/v2/tenants/"+tid+"/flows", &e.Super, doc("flow", map[string]any{"name": name},
		map[string]any{"components": rels("component", componentIDs...)})).ExpectStatus(t, http.StatusCreated).ID(t)
}

// browser is a cookie-keeping client that follows redirects on the
// server, with every answer checked against openapi.yaml.
type browser struct {
	t      testing.TB
	e      *apitest.Env
	client *http.Client
}

func newBrowser(t testing.TB, e *apitest.Env) *browser {
	return &browser{t: t, e: e, client: e.Browser()}
}

// page is an answer, parsed.
type page struct {
	t      testing.TB
	Status int
	Header http.Header
	URL    *url.URL
	Body   []byte
	Doc    *goquery.Document
}

func (b *browser) do(req *http.Request) *page {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	d, err := goquery.NewDocumentFromReader(bytes.NewReader(body))
	if err != nil {
		b.t.Fatalf("parse %s: %v", resp.Request.URL, err)
	}
	return &page{t: b.t, Status: resp.StatusCode, Header: resp.Header, URL: resp.Request.URL, Body: body, Doc: d}
}

func (b *browser) get(path string) *page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.e.URL(path), nil)
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

// signIn signs p in through the sign-in page that /console sends to,
// and returns the page it comes back to.
func (b *browser) signIn(p person) *page {
	b.t.Helper()
	return b.signInAt("/console", p)
}

func (b *browser) signInAt(path string, p person) *page {
	b.t.Helper()
	pg := b.get(path)
	if pg.URL.Path != "/oauth/sign-in" {
		b.t.Fatalf("%s did not lead to the sign-in page but to %s", path, pg.URL)
	}
	return b.submitForm(pg, pg.Doc.Find(`form[action="/oauth/sign-in"]`), map[string]string{"email": p.Email, "password": p.Password})
}

// submit posts the form with id, as the page holds it (hidden inputs,
// checked boxes, selected options, the first submit button's value), with
// typed values replacing or adding fields.
func (b *browser) submit(pg *page, id string, typed map[string]string) *page {
	b.t.Helper()
	f := pg.Doc.Find("form#" + id)
	if f.Length() != 1 {
		b.t.Fatalf("page %s (%d) has no form #%s:\n%s", pg.URL, pg.Status, id, pg.text())
	}
	return b.submitForm(pg, f, typed)
}

func (b *browser) submitForm(pg *page, f *goquery.Selection, typed map[string]string) *page {
	b.t.Helper()
	vals := formValues(f)
	for k, v := range typed {
		vals.Set(k, v)
	}
	action, _ := f.Attr("action")
	method, _ := f.Attr("method")
	target := pg.URL.ResolveReference(mustParse(b.t, action))
	if strings.EqualFold(method, "get") {
		target.RawQuery = vals.Encode()
		return b.get(target.RequestURI())
	}
	return b.post(target.RequestURI(), vals)
}

// formValues are what a browser would send of a form before typing.
func formValues(f *goquery.Selection) url.Values {
	vals := url.Values{}
	f.Find("input").Each(func(_ int, in *goquery.Selection) {
		name, ok := in.Attr("name")
		if !ok {
			return
		}
		typ, _ := in.Attr("type")
		val, _ := in.Attr("value")
		switch typ {
		case "checkbox", "radio":
			if _, checked := in.Attr("checked"); checked {
				vals.Add(name, val)
			}
		case "submit":
		default:
			vals.Add(name, val)
		}
	})
	f.Find("select").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		opt := s.Find("option[selected]")
		if opt.Length() == 0 {
			opt = s.Find("option").First()
		}
		v, _ := opt.Attr("value")
		vals.Set(name, v)
	})
	f.Find("textarea").Each(func(_ int, s *goquery.Selection) {
		name, _ := s.Attr("name")
		vals.Set(name, s.Text())
	})
	if btn := f.Find("button[type=submit][name]").First(); btn.Length() == 1 {
		name, _ := btn.Attr("name")
		v, _ := btn.Attr("value")
		vals.Set(name, v)
	}
	return vals
}

func mustParse(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// text is the page's visible text, spaces collapsed.
func (p *page) text() string { return strings.Join(strings.Fields(p.Doc.Find("body").Text()), " ") }

// expect fails unless the answer has status.
func (p *page) expect(status int) *page {
	p.t.Helper()
	if p.Status != status {
		p.t.Fatalf("%s: status %d, want %d:\n%s", p.URL, p.Status, status, p.text())
	}
	return p
}

// has reports whether the page holds an element matching selector.
func (p *page) has(selector string) bool { return p.Doc.Find(selector).Length() > 0 }

// testid is the text of the element with data-testid=id.
func (p *page) testid(id string) string {
	p.t.Helper()
	s := p.Doc.Find(`[data-testid="` + id + `"]`)
	if s.Length() != 1 {
		p.t.Fatalf("%s: %d elements with data-testid=%q:\n%s", p.URL, s.Length(), id, p.text())
	}
	return strings.TrimSpace(s.Text())
}

// fieldError is the problem shown next to a field.
func (p *page) fieldError(name string) string {
	return strings.TrimSpace(p.Doc.Find("#" + name + "-error").Text())
}

// with is the browser, with its cookies, reporting to t (a fuzz target's
// own t).
func (b *browser) with(t testing.TB) *browser {
	e := b.e.For(t)
	client := e.Browser()
	client.Jar = b.client.Jar
	return &browser{t: t, e: e, client: client}
}
