package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
)

func TestComponentCreateAndValidate(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	u := newUser(t, e)
	addMember(t, e, tid, u, []string{"developer"}, nil)
	base := "/v2/tenants/" + tid + "/components"

	// The descriptor is optional.
	bare := e.Post(base, &u, doc("component", map[string]any{"name": "bare"}, nil)).ExpectStatus(t, http.StatusCreated)
	if bare.Attr(t, "visibility") != "tenant" || bare.Attr(t, "owned") != true || bare.Attr(t, "available") != true {
		t.Errorf("bare component: %s", bare.Body)
	}
	if d, _ := bare.Attr(t, "descriptor").(map[string]any); d == nil || len(d) != 0 {
		t.Errorf("descriptor of a bare component = %v, want {}", bare.Attr(t, "descriptor"))
	}
	if loc := bare.Header.Get("Location"); loc != base+"/"+bare.ID(t) {
		t.Errorf("Location = %q", loc)
	}

	// elastic.io's Pizza Van descriptor, verbatim.
	pizza := map[string]any{
		"envVars": map[string]any{
			"PIZZAVAN_KEY":    map[string]any{"required": true, "description": "Your Pizza Van OAuth client key"},
			"PIZZAVAN_SECRET": map[string]any{"required": true, "description": "Your Pizza Van OAuth client secret"},
		},
		"oauth2":         map[string]any{"client_id": "", "client_secret": "", "auth_uri": "https://auth_uri", "token_uri": "https://token_uri"},
		"useOAuthClient": true,
	}
	pv := e.Post(base, &u, doc("component", map[string]any{"name": "pizza-van", "visibility": "tenant", "descriptor": pizza}, nil)).
		ExpectStatus(t, http.StatusCreated)
	d, _ := pv.Attr(t, "descriptor").(map[string]any)
	if d["useOAuthClient"] != true || d["envVars"] == nil || d["oauth2"] == nil {
		t.Errorf("descriptor not kept: %s", pv.Body)
	}
	// Needs an OAuth client the tenant does not have yet.
	if pv.Attr(t, "available") != false {
		t.Errorf("component needing an OAuth client is available: %s", pv.Body)
	}
	got := e.Get(base+"/"+pv.ID(t), &u).ExpectStatus(t, http.StatusOK)
	if got.Attr(t, "name") != "pizza-van" {
		t.Errorf("GET = %s", got.Body)
	}

	// Every descriptor problem at once, each at its own pointer.
	r := e.Post(base, &u, doc("component", map[string]any{"name": "bad", "descriptor": map[string]any{
		"useOAuthClient": "yes",
		"envVars":        map[string]any{"K": map[string]any{"required": "true"}},
		"oauth2":         map[string]any{"client_id": 5, "auth_uri": "not a url"},
	}}, nil))
	expectError(t, r, http.StatusUnprocessableEntity, "wrong_type", "/data/attributes/descriptor/useOAuthClient")
	expectError(t, r, http.StatusUnprocessableEntity, "wrong_type", "/data/attributes/descriptor/envVars/K/required")
	expectError(t, r, http.StatusUnprocessableEntity, "wrong_type", "/data/attributes/descriptor/oauth2/client_id")
	expectError(t, r, http.StatusUnprocessableEntity, "invalid_url", "/data/attributes/descriptor/oauth2/auth_uri")
	expectError(t, e.Post(base, &u, doc("component", map[string]any{"name": "x", "descriptor": []any{}}, nil)), http.StatusBadRequest, "wrong_type", "/data/attributes/descriptor")
	expectError(t, e.Post(base, &u, doc("component", map[string]any{"name": "x", "visibility": "public"}, nil)), http.StatusUnprocessableEntity, "invalid_visibility", "/data/attributes/visibility")
	expectError(t, e.Post(base, &u, doc("component", map[string]any{}, nil)), http.StatusUnprocessableEntity, "required", "/data/attributes/name")
	expectError(t, e.Post(base, &u, doc("component", map[string]any{"name": "x", "owner": "me"}, nil)), http.StatusBadRequest, "unknown_attribute", "/data/attributes/owner")
	expectError(t, e.Post(base, &u, doc("flow", map[string]any{"name": "x"}, nil)), http.StatusConflict, "type_mismatch", "/data/type")

	// Only a superuser creates a global component.
	expectError(t, e.Post(base, &u, doc("component", map[string]any{"name": "g", "visibility": "global"}, nil)), http.StatusForbidden, "global_requires_superuser", "/data/attributes/visibility")
	if ids := listIDs(t, e.Get(base, &u)); len(ids) != 2 {
		t.Errorf("refused creates left components: %v", ids)
	}
	// A global component must not carry a secret.
	expectError(t, e.Post(base, &e.Super, doc("component", map[string]any{"name": "g", "visibility": "global",
		"descriptor": map[string]any{"oauth2": map[string]any{"client_secret": "s3cret"}}}, nil)), http.StatusUnprocessableEntity, "secret_in_global_component", "/data/attributes/descriptor/oauth2/client_secret")
}

func TestComponentVisibilityAcrossTenants(t *testing.T) {
	e := apitest.New(t)
	su := &e.Super
	home, other := newTenant(t, e), newTenant(t, e)
	u := newUser(t, e)
	addMember(t, e, other, u, []string{"admin"}, nil)

	global := newComponent(t, e, home, su, map[string]any{"name": "global-sf", "visibility": "global",
		"descriptor": map[string]any{"useOAuthClient": true}})
	private := newComponent(t, e, home, su, map[string]any{"name": "private"})
	own := newComponent(t, e, other, &u, map[string]any{"name": "own"})

	// The other tenant's list: its own and the global ones, never home's private ones.
	list := e.Get("/v2/tenants/"+other+"/components", &u).ExpectStatus(t, http.StatusOK)
	byID := map[string]map[string]any{}
	for _, it := range list.List(t) {
		byID[it["id"].(string)] = it["attributes"].(map[string]any)
	}
	if len(byID) != 2 || byID[global] == nil || byID[own] == nil {
		t.Fatalf("list = %v, want %s and %s", listIDs(t, list), global, own)
	}
	if byID[global]["owned"] != false || byID[global]["available"] != false || byID[global]["visibility"] != "global" {
		t.Errorf("global as seen by another tenant: %v", byID[global])
	}
	if byID[own]["owned"] != true || byID[own]["available"] != true {
		t.Errorf("own component: %v", byID[own])
	}
	if meta := listMeta(t, list); meta["total"] != float64(2) {
		t.Errorf("meta.total = %v", meta["total"])
	}
	// The owner sees it as owned.
	if a := e.Get("/v2/tenants/"+home+"/components/"+global, su).ExpectStatus(t, http.StatusOK); a.Attr(t, "owned") != true {
		t.Errorf("owner view: %s", a.Body)
	}

	// Once the other tenant defines its OAuth client, the global one is available to it.
	e.Post("/v2/tenants/"+other+"/oauth-clients", &u, oauthClientDoc(global, "mine", "secret-value")).ExpectStatus(t, http.StatusCreated)
	if a := e.Get("/v2/tenants/"+other+"/components/"+global, &u).ExpectStatus(t, http.StatusOK); a.Attr(t, "available") != true || a.Attr(t, "owned") != false {
		t.Errorf("global after defining a client: %s", a.Body)
	}
	// ... and still not to its owner, which has no client of its own.
	if a := e.Get("/v2/tenants/"+home+"/components/"+global, su); a.Attr(t, "available") != false {
		t.Errorf("owner's availability: %s", a.Body)
	}

	// A global component it does not own: readable, not changeable.
	expectError(t, e.Patch("/v2/tenants/"+other+"/components/"+global, &u, doc("component", map[string]any{"name": "mine now"}, nil)), http.StatusForbidden, "component_not_owned", "")
	expectError(t, e.Delete("/v2/tenants/"+other+"/components/"+global, &u), http.StatusForbidden, "component_not_owned", "")
	// Another tenant's private component does not exist for it.
	for _, r := range []*apitest.Response{
		e.Get("/v2/tenants/"+other+"/components/"+private, &u),
		e.Patch("/v2/tenants/"+other+"/components/"+private, &u, doc("component", map[string]any{"name": "x"}, nil)),
		e.Delete("/v2/tenants/"+other+"/components/"+private, &u),
	} {
		expectError(t, r, http.StatusNotFound, "component_not_found", "")
	}
	if a := e.Get("/v2/tenants/"+home+"/components/"+private, su).ExpectStatus(t, http.StatusOK); a.Attr(t, "name") != "private" {
		t.Errorf("private component changed: %s", a.Body)
	}
	if a := e.Get("/v2/tenants/"+home+"/components/"+global, su); a.Attr(t, "name") != "global-sf" {
		t.Errorf("global component changed: %s", a.Body)
	}

	// A member may not make a component global, even one of their own.
	expectError(t, e.Patch("/v2/tenants/"+other+"/components/"+own, &u, doc("component", map[string]any{"visibility": "global"}, nil)), http.StatusForbidden, "global_requires_superuser", "/data/attributes/visibility")
	if a := e.Get("/v2/tenants/"+other+"/components/"+own, &u); a.Attr(t, "visibility") != "tenant" {
		t.Errorf("visibility changed: %s", a.Body)
	}
	// The superuser may; then home sees it.
	e.Patch("/v2/tenants/"+other+"/components/"+own, su, doc("component", map[string]any{"visibility": "global"}, nil)).ExpectStatus(t, http.StatusOK)
	e.Get("/v2/tenants/"+home+"/components/"+own, su).ExpectStatus(t, http.StatusOK)
	// The global one in use elsewhere cannot go back to tenant-only.
	expectError(t, e.Patch("/v2/tenants/"+home+"/components/"+global, su, doc("component", map[string]any{"visibility": "tenant"}, nil)), http.StatusConflict, "component_shared", "/data/attributes/visibility")

	// filter[visibility] and sort=name.
	gl := listIDs(t, e.Get("/v2/tenants/"+other+"/components?filter[visibility]=global&sort=name", &u).ExpectStatus(t, http.StatusOK))
	if !slices.Equal(gl, []string{global, own}) {
		t.Errorf("global, by name = %v, want [%s %s]", gl, global, own)
	}
	if tl := listIDs(t, e.Get("/v2/tenants/"+home+"/components?filter[visibility]=tenant", su)); !slices.Equal(tl, []string{private}) {
		t.Errorf("tenant-only = %v, want [%s]", tl, private)
	}
	desc := listIDs(t, e.Get("/v2/tenants/"+other+"/components?sort=-name", &u).ExpectStatus(t, http.StatusOK))
	if !slices.Equal(desc, []string{own, global}) {
		t.Errorf("sort=-name = %v", desc)
	}
	expectError(t, e.Get("/v2/tenants/"+other+"/components?filter[visibility]=public", &u), http.StatusBadRequest, "invalid_filter", "")
	expectError(t, e.Get("/v2/tenants/"+other+"/components?filter[owner]=x", &u), http.StatusBadRequest, "unknown_filter", "")
	expectError(t, e.Get("/v2/tenants/"+other+"/components?sort=descriptor", &u), http.StatusBadRequest, "unknown_sort_field", "")
}

func TestComponentUpdate(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	cid := newComponent(t, e, tid, &e.Super, map[string]any{"name": "before"})
	path := "/v2/tenants/" + tid + "/components/" + cid

	up := e.Patch(path, &e.Super, doc("component", map[string]any{"name": "after", "descriptor": map[string]any{"useOAuthClient": true}}, nil)).
		ExpectStatus(t, http.StatusOK)
	if up.Attr(t, "name") != "after" || up.Attr(t, "available") != false {
		t.Errorf("after PATCH: %s", up.Body)
	}
	// Only what is sent changes.
	up = e.Patch(path, &e.Super, doc("component", map[string]any{"name": "again"}, nil)).ExpectStatus(t, http.StatusOK)
	if d, _ := up.Attr(t, "descriptor").(map[string]any); d["useOAuthClient"] != true {
		t.Errorf("descriptor lost on a name-only PATCH: %s", up.Body)
	}
	expectError(t, e.Patch(path, &e.Super, doc("component", map[string]any{"name": "", "descriptor": map[string]any{"envVars": 1}}, nil)), http.StatusUnprocessableEntity, "wrong_type", "/data/attributes/descriptor/envVars")
	if a := e.Get(path, &e.Super); a.Attr(t, "name") != "again" {
		t.Errorf("a refused PATCH changed the component: %s", a.Body)
	}
	expectError(t, e.Patch("/v2/tenants/"+tid+"/components/00000000-0000-4000-8000-000000000000", &e.Super,
		doc("component", map[string]any{"name": "x"}, nil)), http.StatusNotFound, "component_not_found", "")
}

func TestComponentDelete(t *testing.T) {
	e := apitest.New(t)
	su := &e.Super
	tid := newTenant(t, e)
	base := "/v2/tenants/" + tid + "/components"
	cid := newComponent(t, e, tid, su, map[string]any{"name": "used", "descriptor": map[string]any{"useOAuthClient": true}})
	keep := newComponent(t, e, tid, su, map[string]any{"name": "kept"})
	oc := e.Post("/v2/tenants/"+tid+"/oauth-clients", su, oauthClientDoc(cid, "client", "secret-value")).ExpectStatus(t, http.StatusCreated).ID(t)
	f1 := e.Post("/v2/tenants/"+tid+"/flows", su, doc("flow", map[string]any{"name": "sync accounts"}, map[string]any{"components": rels("component", cid, keep)})).
		ExpectStatus(t, http.StatusCreated).ID(t)

	o := expectError(t, e.Delete(base+"/"+cid, su), http.StatusConflict, "component_in_use", "")
	meta, _ := o["meta"].(map[string]any)
	flows, _ := meta["flows"].([]any)
	if len(flows) != 1 || flows[0].(map[string]any)["id"] != f1 || flows[0].(map[string]any)["name"] != "sync accounts" {
		t.Errorf("meta.flows = %v", meta["flows"])
	}
	if d, _ := o["detail"].(string); !strings.Contains(d, f1) || !strings.Contains(d, "sync accounts") {
		t.Errorf("detail does not name the flow: %q", d)
	}
	e.Get(base+"/"+cid, su).ExpectStatus(t, http.StatusOK)

	e.Patch("/v2/tenants/"+tid+"/flows/"+f1, su, doc("flow", nil, map[string]any{"components": rels("component", keep)})).ExpectStatus(t, http.StatusOK)
	e.Delete(base+"/"+cid, su).ExpectStatus(t, http.StatusNoContent)
	expectError(t, e.Get(base+"/"+cid, su), http.StatusNotFound, "component_not_found", "")
	expectError(t, e.Delete(base+"/"+cid, su), http.StatusNotFound, "component_not_found", "")
	if ids := listIDs(t, e.Get(base, su)); !slices.Equal(ids, []string{keep}) {
		t.Errorf("list after delete = %v, want [%s]", ids, keep)
	}
	if m := listMeta(t, e.Get(base, su)); m["total"] != float64(1) {
		t.Errorf("meta.total = %v", m["total"])
	}
	// Its OAuth client stays, unusable, and can be deleted.
	c := e.Get("/v2/tenants/"+tid+"/oauth-clients/"+oc, su).ExpectStatus(t, http.StatusOK)
	if c.Attr(t, "usable") != false {
		t.Errorf("client of a deleted component: %s", c.Body)
	}
	// A flow cannot name it any more.
	expectError(t, e.Post("/v2/tenants/"+tid+"/flows", su, doc("flow", map[string]any{"name": "f"}, map[string]any{"components": rels("component", cid)})), http.StatusUnprocessableEntity, "component_not_found", "/data/relationships/components/data/0/id")
	e.Delete("/v2/tenants/"+tid+"/oauth-clients/"+oc, su).ExpectStatus(t, http.StatusNoContent)
}

// A flow of another tenant that uses a global component blocks its delete
// too, without naming that tenant's flows.
func TestComponentDeleteBlockedByOtherTenantsFlow(t *testing.T) {
	e := apitest.New(t)
	su := &e.Super
	home, other := newTenant(t, e), newTenant(t, e)
	gid := newComponent(t, e, home, su, map[string]any{"visibility": "global"})
	fid := newFlow(t, e, other, su, "flow-"+uniq(), gid)

	o := expectError(t, e.Delete("/v2/tenants/"+home+"/components/"+gid, su), http.StatusConflict, "component_in_use", "")
	if d, _ := o["detail"].(string); strings.Contains(d, fid) {
		t.Errorf("detail names another tenant's flow: %q", d)
	}
	e.Delete("/v2/tenants/"+other+"/flows/"+fid, su).ExpectStatus(t, http.StatusNoContent)
	e.Delete("/v2/tenants/"+home+"/components/"+gid, su).ExpectStatus(t, http.StatusNoContent)
	expectError(t, e.Get("/v2/tenants/"+other+"/components/"+gid, su), http.StatusNotFound, "component_not_found", "")
}

// Turning useOAuthClient on while flows of a tenant without an OAuth client
// include the component would leave those flows using a component they could
// not have been given; it is refused, naming the flows, and changes nothing.
func TestComponentRequiringOAuthClientRefusedWhileClientlessFlowsUseIt(t *testing.T) {
	e := apitest.New(t)
	su := &e.Super
	home, other := newTenant(t, e), newTenant(t, e)
	dev := newMember(t, e, home, []string{"developer"}, nil)
	plain := map[string]any{"useOAuthClient": false}

	own := newComponent(t, e, home, &dev, map[string]any{"descriptor": plain})
	flow := newFlow(t, e, home, &dev, "nightly-sync", own)
	path := tenantPath(home, "/components/"+own)
	turnOn := doc("component", map[string]any{"descriptor": oauthDescriptor()}, nil)

	r := e.Patch(path, &dev, turnOn)
	p := expectError(t, r, http.StatusConflict, "component_in_use_without_oauth_client", "/data/attributes/descriptor/useOAuthClient")
	if d, _ := p["detail"].(string); !strings.Contains(d, flow) || !strings.Contains(d, "nightly-sync") {
		t.Errorf("detail does not name the flow: %q", d)
	}
	flows, _ := p["meta"].(map[string]any)["flows"].([]any)
	if len(flows) != 1 || flows[0].(map[string]any)["id"] != flow {
		t.Errorf("meta.flows = %v, want [%s]", flows, flow)
	}
	if got := e.Get(path, &dev).ExpectStatus(t, http.StatusOK); got.Attr(t, "descriptor").(map[string]any)["useOAuthClient"] != false {
		t.Errorf("refused PATCH changed the descriptor: %s", got.Body)
	}

	// The way through: take it out of the flow, require the client, define
	// the client, put it back.
	e.Patch(tenantPath(home, "/flows/"+flow), &dev, flowDoc("")).ExpectStatus(t, http.StatusOK)
	if got := e.Patch(path, &dev, turnOn).ExpectStatus(t, http.StatusOK); got.Attr(t, "available") != false {
		t.Errorf("component without its client is available: %s", got.Body)
	}
	mustOAuthClient(t, e, home, &dev, own, "client-id", "client-secret")
	e.Patch(tenantPath(home, "/flows/"+flow), &dev, flowDoc("", own)).ExpectStatus(t, http.StatusOK)
	// Requiring it again (a no-op for the rule) is fine while flows use it.
	e.Patch(path, &dev, turnOn).ExpectStatus(t, http.StatusOK)

	// A global component: another tenant's flow without a client blocks it,
	// counted but not named (its flows are that tenant's business).
	global := newComponent(t, e, home, su, map[string]any{"visibility": "global", "descriptor": plain})
	u := newMember(t, e, other, []string{"developer"}, nil)
	newFlow(t, e, other, &u, "their-flow", global)
	r = e.Patch(tenantPath(home, "/components/"+global), su, doc("component", map[string]any{"descriptor": oauthDescriptor()}, nil))
	p = expectError(t, r, http.StatusConflict, "component_in_use_without_oauth_client", "/data/attributes/descriptor/useOAuthClient")
	if m := p["meta"].(map[string]any); m["flows_in_other_tenants"] != float64(1) || len(m["flows"].([]any)) != 0 {
		t.Errorf("meta = %v, want no own flows and one elsewhere", m)
	}
	if d, _ := p["detail"].(string); strings.Contains(d, "their-flow") {
		t.Errorf("detail leaks another tenant's flow name: %q", d)
	}
}
