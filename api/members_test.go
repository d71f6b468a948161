package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
)

// cfTenantWithOAuthClient creates a tenant holding an OAuth-client component
// and one client for it (made by the superuser).
func cfTenantWithOAuthClient(t *testing.T, e *apitest.Env) (tid, componentID, clientID string) {
	t.Helper()
	tid = newTenant(t, e)
	componentID = newComponent(t, e, tid, &e.Super, map[string]any{"descriptor": map[string]any{"useOAuthClient": true}})
	clientID = e.Post("/v2/tenants/"+tid+"/oauth-clients", &e.Super, oauthClientDoc(componentID, "client", "secret-value")).
		ExpectStatus(t, http.StatusCreated).ID(t)
	return tid, componentID, clientID
}

func TestMemberAdminManagesOAuthClientsAtOnce(t *testing.T) {
	e := apitest.New(t)
	tid, _, existing := cfTenantWithOAuthClient(t, e)
	otherTid, _, otherClient := cfTenantWithOAuthClient(t, e)
	u := newUser(t, e)

	// Before membership the tenant does not exist for u.
	expectError(t, e.Get("/v2/tenants/"+tid+"/oauth-clients", &u), http.StatusNotFound, "tenant_not_found", "")

	m := e.Post("/v2/tenants/"+tid+"/members", &e.Super, memberDoc(u.UserID, []string{"admin"}, nil)).ExpectStatus(t, http.StatusCreated)
	if m.ID(t) != u.UserID || m.Attr(t, "email") != u.Email {
		t.Errorf("member = %s", m.Body)
	}
	if loc := m.Header.Get("Location"); loc != "/v2/tenants/"+tid+"/members/"+u.UserID {
		t.Errorf("Location = %q", loc)
	}
	if roles := m.Attr(t, "roles"); !slices.Equal(toStrings(roles), []string{"admin"}) {
		t.Errorf("roles = %v", roles)
	}

	// Immediately: no wait for a policy reload.
	cid := newComponent(t, e, tid, &u, map[string]any{"descriptor": map[string]any{"useOAuthClient": true}})
	oc := e.Post("/v2/tenants/"+tid+"/oauth-clients", &u, oauthClientDoc(cid, "mine", "my-secret-value")).ExpectStatus(t, http.StatusCreated).ID(t)
	e.Get("/v2/tenants/"+tid+"/oauth-clients", &u).ExpectStatus(t, http.StatusOK)
	e.Get("/v2/tenants/"+tid+"/oauth-clients/"+existing, &u).ExpectStatus(t, http.StatusOK)
	e.Patch("/v2/tenants/"+tid+"/oauth-clients/"+oc, &u, doc("oauth-client", map[string]any{"client_id": "renamed"}, nil)).ExpectStatus(t, http.StatusOK)
	// admin does not include reveal_secret.
	r := expectError(t, e.Get("/v2/tenants/"+tid+"/oauth-clients/"+oc+"/secret", &u), http.StatusForbidden, "permission_denied", "")
	if meta, _ := r["meta"].(map[string]any); meta["permission"] != "tenants.oauth_clients.reveal_secret" {
		t.Errorf("403 does not name the permission: %v", r)
	}
	e.Delete("/v2/tenants/"+tid+"/oauth-clients/"+oc, &u).ExpectStatus(t, http.StatusNoContent)

	// Another tenant does not exist for u, whatever the path under it.
	for _, path := range []string{
		"", "/oauth-clients", "/oauth-clients/" + otherClient, "/oauth-clients/" + otherClient + "/secret",
		"/components", "/members", "/audit-events",
	} {
		expectError(t, e.Get("/v2/tenants/"+otherTid+path, &u), http.StatusNotFound, "tenant_not_found", "")
	}
	expectError(t, e.Delete("/v2/tenants/"+otherTid+"/oauth-clients/"+otherClient, &u), http.StatusNotFound, "tenant_not_found", "")
	e.Get("/v2/tenants/"+otherTid+"/oauth-clients/"+otherClient, &e.Super).ExpectStatus(t, http.StatusOK)
}

func TestMemberWithoutGrantsIsForbiddenEverywhereGuarded(t *testing.T) {
	e := apitest.New(t)
	tid, cid, oc := cfTenantWithOAuthClient(t, e)
	u := newUser(t, e)

	m := e.Post("/v2/tenants/"+tid+"/members", &e.Super, memberDoc(u.UserID, nil, nil)).ExpectStatus(t, http.StatusCreated)
	if len(toStrings(m.Attr(t, "roles"))) != 0 || len(toStrings(m.Attr(t, "permissions"))) != 0 {
		t.Errorf("member holds grants: %s", m.Body)
	}
	// The tenant itself is visible to a member.
	e.Get("/v2/tenants/"+tid, &u).ExpectStatus(t, http.StatusOK)
	base := "/v2/tenants/" + tid
	for _, c := range []struct{ method, path string }{
		{"GET", "/oauth-clients"}, {"GET", "/oauth-clients/" + oc}, {"GET", "/oauth-clients/" + oc + "/secret"},
		{"DELETE", "/oauth-clients/" + oc}, {"GET", "/components"}, {"GET", "/components/" + cid},
		{"DELETE", "/components/" + cid}, {"GET", "/flows"}, {"GET", "/members"}, {"GET", "/members/" + u.UserID},
		{"DELETE", "/members/" + u.UserID}, {"GET", "/audit-events"},
	} {
		expectError(t, e.Do(apitest.Request{Method: c.method, Path: base + c.path, Auth: &u}), http.StatusForbidden, "permission_denied", "")
	}
	expectError(t, e.Post(base+"/oauth-clients", &u, oauthClientDoc(cid, "x", "yyyyyyyy")), http.StatusForbidden, "permission_denied", "")
	expectError(t, e.Post(base+"/components", &u, doc("component", map[string]any{"name": "c"}, nil)), http.StatusForbidden, "permission_denied", "")
	expectError(t, e.Post(base+"/members", &u, memberDoc(u.UserID, nil, nil)), http.StatusForbidden, "permission_denied", "")
	// Nothing changed.
	e.Get(base+"/oauth-clients/"+oc, &e.Super).ExpectStatus(t, http.StatusOK)
	e.Get(base+"/members/"+u.UserID, &e.Super).ExpectStatus(t, http.StatusOK)
}

// "To acquire these permissions, please contact support" (elastic.io's OAuth clients management docs): a
// single permission, without a role.
func TestMemberSinglePermissionAllowsOnlyThat(t *testing.T) {
	e := apitest.New(t)
	tid, cid, oc := cfTenantWithOAuthClient(t, e)
	u := newUser(t, e)
	m := e.Post("/v2/tenants/"+tid+"/members", &e.Super, memberDoc(u.UserID, nil, []string{"tenants.oauth_clients.get"})).
		ExpectStatus(t, http.StatusCreated)
	if got := toStrings(m.Attr(t, "permissions")); !slices.Equal(got, []string{"tenants.oauth_clients.get"}) {
		t.Errorf("permissions = %v", got)
	}
	base := "/v2/tenants/" + tid + "/oauth-clients"
	if ids := listIDs(t, e.Get(base, &u).ExpectStatus(t, http.StatusOK)); !slices.Equal(ids, []string{oc}) {
		t.Errorf("list = %v", ids)
	}
	e.Get(base+"/"+oc, &u).ExpectStatus(t, http.StatusOK)
	expectError(t, e.Post(base, &u, oauthClientDoc(cid, "x", "yyyyyyyy")), http.StatusForbidden, "permission_denied", "")
	expectError(t, e.Patch(base+"/"+oc, &u, doc("oauth-client", map[string]any{"client_id": "x"}, nil)), http.StatusForbidden, "permission_denied", "")
	expectError(t, e.Delete(base+"/"+oc, &u), http.StatusForbidden, "permission_denied", "")
	expectError(t, e.Get(base+"/"+oc+"/secret", &u), http.StatusForbidden, "permission_denied", "")
	expectError(t, e.Get("/v2/tenants/"+tid+"/components", &u), http.StatusForbidden, "permission_denied", "")

	// A pattern grants every matching permission, reveal_secret included.
	e.Patch("/v2/tenants/"+tid+"/members/"+u.UserID, &e.Super, doc("member", map[string]any{"permissions": []string{"tenants.oauth_clients.*"}}, nil)).
		ExpectStatus(t, http.StatusOK)
	if got := e.Get(base+"/"+oc+"/secret", &u).ExpectStatus(t, http.StatusOK).Attr(t, "client_secret"); got != "secret-value" {
		t.Errorf("revealed %v", got)
	}
}

func TestMemberUpdateAndRemoveTakeEffectAtOnce(t *testing.T) {
	e := apitest.New(t)
	tid, cid, _ := cfTenantWithOAuthClient(t, e)
	u := newUser(t, e)
	addMember(t, e, tid, u, []string{"viewer"}, nil)
	base := "/v2/tenants/" + tid
	e.Get(base+"/components", &u).ExpectStatus(t, http.StatusOK)
	expectError(t, e.Post(base+"/components", &u, doc("component", map[string]any{"name": "c"}, nil)), http.StatusForbidden, "permission_denied", "")

	up := e.Patch(base+"/members/"+u.UserID, &e.Super, doc("member", map[string]any{"roles": []string{"developer"}}, nil)).ExpectStatus(t, http.StatusOK)
	if got := toStrings(up.Attr(t, "roles")); !slices.Equal(got, []string{"developer"}) {
		t.Errorf("roles after PATCH = %v", got)
	}
	e.Post(base+"/components", &u, doc("component", map[string]any{"name": "c"}, nil)).ExpectStatus(t, http.StatusCreated)
	// Permissions untouched by a PATCH of roles only, and vice versa.
	e.Patch(base+"/members/"+u.UserID, &e.Super, doc("member", map[string]any{"permissions": []string{"tenants.audit.get"}}, nil)).ExpectStatus(t, http.StatusOK)
	got := e.Get(base+"/members/"+u.UserID, &e.Super).ExpectStatus(t, http.StatusOK)
	if !slices.Equal(toStrings(got.Attr(t, "roles")), []string{"developer"}) || !slices.Equal(toStrings(got.Attr(t, "permissions")), []string{"tenants.audit.get"}) {
		t.Errorf("member after two PATCHes: %s", got.Body)
	}
	e.Get(base+"/audit-events", &u).ExpectStatus(t, http.StatusOK)

	e.Patch(base+"/members/"+u.UserID, &e.Super, doc("member", map[string]any{"roles": []string{}, "permissions": []string{}}, nil)).ExpectStatus(t, http.StatusOK)
	expectError(t, e.Get(base+"/components/"+cid, &u), http.StatusForbidden, "permission_denied", "")
	expectError(t, e.Get(base+"/audit-events", &u), http.StatusForbidden, "permission_denied", "")

	e.Delete(base+"/members/"+u.UserID, &e.Super).ExpectStatus(t, http.StatusNoContent)
	expectError(t, e.Get(base, &u), http.StatusNotFound, "tenant_not_found", "")
	expectError(t, e.Get(base+"/members/"+u.UserID, &e.Super), http.StatusNotFound, "member_not_found", "")
	expectError(t, e.Delete(base+"/members/"+u.UserID, &e.Super), http.StatusNotFound, "member_not_found", "")
	var rules int
	if err := e.App.DB.SQL().QueryRow("SELECT count(*) FROM member_grants WHERE user_id = $1", u.UserID).Scan(&rules); err != nil {
		t.Fatal(err)
	}
	if rules != 0 {
		t.Errorf("%d policy rows left for the removed member", rules)
	}
	// Re-adding starts from nothing.
	addMember(t, e, tid, u, nil, nil)
	expectError(t, e.Get(base+"/components", &u), http.StatusForbidden, "permission_denied", "")
}

func TestMemberValidation(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	u := newUser(t, e)
	base := "/v2/tenants/" + tid + "/members"

	r := e.Post(base, &e.Super, memberDoc(u.UserID, []string{"admin", "wizard"}, []string{"tenants.oauth_clients.get", "tenants.nothing.get"}))
	expectError(t, r, http.StatusUnprocessableEntity, "unknown_role", "/data/attributes/roles")
	expectError(t, r, http.StatusUnprocessableEntity, "unknown_permission", "/data/attributes/permissions")
	expectError(t, e.Post(base, &e.Super, memberDoc(u.UserID, []string{"viewer", "viewer"}, nil)), http.StatusUnprocessableEntity, "duplicate", "/data/attributes/roles")
	expectError(t, e.Post(base, &e.Super, memberDoc(u.UserID, nil, []string{"tenants.*.get"})), http.StatusUnprocessableEntity, "unknown_permission", "/data/attributes/permissions")
	// Nothing was created by the refused requests.
	expectError(t, e.Get(base+"/"+u.UserID, &e.Super), http.StatusNotFound, "member_not_found", "")

	expectError(t, e.Post(base, &e.Super, memberDoc("00000000-0000-4000-8000-000000000000", nil, nil)), http.StatusUnprocessableEntity, "user_not_found", "/data/relationships/user/data/id")
	expectError(t, e.Post(base, &e.Super, memberDoc("not-a-uuid", nil, nil)), http.StatusUnprocessableEntity, "user_not_found", "/data/relationships/user/data/id")
	e.Post(base, &e.Super, doc("member", map[string]any{"roles": []string{}}, nil)).ExpectStatus(t, http.StatusUnprocessableEntity)

	addMember(t, e, tid, u, []string{"viewer"}, nil)
	expectError(t, e.Post(base, &e.Super, memberDoc(u.UserID, nil, nil)), http.StatusConflict, "already_member", "")
	expectError(t, e.Patch(base+"/"+u.UserID, &e.Super, doc("member", map[string]any{"roles": []string{"nope"}}, nil)), http.StatusUnprocessableEntity, "unknown_role", "/data/attributes/roles")
	if got := toStrings(e.Get(base+"/"+u.UserID, &e.Super).Attr(t, "roles")); !slices.Equal(got, []string{"viewer"}) {
		t.Errorf("a refused PATCH changed roles to %v", got)
	}
	expectError(t, e.Patch(base+"/00000000-0000-4000-8000-000000000000", &e.Super, doc("member", map[string]any{"roles": []string{}}, nil)), http.StatusNotFound, "member_not_found", "")

	list := e.Get(base+"?sort=email", &e.Super).ExpectStatus(t, http.StatusOK)
	if ids := listIDs(t, list); !slices.Equal(ids, []string{u.UserID}) {
		t.Errorf("members = %v", ids)
	}
}

// A member who manages members cannot hand out more than they hold.
func TestMemberCannotGrantBeyondOwnRights(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	admin := newUser(t, e)
	addMember(t, e, tid, admin, []string{"admin"}, nil)
	target := newUser(t, e)
	base := "/v2/tenants/" + tid + "/members"

	expectError(t, e.Post(base, &admin, memberDoc(target.UserID, []string{"platform"}, nil)), http.StatusForbidden, "grant_exceeds_own", "/data/attributes/roles")
	expectError(t, e.Post(base, &admin, memberDoc(target.UserID, []string{"owner"}, nil)), http.StatusForbidden, "grant_exceeds_own", "/data/attributes/roles")
	expectError(t, e.Post(base, &admin, memberDoc(target.UserID, nil, []string{"tenants.oauth_clients.reveal_secret"})), http.StatusForbidden, "grant_exceeds_own", "/data/attributes/permissions")
	expectError(t, e.Post(base, &admin, memberDoc(target.UserID, nil, []string{"tenants.oauth_clients.*"})), http.StatusForbidden, "grant_exceeds_own", "/data/attributes/permissions")
	expectError(t, e.Get(base+"/"+target.UserID, &admin), http.StatusNotFound, "member_not_found", "")

	// What the admin holds, it may grant.
	e.Post(base, &admin, memberDoc(target.UserID, []string{"viewer", "developer"}, []string{"tenants.audit.get"})).ExpectStatus(t, http.StatusCreated)
	expectError(t, e.Patch(base+"/"+target.UserID, &admin, doc("member", map[string]any{"roles": []string{"platform"}}, nil)), http.StatusForbidden, "grant_exceeds_own", "/data/attributes/roles")
	e.Patch(base+"/"+target.UserID, &admin, doc("member", map[string]any{"roles": []string{"admin"}}, nil)).ExpectStatus(t, http.StatusOK)

	// ... nor take away from someone who holds more than they do.
	owner := newUser(t, e)
	addMember(t, e, tid, owner, []string{"owner"}, nil)
	expectError(t, e.Patch(base+"/"+owner.UserID, &admin, doc("member", map[string]any{"roles": []string{}}, nil)), http.StatusForbidden, "grant_exceeds_own", "")
	expectError(t, e.Delete(base+"/"+owner.UserID, &admin), http.StatusForbidden, "grant_exceeds_own", "")
	if got := toStrings(e.Get(base+"/"+owner.UserID, &e.Super).Attr(t, "roles")); !slices.Equal(got, []string{"owner"}) {
		t.Errorf("owner's roles became %v", got)
	}
	// The owner may grant anything, the superuser too.
	e.Patch(base+"/"+target.UserID, &owner, doc("member", map[string]any{"roles": []string{"platform"}}, nil)).ExpectStatus(t, http.StatusOK)
	e.Delete(base+"/"+target.UserID, &owner).ExpectStatus(t, http.StatusNoContent)
}

func TestAuditEventsRecordMemberChanges(t *testing.T) {
	e := apitest.New(t)
	su := &e.Super
	tid, _, oc := cfTenantWithOAuthClient(t, e)
	otherTid := newTenant(t, e)
	u := newUser(t, e)
	base := "/v2/tenants/" + tid
	addMember(t, e, tid, u, []string{"viewer"}, nil)
	e.Patch(base+"/members/"+u.UserID, su, doc("member", map[string]any{"roles": []string{"admin"}, "permissions": []string{"tenants.audit.get"}}, nil)).
		ExpectStatus(t, http.StatusOK)
	e.Get(base+"/oauth-clients/"+oc+"/secret", su).ExpectStatus(t, http.StatusOK)
	e.Delete(base+"/members/"+u.UserID, su).ExpectStatus(t, http.StatusNoContent)
	addMember(t, e, otherTid, u, nil, nil)

	all := e.Get(base+"/audit-events?sort=created_at", su).ExpectStatus(t, http.StatusOK)
	var actions []string
	for _, it := range all.List(t) {
		actions = append(actions, it["attributes"].(map[string]any)["action"].(string))
	}
	want := []string{"component.create", "oauth_client.create", "member.create", "member.update", "oauth_client.reveal_secret", "member.delete"}
	if !slices.Equal(actions, want) {
		t.Errorf("actions oldest first = %v, want %v", actions, want)
	}
	if strings.Contains(string(all.Body), "secret-value") {
		t.Errorf("the audit log holds a secret: %s", all.Body)
	}
	newest := listIDs(t, e.Get(base+"/audit-events", su))
	oldest := listIDs(t, all)
	slices.Reverse(oldest)
	if !slices.Equal(newest, oldest) {
		t.Errorf("default order is not newest first: %v vs %v", newest, oldest)
	}
	if desc := listIDs(t, e.Get(base+"/audit-events?sort=-created_at", su)); !slices.Equal(desc, oldest) {
		t.Errorf("sort=-created_at = %v", desc)
	}

	members := e.Get(base+"/audit-events?filter[resource_type]=member&sort=created_at", su).ExpectStatus(t, http.StatusOK)
	items := members.List(t)
	if len(items) != 3 {
		t.Fatalf("member events = %s", members.Body)
	}
	for i, act := range []string{"member.create", "member.update", "member.delete"} {
		a := items[i]["attributes"].(map[string]any)
		if a["action"] != act || a["resource_id"] != u.UserID || a["actor_email"] != e.Super.Email || a["actor_id"] != e.Super.UserID {
			t.Errorf("event %d = %v", i, a)
		}
		if a["request_id"] == "" || a["remote_addr"] == "" {
			t.Errorf("event %d lacks where it came from: %v", i, a)
		}
	}
	upd := items[1]["attributes"].(map[string]any)["details"].(map[string]any)
	if !slices.Equal(toStrings(upd["roles"]), []string{"admin"}) || !slices.Equal(toStrings(upd["permissions"]), []string{"tenants.audit.get"}) {
		t.Errorf("member.update details = %v", upd)
	}
	if got := listIDs(t, e.Get(base+"/audit-events?filter[action]=member.update", su)); len(got) != 1 || got[0] != items[1]["id"] {
		t.Errorf("filter[action]=member.update = %v", got)
	}
	if got := listIDs(t, e.Get(base+"/audit-events?filter[action]=member.update&filter[resource_type]=oauth-client", su)); len(got) != 0 {
		t.Errorf("filters do not combine: %v", got)
	}
	if m := listMeta(t, e.Get(base+"/audit-events?filter[resource_type]=oauth-client", su)); m["total"] != float64(2) {
		t.Errorf("oauth-client events total = %v", m["total"])
	}
	// Each tenant has its own log.
	other := e.Get("/v2/tenants/"+otherTid+"/audit-events", su).ExpectStatus(t, http.StatusOK).List(t)
	if len(other) != 1 || other[0]["attributes"].(map[string]any)["action"] != "member.create" {
		t.Errorf("other tenant's log = %v", other)
	}
	expectError(t, e.Get(base+"/audit-events?filter[actor]=x", su), http.StatusBadRequest, "unknown_filter", "")
	expectError(t, e.Get(base+"/audit-events?sort=resource_id", su), http.StatusBadRequest, "unknown_sort_field", "")
	expectError(t, e.Get(base+"/audit-events?page[size]=101", su), http.StatusBadRequest, "invalid_page_size", "")
	p := e.Get(base+"/audit-events?page[size]=2&page[number]=2&sort=created_at", su).ExpectStatus(t, http.StatusOK)
	if got := listIDs(t, p); !slices.Equal(got, listIDs(t, all)[2:4]) {
		t.Errorf("page 2 = %v", got)
	}
}
