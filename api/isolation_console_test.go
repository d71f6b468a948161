package api_test

// The isolation matrix for the console: every page and action under
// /console/tenants/:tid (taken from the router, so a new page is covered
// without a row here) answers a member of tenant A who names tenant B, or
// B's resources through A, exactly as it answers ids that name nothing:
// 404, the same page, and nothing changed.

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"github.com/oauthd/oauthd/api/apitest"
)

// isoConsole is a signed-in browser of tenant A's owner.
type isoConsole struct {
	w      *isoWorld
	client *http.Client
	csrf   string
}

func isoSignIn(t *testing.T, w *isoWorld) *isoConsole {
	t.Helper()
	e := w.e
	password := "iso console password " + uniq()
	e.Patch("/v2/users/"+w.a.owner.UserID, &e.Super, doc("user", map[string]any{"password": password}, nil)).
		ExpectStatus(t, http.StatusOK)
	ic := &isoConsole{w: w, client: e.Browser()}
	form := url.Values{"email": {w.a.owner.Email}, "password": {password}}
	page := ic.get(t, "/oauth/sign-in?return_to=/console/account")
	form.Set("csrf", page.Find(`form[action="/oauth/sign-in"] input[name=csrf]`).AttrOr("value", ""))
	ic.post(t, "/oauth/sign-in", form)
	account := ic.get(t, "/console/account")
	ic.csrf = account.Find("form#create-api-key input[name=csrf]").AttrOr("value", "")
	if ic.csrf == "" {
		t.Fatal("signed in, but the account page has no form token")
	}
	return ic
}

func (ic *isoConsole) send(t *testing.T, method, path string, form url.Values) (int, string) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, ic.w.e.URL(path), body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := ic.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func (ic *isoConsole) get(t *testing.T, path string) *goquery.Document {
	t.Helper()
	status, body := ic.send(t, http.MethodGet, path, nil)
	if status != http.StatusOK {
		t.Fatalf("GET %s: %d", path, status)
	}
	d, err := goquery.NewDocumentFromReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (ic *isoConsole) post(t *testing.T, path string, form url.Values) {
	t.Helper()
	if status, body := ic.send(t, http.MethodPost, path, form); status != http.StatusOK {
		t.Fatalf("POST %s: %d %s", path, status, body)
	}
}

// call sends one console route with ids; a POST carries a valid token.
func (ic *isoConsole) call(t *testing.T, method, path string, ids isoIDs) (int, string) {
	t.Helper()
	var form url.Values
	if method == http.MethodPost {
		form = url.Values{"csrf": {ic.csrf}, "client_id": {"x"}, "client_secret": {"y"}, "name": {"iso-" + uniq()}}
	}
	// The account's revoke route names a tenant and an API client (:cid).
	return ic.send(t, method, ids.fill(strings.ReplaceAll(path, ":cid", ids.apiClient)), form)
}

// consoleTenantRoutes are the router's console routes inside a tenant,
// and the account's route that names one.
func consoleTenantRoutes(t *testing.T, e *apitest.Env) []isoRoute {
	t.Helper()
	var out []isoRoute
	for _, r := range e.App.Server.Echo().Routes() {
		if (r.Method == http.MethodGet || r.Method == http.MethodPost) && strings.HasPrefix(r.Path, "/console/") && strings.Contains(r.Path, "/:tid") {
			out = append(out, isoRoute{method: r.Method, path: r.Path})
		}
	}
	if len(out) < 52 {
		t.Fatalf("only %d console routes in a tenant", len(out))
	}
	return out
}

// mainText is a console page's main content with ids replaced.
var consoleMain = regexp.MustCompile(`(?s)<main id="main">.*</main>`)

func isoPage(body string, ids isoIDs) string {
	m := consoleMain.FindString(body)
	for _, id := range []string{ids.tid, ids.uid, ids.kid, ids.component, ids.flow, ids.oauthClient, ids.member, ids.apiClient, ids.apiSecret,
		ids.connection, ids.webhook, ids.webhookSecret} {
		m = strings.ReplaceAll(m, id, "{id}")
	}
	return m
}

func TestIsolationConsoleOtherTenantIsNotFound(t *testing.T) {
	w := isoSetup(t)
	ic := isoSignIn(t, w)
	before := isoSnapshot(t, w.e)
	for _, r := range consoleTenantRoutes(t, w.e) {
		t.Run(r.String(), func(t *testing.T) {
			bIDs := w.b.ids()
			gotStatus, got := ic.call(t, r.method, r.path, bIDs)
			random := isoRandomIDs()
			wantStatus, want := ic.call(t, r.method, r.path, random)
			if gotStatus != http.StatusNotFound || wantStatus != http.StatusNotFound {
				t.Fatalf("status %d for tenant B and %d for a random tenant, want 404 for both:\n%s", gotStatus, wantStatus, got)
			}
			if g, w := isoPage(got, bIDs), isoPage(want, random); g != w {
				t.Errorf("tenant B's page differs from a random id's:\n B: %s\n random: %s", g, w)
			}
		})
	}
	isoExpectUnchanged(t, w.e, before)
}

func TestIsolationConsoleOtherTenantsResourcesAreNotFound(t *testing.T) {
	w := isoSetup(t)
	ic := isoSignIn(t, w)
	before := isoSnapshot(t, w.e)
	n := 0
	for _, r := range consoleTenantRoutes(t, w.e) {
		if !r.hasResourceID() || strings.HasPrefix(r.path, "/console/account/") {
			continue
		}
		n++
		t.Run(r.String(), func(t *testing.T) {
			mixed := w.b.ids()
			mixed.tid = w.a.id
			gotStatus, got := ic.call(t, r.method, r.path, mixed)
			random := isoRandomIDs()
			random.tid = w.a.id
			wantStatus, want := ic.call(t, r.method, r.path, random)
			if gotStatus != http.StatusNotFound || wantStatus != http.StatusNotFound {
				t.Fatalf("status %d for B's id and %d for a random id, want 404:\n%s", gotStatus, wantStatus, got)
			}
			if g, w := isoPage(got, mixed), isoPage(want, random); g != w {
				t.Errorf("B's id answers differently from a random id:\n B: %s\n random: %s", g, w)
			}
		})
	}
	if n < 35 {
		t.Errorf("only %d console routes with resource ids", n)
	}
	isoExpectUnchanged(t, w.e, before)
}
