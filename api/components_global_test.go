package api_test

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/policy"
)

// A global component's descriptor names the provider's endpoints for every
// tenant that uses it: their OAuth clients' secrets and their connections'
// refresh tokens go to its token_uri. Only a superuser makes a component
// global, so only a superuser may change a global component's descriptor;
// a member of the owning tenant who may edit components must not point
// other tenants' token requests at a server of theirs.
func TestOnlyASuperuserChangesAGlobalComponentsDescriptor(t *testing.T) {
	e := apitest.New(t, apitest.WithOutboundAllowPrivate())
	owner := newTenant(t, e)
	p := newFakeProvider(t, false)
	component := newComponent(t, e, owner, &e.Super, map[string]any{"visibility": "global", "descriptor": p.descriptor()})

	// Another tenant connects an account through the global component.
	user := &connWorld{e: e, p: p, component: component}
	user.tid = newTenant(t, e)
	user.owner = newMember(t, e, user.tid, []string{"owner"}, nil)
	user.client = mustOAuthClient(t, e, user.tid, &user.owner, component, p.id, p.secret)
	conn := user.connect(t, "through-global")

	var stolen atomic.Int32
	thief := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		stolen.Add(1)
		http.Error(w, "no", http.StatusBadRequest)
	}))
	t.Cleanup(thief.Close)
	hijacked := p.descriptor()
	block := hijacked["credentials"].(map[string]any)["oauth2"].(map[string]any)
	block["token_uri"], block["auth_uri"] = thief.URL+"/token", thief.URL+"/authorize"

	editor := newMember(t, e, owner, nil, []string{policy.ComponentsGet, policy.ComponentsEdit})
	r := e.Patch(tenantPath(owner, "/components/"+component), &editor,
		docWithID("component", component, map[string]any{"descriptor": hijacked}, nil))
	expectError(t, r, http.StatusForbidden, "global_requires_superuser", "/data/attributes/descriptor")
	// Its name is no one else's business.
	e.Patch(tenantPath(owner, "/components/"+component), &editor,
		docWithID("component", component, map[string]any{"name": "renamed-" + uniq()}, nil)).ExpectStatus(t, http.StatusOK)

	user.accessToken(t, e, conn).ExpectStatus(t, http.StatusOK)
	e.Post(user.path("/"+conn+"/refresh"), &user.owner, nil).ExpectStatus(t, http.StatusOK)
	if n := stolen.Load(); n != 0 {
		t.Fatalf("the other tenant's token requests went to the editor's server %d times", n)
	}
	user.p.checkClean(t)

	// A superuser still may.
	e.Patch(tenantPath(owner, "/components/"+component), &e.Super,
		docWithID("component", component, map[string]any{"descriptor": p.descriptor()}, nil)).ExpectStatus(t, http.StatusOK)
}

// Within a tenant, the provider's endpoints are where the tenant's OAuth
// client secret and its connections' refresh tokens go: a member who may
// edit components but may neither reveal the secret nor read the tokens
// must not move them; one who may do both, may.
func TestMovingProviderEndpointsTakesTheRightsTheyExpose(t *testing.T) {
	w := newConnWorld(t, false)
	conn := w.connect(t, "mine")
	var stolen atomic.Int32
	thief := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		stolen.Add(1)
		http.Error(rw, "no", http.StatusBadRequest)
	}))
	t.Cleanup(thief.Close)
	moved := w.p.descriptor()
	block := moved["credentials"].(map[string]any)["oauth2"].(map[string]any)
	block["refresh_token_uri"] = thief.URL + "/token"
	path := tenantPath(w.tid, "/components/"+w.component)

	editor := newMember(t, w.e, w.tid, nil, []string{policy.ComponentsGet, policy.ComponentsEdit})
	r := w.e.Patch(path, &editor, docWithID("component", w.component, map[string]any{"descriptor": moved}, nil))
	expectError(t, r, http.StatusForbidden, "grant_exceeds_own", "/data/attributes/descriptor")
	// The rest of the descriptor is the editor's to change.
	rescoped := w.p.descriptor()
	rescoped["credentials"].(map[string]any)["oauth2"].(map[string]any)["scopes"] = []string{"read", "offline_access"}
	w.e.Patch(path, &editor, docWithID("component", w.component, map[string]any{"descriptor": rescoped}, nil)).
		ExpectStatus(t, http.StatusOK)
	w.e.Post(w.path("/"+conn+"/refresh"), &w.owner, nil).ExpectStatus(t, http.StatusOK)
	if n := stolen.Load(); n != 0 {
		t.Fatalf("the refresh went to the editor's server %d times", n)
	}

	trusted := newMember(t, w.e, w.tid, nil, []string{policy.ComponentsGet, policy.ComponentsEdit,
		policy.OAuthClientsRevealSecret, policy.ConnectionsToken})
	w.e.Patch(path, &trusted, docWithID("component", w.component, map[string]any{"descriptor": moved}, nil)).
		ExpectStatus(t, http.StatusOK)
	w.p.checkClean(t)
}
