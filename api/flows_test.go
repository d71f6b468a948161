package api_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
)

// cfFlowComponents is the ordered component ids of a flow response.
func cfFlowComponents(t *testing.T, r *apitest.Response) []string {
	t.Helper()
	return cfRelIDs(t, r.Data(t))
}

func cfRelIDs(t *testing.T, data map[string]any) []string {
	t.Helper()
	rels, _ := data["relationships"].(map[string]any)
	comps, _ := rels["components"].(map[string]any)
	list, ok := comps["data"].([]any)
	if !ok {
		t.Fatalf("flow has no components linkage: %v", data)
	}
	out := []string{}
	for _, it := range list {
		ref := it.(map[string]any)
		if ref["type"] != "component" {
			t.Errorf("linkage type %v", ref["type"])
		}
		out = append(out, ref["id"].(string))
	}
	return out
}

func TestFlowCreateKeepsOrder(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	u := newUser(t, e)
	addMember(t, e, tid, u, []string{"developer"}, nil)
	a := newComponent(t, e, tid, &u, map[string]any{"name": "a"})
	b := newComponent(t, e, tid, &u, map[string]any{"name": "b"})
	c := newComponent(t, e, tid, &u, map[string]any{"name": "c"})
	base := "/v2/tenants/" + tid + "/flows"

	r := e.Post(base, &u, doc("flow", map[string]any{"name": "sync"}, map[string]any{"components": rels("component", c, a, b)})).ExpectStatus(t, http.StatusCreated)
	fid := r.ID(t)
	if got := cfFlowComponents(t, r); !slices.Equal(got, []string{c, a, b}) {
		t.Errorf("components = %v, want [c a b]", got)
	}
	if loc := r.Header.Get("Location"); loc != base+"/"+fid {
		t.Errorf("Location = %q", loc)
	}
	if got := cfFlowComponents(t, e.Get(base+"/"+fid, &u).ExpectStatus(t, http.StatusOK)); !slices.Equal(got, []string{c, a, b}) {
		t.Errorf("GET components = %v", got)
	}
	// A flow with no components is allowed.
	empty := e.Post(base, &u, doc("flow", map[string]any{"name": "empty"}, nil)).ExpectStatus(t, http.StatusCreated)
	if got := cfFlowComponents(t, empty); len(got) != 0 {
		t.Errorf("empty flow has %v", got)
	}
	list := e.Get(base+"?sort=name", &u).ExpectStatus(t, http.StatusOK)
	items := list.List(t)
	if len(items) != 2 || items[0]["id"] != empty.ID(t) || items[1]["id"] != fid {
		t.Fatalf("flows by name = %v", listIDs(t, list))
	}
	if got := cfRelIDs(t, items[1]); !slices.Equal(got, []string{c, a, b}) {
		t.Errorf("listed components = %v", got)
	}

	// A viewer reads flows but does not write them.
	v := newUser(t, e)
	addMember(t, e, tid, v, []string{"viewer"}, nil)
	e.Get(base+"/"+fid, &v).ExpectStatus(t, http.StatusOK)
	expectError(t, e.Post(base, &v, doc("flow", map[string]any{"name": "x"}, nil)), http.StatusForbidden, "permission_denied", "")
	expectError(t, e.Delete(base+"/"+fid, &v), http.StatusForbidden, "permission_denied", "")
}

func TestFlowComponentProblems(t *testing.T) {
	e := apitest.New(t)
	su := &e.Super
	tid, otherTid := newTenant(t, e), newTenant(t, e)
	a := newComponent(t, e, tid, su, map[string]any{"name": "a"})
	b := newComponent(t, e, tid, su, map[string]any{"name": "b"})
	needsClient := newComponent(t, e, tid, su, map[string]any{"name": "sf", "descriptor": map[string]any{"useOAuthClient": true}})
	othersPrivate := newComponent(t, e, otherTid, su, map[string]any{"name": "private"})
	globalNeedsClient := newComponent(t, e, otherTid, su, map[string]any{"name": "gsf", "visibility": "global",
		"descriptor": map[string]any{"useOAuthClient": true}})
	globalPlain := newComponent(t, e, otherTid, su, map[string]any{"name": "gplain", "visibility": "global"})
	base := "/v2/tenants/" + tid + "/flows"
	post := func(ids ...string) *apitest.Response {
		return e.Post(base, su, doc("flow", map[string]any{"name": "f"}, map[string]any{"components": rels("component", ids...)}))
	}

	expectError(t, post(a, a), http.StatusUnprocessableEntity, "duplicate_component", "/data/relationships/components/data/1/id")
	expectError(t, post(a, b, "00000000-0000-4000-8000-000000000000"), http.StatusUnprocessableEntity, "component_not_found", "/data/relationships/components/data/2/id")
	expectError(t, post("nope", a), http.StatusUnprocessableEntity, "component_not_found", "/data/relationships/components/data/0/id")
	// Another tenant's private component is exactly an id that names nothing.
	expectError(t, post(a, othersPrivate), http.StatusUnprocessableEntity, "component_not_found", "/data/relationships/components/data/1/id")
	expectError(t, post(needsClient), http.StatusUnprocessableEntity, "oauth_client_required", "/data/relationships/components/data/0/id")
	expectError(t, post(globalNeedsClient), http.StatusUnprocessableEntity, "oauth_client_required", "/data/relationships/components/data/0/id")
	// Every problem at once.
	r := post(a, a, othersPrivate)
	if n := len(r.ExpectStatus(t, http.StatusUnprocessableEntity).Errors(t)); n != 2 {
		t.Errorf("want 2 errors, got %d: %s", n, r.Body)
	}
	r = e.Post(base, su, doc("flow", map[string]any{"name": ""}, map[string]any{"components": rels("component", a, a)}))
	expectError(t, r, http.StatusUnprocessableEntity, "required", "/data/attributes/name")
	expectError(t, r, http.StatusUnprocessableEntity, "duplicate_component", "/data/relationships/components/data/1/id")
	expectError(t, e.Post(base, su, doc("flow", map[string]any{"name": "f"}, map[string]any{"components": map[string]any{
		"data": []any{map[string]any{"type": "flow", "id": a}}}})), http.StatusConflict, "type_mismatch", "")
	if ids := listIDs(t, e.Get(base, su)); len(ids) != 0 {
		t.Fatalf("refused creates left flows: %v", ids)
	}

	// A global component without an OAuth client requirement is usable at once;
	// one that needs a client is usable after the tenant defines its own.
	e.Post("/v2/tenants/"+tid+"/oauth-clients", su, oauthClientDoc(globalNeedsClient, "cid", "secret-value")).ExpectStatus(t, http.StatusCreated)
	f := post(globalPlain, globalNeedsClient, a).ExpectStatus(t, http.StatusCreated)
	if got := cfFlowComponents(t, f); !slices.Equal(got, []string{globalPlain, globalNeedsClient, a}) {
		t.Errorf("components = %v", got)
	}
}

func TestFlowUpdateFilterDelete(t *testing.T) {
	e := apitest.New(t)
	su := &e.Super
	tid, otherTid := newTenant(t, e), newTenant(t, e)
	a := newComponent(t, e, tid, su, map[string]any{"name": "a"})
	b := newComponent(t, e, tid, su, map[string]any{"name": "b"})
	c := newComponent(t, e, tid, su, map[string]any{"name": "c"})
	base := "/v2/tenants/" + tid + "/flows"
	f1 := newFlow(t, e, tid, su, "flow-"+uniq(), a, b)
	f2 := newFlow(t, e, tid, su, "flow-"+uniq(), b)

	// PATCH replaces the whole list, in the order given.
	up := e.Patch(base+"/"+f1, su, doc("flow", nil, map[string]any{"components": rels("component", c, a)})).ExpectStatus(t, http.StatusOK)
	if got := cfFlowComponents(t, up); !slices.Equal(got, []string{c, a}) {
		t.Errorf("after PATCH = %v, want [c a]", got)
	}
	// A name-only PATCH keeps the components.
	up = e.Patch(base+"/"+f1, su, doc("flow", map[string]any{"name": "renamed"}, nil)).ExpectStatus(t, http.StatusOK)
	if up.Attr(t, "name") != "renamed" || !slices.Equal(cfFlowComponents(t, up), []string{c, a}) {
		t.Errorf("after rename: %s", up.Body)
	}
	// A refused PATCH changes nothing.
	expectError(t, e.Patch(base+"/"+f1, su, doc("flow", map[string]any{"name": "x"}, map[string]any{"components": rels("component", b, b)})), http.StatusUnprocessableEntity, "duplicate_component", "/data/relationships/components/data/1/id")
	if got := e.Get(base+"/"+f1, su); got.Attr(t, "name") != "renamed" || !slices.Equal(cfFlowComponents(t, got), []string{c, a}) {
		t.Errorf("after refused PATCH: %s", got.Body)
	}
	// Emptying the list is allowed.
	if got := cfFlowComponents(t, e.Patch(base+"/"+f2, su, doc("flow", nil, map[string]any{"components": rels("component")})).ExpectStatus(t, http.StatusOK)); len(got) != 0 {
		t.Errorf("emptied flow = %v", got)
	}
	e.Patch(base+"/"+f2, su, doc("flow", nil, map[string]any{"components": rels("component", a, b)})).ExpectStatus(t, http.StatusOK)

	// filter[component]
	for comp, want := range map[string][]string{a: {f1, f2}, b: {f2}, c: {f1}} {
		got := listIDs(t, e.Get(base+"?filter[component]="+comp+"&sort=created_at", su).ExpectStatus(t, http.StatusOK))
		if !slices.Equal(got, want) {
			t.Errorf("filter[component]=%s: %v, want %v", comp, got, want)
		}
	}
	if got := listIDs(t, e.Get(base+"?filter[component]=00000000-0000-4000-8000-000000000000", su)); len(got) != 0 {
		t.Errorf("filter on an unknown component: %v", got)
	}
	expectError(t, e.Get(base+"?filter[component]=nope", su), http.StatusBadRequest, "invalid_id", "")

	// Another tenant does not see or touch these flows.
	expectError(t, e.Get("/v2/tenants/"+otherTid+"/flows/"+f1, su), http.StatusNotFound, "flow_not_found", "")
	expectError(t, e.Patch("/v2/tenants/"+otherTid+"/flows/"+f1, su, doc("flow", map[string]any{"name": "x"}, nil)), http.StatusNotFound, "flow_not_found", "")
	expectError(t, e.Delete("/v2/tenants/"+otherTid+"/flows/"+f1, su), http.StatusNotFound, "flow_not_found", "")
	if got := listIDs(t, e.Get("/v2/tenants/"+otherTid+"/flows?filter[component]="+a, su)); len(got) != 0 {
		t.Errorf("other tenant's filtered list: %v", got)
	}

	r := e.Delete(base+"/"+f1, su).ExpectStatus(t, http.StatusNoContent)
	if len(r.Body) != 0 {
		t.Errorf("DELETE body: %s", r.Body)
	}
	expectError(t, e.Get(base+"/"+f1, su), http.StatusNotFound, "flow_not_found", "")
	expectError(t, e.Delete(base+"/"+f1, su), http.StatusNotFound, "flow_not_found", "")
	if got := listIDs(t, e.Get(base, su)); !slices.Equal(got, []string{f2}) {
		t.Errorf("flows after delete = %v", got)
	}
	// With no flow using it, c can be deleted.
	e.Delete("/v2/tenants/"+tid+"/components/"+c, su).ExpectStatus(t, http.StatusNoContent)
}
