package api_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/apiclients"
)

// submitForm posts the page's form whose action is action, with its
// hidden inputs, the typed fields and the pressed button, and returns the
// page the browser ends on.
func submitForm(t testing.TB, e *apitest.Env, b *http.Client, page, action string, typed map[string]string) (string, *url.URL) {
	t.Helper()
	forms, err := apitest.Forms([]byte(page))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range forms {
		if f.Action != action {
			continue
		}
		for k, v := range typed {
			f.Values.Set(k, v)
		}
		res, err := b.PostForm(e.URL(action), f.Values)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = res.Body.Close() }()
		body, _ := io.ReadAll(res.Body)
		return string(body), res.Request.URL
	}
	t.Fatalf("no form posting to %s on:\n%s", action, page)
	return "", nil
}

// oauthd as its own provider: the component's auth_uri and token_uri are
// oauthd's /oauth/authorize and /oauth/token, the tenant's OAuth client is
// an API client of the same oauthd, and a member signs in and consents on
// oauthd's pages. The connection's tokens work on oauthd's API; refreshes
// rotate oauthd's refresh tokens, whose reuse detection would revoke the
// grant if a refresh token were ever presented twice.
func TestConnectionWithOAuthdAsProvider(t *testing.T) {
	e := apitest.New(t, apitest.WithOutboundAllowPrivate())
	tid := newTenant(t, e)
	const password = "correct horse battery staple"
	email := "ada-" + uniq() + "@example.test"
	uid := e.Post("/v2/users", &e.Super, doc("user", map[string]any{"email": email, "password": password}, nil)).
		ExpectStatus(t, http.StatusCreated).ID(t)
	key, _ := e.Post("/v2/users/"+uid+"/api-keys", &e.Super, doc("api-key", map[string]any{"name": "k"}, nil)).
		ExpectStatus(t, http.StatusCreated).Attr(t, "key").(string)
	owner := apitest.Creds{UserID: uid, Email: email, Key: key}
	addMember(t, e, tid, owner, []string{"owner"}, nil)

	app := apitest.NewAPIClient(t, e, tid, apiclients.NewClient{Name: "connector",
		GrantTypes:   []string{apiclients.GrantAuthorizationCode, apiclients.GrantRefreshToken},
		RedirectURIs: []string{e.URL("/connect/callback")}, Scopes: []string{"tenants.oauth_clients.get"}})
	component := newComponent(t, e, tid, &owner, map[string]any{"descriptor": map[string]any{
		"useOAuthClient": true,
		"oauth2": map[string]any{"client_id": "", "client_secret": "", "auth_uri": e.URL("/oauth/authorize"),
			"token_uri": e.URL("/oauth/token"), "scopes": []string{"tenants.oauth_clients.get"}, "client_auth": "basic"},
	}})
	mustOAuthClient(t, e, tid, &owner, component, app.Client.ClientID, app.Secret)
	r := e.Post(tenantPath(tid, "/connections"), &owner, doc("connection", map[string]any{"name": "self"},
		map[string]any{"component": rel("component", component)})).ExpectStatus(t, http.StatusCreated)
	id := r.ID(t)
	link, _ := r.Attr(t, "authorize_url").(string)

	// The browser: the link, oauthd's sign-in page, its consent page, and back.
	b := connectBrowser(t, e)
	status, at, page := visit(t, b, link)
	if status != http.StatusOK || at.Path != "/oauth/authorize" {
		t.Fatalf("the link led to %d at %s", status, at)
	}
	page, at = submitForm(t, e, b, page, "/oauth/sign-in", map[string]string{"email": email, "password": password})
	if at.Path != "/oauth/authorize" || !strings.Contains(page, "decision") {
		t.Fatalf("after sign-in at %s:\n%s", at, page)
	}
	page, at = submitForm(t, e, b, page, "/oauth/authorize", map[string]string{"decision": "approve"})
	if at.Path != "/connect/callback" || !strings.Contains(page, "The account is connected") {
		t.Fatalf("after consent at %s:\n%s", at, page)
	}
	data := e.Get(tenantPath(tid, "/connections/"+id), &owner).ExpectStatus(t, http.StatusOK).Data(t)
	if attrOf(data, "state") != "ready" {
		t.Fatalf("connection: %v", data)
	}

	// The token works on oauthd's API; two refreshes in a row work.
	works := func(env *apitest.Env) {
		t.Helper()
		tok, _ := env.Post(tenantPath(tid, "/connections/"+id+"/access-token"), &owner, nil).
			ExpectStatus(t, http.StatusOK).Attr(t, "access_token").(string)
		apitest.Bearer(t, env, http.MethodGet, tenantPath(tid, "/oauth-clients"), tok, nil).ExpectStatus(t, http.StatusOK)
	}
	works(e)
	for range 2 {
		e.Post(tenantPath(tid, "/connections/"+id+"/refresh"), &owner, nil).ExpectStatus(t, http.StatusOK)
		works(e)
	}

	// 20 concurrent refresh and access-token calls on two instances.
	e2 := apitest.New(t, apitest.WithDatabaseURL(e.DatabaseURL), apitest.WithIssuer(e.URL("")), apitest.WithOutboundAllowPrivate())
	apitest.Race(t, 20, func(i int, t testing.TB) {
		env := []*apitest.Env{e, e2}[i%2].For(t)
		action := "/access-token"
		if i%4 < 2 {
			action = "/refresh"
		}
		env.Post(tenantPath(tid, "/connections/"+id+action), &owner, nil).ExpectStatus(t, http.StatusOK)
	})
	if n := countRows(t, e, "SELECT count(*) FROM grants WHERE revoked_at IS NOT NULL"); n != 0 {
		t.Fatalf("oauthd's reuse detection revoked %d grants", n)
	}
	works(e2)
	if data := e.Get(tenantPath(tid, "/connections/"+id), &owner).ExpectStatus(t, http.StatusOK).Data(t); attrOf(data, "error") != nil {
		t.Fatalf("connection after the race: %v", data)
	}
}
