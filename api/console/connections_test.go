package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/apiclients"
)

// selfProvider makes oauthd its own provider in tid: a component whose
// auth_uri and token_uri are oauthd's, and the tenant's OAuth client for
// it an API client of the same oauthd.
func selfProvider(t *testing.T, e *apitest.Env, tid string) string {
	t.Helper()
	app := apitest.NewAPIClient(t, e, tid, apiclients.NewClient{Name: "connector",
		GrantTypes:   []string{apiclients.GrantAuthorizationCode, apiclients.GrantRefreshToken},
		RedirectURIs: []string{e.URL("/connect/callback")}, Scopes: []string{"tenants.flows.get"}})
	comp := e.Post("/v2/tenants/"+tid+"/components", &e.Super, doc("component", map[string]any{"name": "oauthd-itself",
		"descriptor": map[string]any{"useOAuthClient": true, "oauth2": map[string]any{"client_id": "", "client_secret": "",
			"auth_uri": e.URL("/oauth/authorize"), "token_uri": e.URL("/oauth/token"),
			"scopes": []string{"tenants.flows.get"}, "client_auth": "basic"}}}, nil)).ExpectStatus(t, http.StatusCreated).ID(t)
	newOAuthClient(t, e, tid, comp, app.Client.ClientID, app.Secret)
	return comp
}

func TestConnectAnAccount(t *testing.T) {
	e := apitest.New(t, apitest.WithOutboundAllowPrivate())
	tid := newTenant(t, e)
	owner := newMember(t, e, tid, []string{"owner"}, nil)
	comp := selfProvider(t, e, tid)
	b := newBrowser(t, e)
	b.signIn(owner)

	form := b.get("/console/tenants/" + tid + "/connections/new").expect(http.StatusOK)
	noName := b.submit(form, "create-connection", map[string]string{"component": comp, "name": ""})
	if noName.Status != http.StatusUnprocessableEntity || noName.fieldError("name") == "" {
		t.Errorf("no name: %d\n%s", noName.Status, noName.text())
	}
	made := b.submit(form, "create-connection", map[string]string{"component": comp, "name": "self"}).expect(http.StatusCreated)
	link := made.Doc.Find(`[data-testid="authorize-url"]`).AttrOr("href", "")
	if link == "" {
		t.Fatalf("no authorize link:\n%s", made.text())
	}
	// The dance: the link, oauthd's consent page (already signed in), back.
	consent := b.get(strings.TrimPrefix(link, e.URL(""))).expect(http.StatusOK)
	if consent.URL.Path != "/oauth/authorize" {
		t.Fatalf("the link led to %s", consent.URL)
	}
	back := b.submitForm(consent, consent.Doc.Find(`form[action="/oauth/authorize"]`), map[string]string{"decision": "approve"})
	if back.URL.Path != "/connect/callback" || !strings.Contains(back.text(), "connected") {
		t.Fatalf("after consent at %s:\n%s", back.URL, back.text())
	}

	list := b.get("/console/tenants/" + tid + "/connections").expect(http.StatusOK)
	if got := list.testid("connection-state"); got != "ready" {
		t.Fatalf("state %q after the dance", got)
	}
	detailPath := list.Doc.Find("table#connections a").AttrOr("href", "")
	detail := b.get(detailPath).expect(http.StatusOK)
	refreshed := b.submit(detail, "refresh", nil).expect(http.StatusOK)
	if !strings.Contains(refreshed.text(), "Refreshed.") || refreshed.testid("connection-state") != "ready" {
		t.Errorf("after refresh:\n%s", refreshed.text())
	}
	// Reconnect offers a new link; delete erases it.
	again := b.submit(refreshed, "reconnect", nil).expect(http.StatusOK)
	if l := again.Doc.Find(`[data-testid="authorize-url"]`).AttrOr("href", ""); l == "" || l == link {
		t.Errorf("reconnect link %q", l)
	}
	gone := b.submit(b.get(detailPath+"/delete"), "confirm-delete", nil).expect(http.StatusOK)
	if gone.has("table#connections") {
		t.Error("the connection is still listed")
	}
}
