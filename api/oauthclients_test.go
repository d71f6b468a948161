package api_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/api/apitest"
)

// docsCreateBody and docsPatchBody are elastic.io's curl -d arguments,
// byte for byte, with the placeholders left in for strings.NewReplacer.
const docsCreateBody = `
   {
     "data":{
       "type":"oauth-client",
       "attributes":{
         "client_id":"{CLIENT_ID}",
         "client_secret":"{CLIENT_SECRET}"
       },
       "relationships":{
         "component":{
           "data":{
             "id":"{COMPONENT_ID}",
             "type":"component"
           }
         }
       }
     }
   }`

const docsPatchBody = `
  {
    "data":{
      "type":"oauth-client",
      "attributes":{
        "client_id":"{CLIENT_ID}",
        "client_secret":"{CLIENT_SECRET}"
      },
      "relationships":{
        "component":{
          "data":{
            "id":"{COMPONENT_ID}",
            "type":"component"
          }
        }
      }
    }
  }`

// docsPermissions are the four permissions elastic.io lists.
var docsPermissions = []string{"tenants.oauth_clients.get", "tenants.oauth_clients.edit",
	"tenants.oauth_clients.create", "tenants.oauth_clients.delete"}

// curlJSON sends body as curl -H 'Content-Type: application/json' -d would.
func curlJSON(e *apitest.Env, method, path string, creds *apitest.Creds, body string) *apitest.Response {
	return e.Do(apitest.Request{Method: method, Path: path, Auth: creds, Body: body,
		Header: http.Header{"Content-Type": {"application/json"}}})
}

func expectJSONAPI(t *testing.T, r *apitest.Response) {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/vnd.api+json" {
		t.Errorf("Content-Type %q, want application/vnd.api+json", ct)
	}
}

// expectClient checks an oauth-client resource object.
func expectClient(t *testing.T, data map[string]any, id, clientID, hint, componentID string, usable bool) {
	t.Helper()
	if data["type"] != "oauth-client" {
		t.Errorf("type %v, want oauth-client", data["type"])
	}
	if id != "" && data["id"] != id {
		t.Errorf("id %v, want %s", data["id"], id)
	}
	attrs, _ := data["attributes"].(map[string]any)
	if attrs["client_id"] != clientID {
		t.Errorf("client_id %v, want %q", attrs["client_id"], clientID)
	}
	if _, ok := attrs["client_secret"]; ok {
		t.Errorf("attributes hold client_secret: %v", attrs)
	}
	if attrs["client_secret_hint"] != hint {
		t.Errorf("client_secret_hint %v, want %q", attrs["client_secret_hint"], hint)
	}
	if attrs["usable"] != usable {
		t.Errorf("usable %v, want %v", attrs["usable"], usable)
	}
	if got := relID(t, data, "component"); got != componentID {
		t.Errorf("component %s, want %s", got, componentID)
	}
}

// TestOAuthClientElasticioCurl runs elastic.io's curl commands as written.
func TestOAuthClientElasticioCurl(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	user := newMember(t, e, tid, nil, docsPermissions)
	comp := newOAuthComponent(t, e, tid, &e.Super)
	comp2 := newOAuthComponent(t, e, tid, &e.Super)

	secret := "stored-secret-" + uniq() + "WXYZ"
	fill := strings.NewReplacer("{CLIENT_ID}", "3MVG9.salesforce.key", "{CLIENT_SECRET}", secret, "{COMPONENT_ID}", comp)
	base := tenantPath(tid, "/oauth-clients")

	created := curlJSON(e, http.MethodPost, base, &user, fill.Replace(docsCreateBody)).ExpectStatus(t, http.StatusCreated)
	expectJSONAPI(t, created)
	id := created.ID(t)
	if _, err := uuid.Parse(id); err != nil {
		t.Fatalf("id %q is not a uuid", id)
	}
	if loc := created.Header.Get("Location"); !strings.HasSuffix(loc, base+"/"+id) {
		t.Errorf("Location %q, want …%s/%s", loc, base, id)
	}
	expectClient(t, created.Data(t), id, "3MVG9.salesforce.key", "WXYZ", comp, true)

	list := e.Get(base, &user).ExpectStatus(t, http.StatusOK)
	expectJSONAPI(t, list)
	items := list.List(t)
	if len(items) != 1 {
		t.Fatalf("list holds %d clients, want 1: %s", len(items), list.Body)
	}
	expectClient(t, items[0], id, "3MVG9.salesforce.key", "WXYZ", comp, true)

	// elastic.io's own URL: trailing slash, unescaped brackets.
	filtered := e.Get(base+"/?filter[component]="+comp, &user).ExpectStatus(t, http.StatusOK)
	expectJSONAPI(t, filtered)
	if items := filtered.List(t); len(items) != 1 || items[0]["id"] != id {
		t.Fatalf("filter[component]=%s: %s", comp, filtered.Body)
	}
	other := e.Get(base+"/?filter[component]="+comp2, &user).ExpectStatus(t, http.StatusOK)
	if items := other.List(t); len(items) != 0 {
		t.Fatalf("filter on a component without a client lists %d: %s", len(items), other.Body)
	}

	// elastic.io's example verbatim, placeholder empty: no filter.
	literal := e.Get(base+"/?filter[component]=", &user).ExpectStatus(t, http.StatusOK)
	if items := literal.List(t); len(items) != 1 || items[0]["id"] != id {
		t.Fatalf("filter[component]= (empty): %s", literal.Body)
	}

	got := e.Get(base+"/"+id, &user).ExpectStatus(t, http.StatusOK)
	expectJSONAPI(t, got)
	expectClient(t, got.Data(t), id, "3MVG9.salesforce.key", "WXYZ", comp, true)

	// PATCH exactly as elastic.io's docs: no data.id, every field, moved to comp2.
	secret2 := "rotated-secret-" + uniq() + "9876"
	fill2 := strings.NewReplacer("{CLIENT_ID}", "3MVG9.rotated", "{CLIENT_SECRET}", secret2, "{COMPONENT_ID}", comp2)
	patched := curlJSON(e, http.MethodPatch, base+"/"+id, &user, fill2.Replace(docsPatchBody)).ExpectStatus(t, http.StatusOK)
	expectJSONAPI(t, patched)
	expectClient(t, patched.Data(t), id, "3MVG9.rotated", "9876", comp2, true)
	expectClient(t, e.Get(base+"/"+id, &user).ExpectStatus(t, http.StatusOK).Data(t), id, "3MVG9.rotated", "9876", comp2, true)

	// curl -i ... -X DELETE
	del := e.Delete(base+"/"+id, &user).ExpectStatus(t, http.StatusNoContent)
	if len(del.Body) != 0 {
		t.Errorf("DELETE body %q, want empty", del.Body)
	}
	expectError(t, e.Get(base+"/"+id, &user), http.StatusNotFound, "oauth_client_not_found", "")
	if n := countRows(t, e, "SELECT count(*) FROM oauth_clients WHERE tenant_id = $1", tid); n != 0 {
		t.Errorf("%d rows left after delete", n)
	}
	for _, r := range []*apitest.Response{created, list, filtered, got, patched} {
		if bytes.Contains(r.Body, []byte(secret)) || bytes.Contains(r.Body, []byte(secret2)) {
			t.Errorf("a response holds the secret: %s", r.Body)
		}
	}
}

// TestOAuthClientPatch covers PATCH of any subset and its conflicts.
func TestOAuthClientPatch(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	admin := newMember(t, e, tid, []string{"admin"}, []string{"tenants.oauth_clients.reveal_secret"})
	a := newOAuthComponent(t, e, tid, &admin)
	b := newOAuthComponent(t, e, tid, &admin)
	c := newOAuthComponent(t, e, tid, &admin)
	base := tenantPath(tid, "/oauth-clients")
	id := mustOAuthClient(t, e, tid, &admin, a, "client-a", "first-secret-0001")
	idB := mustOAuthClient(t, e, tid, &admin, b, "client-b", "other-secret-0002")
	reveal := func(id string) string {
		t.Helper()
		s, _ := e.Get(base+"/"+id+"/secret", &admin).ExpectStatus(t, http.StatusOK).Attr(t, "client_secret").(string)
		return s
	}

	// Only client_secret.
	r := e.Patch(base+"/"+id, &admin, doc("oauth-client", map[string]any{"client_secret": "second-secret-0003"}, nil)).ExpectStatus(t, http.StatusOK)
	expectClient(t, r.Data(t), id, "client-a", "0003", a, true)
	if s := reveal(id); s != "second-secret-0003" {
		t.Errorf("secret after PATCH is %q", s)
	}
	// Only client_id, with a data.id that matches the URL.
	r = e.Patch(base+"/"+id, &admin, docWithID("oauth-client", id, map[string]any{"client_id": "client-a2"}, nil)).ExpectStatus(t, http.StatusOK)
	expectClient(t, r.Data(t), id, "client-a2", "0003", a, true)
	if s := reveal(id); s != "second-secret-0003" {
		t.Errorf("secret changed by a PATCH of client_id: %q", s)
	}
	// The same id in upper case, in the URL and in the body, is the same client.
	upper := strings.ToUpper(id)
	r = e.Patch(base+"/"+upper, &admin, docWithID("oauth-client", upper, map[string]any{"client_id": "client-a2"}, nil)).ExpectStatus(t, http.StatusOK)
	expectClient(t, r.Data(t), id, "client-a2", "0003", a, true)
	// A PATCH that changes nothing writes nothing: same updated_at, no audit event.
	updates := func() int {
		return countRows(t, e, "SELECT count(*) FROM audit_events WHERE tenant_id = $1 AND action = 'oauth_client.update'", tid)
	}
	updatedAt := func() string {
		var s string
		if err := e.App.DB.SQL().QueryRow("SELECT updated_at::text FROM oauth_clients WHERE id = $1", id).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before, n := updatedAt(), updates()
	for _, body := range []map[string]any{doc("oauth-client", nil, nil),
		doc("oauth-client", map[string]any{"client_id": "client-a2"}, map[string]any{"component": rel("component", a)})} {
		r = e.Patch(base+"/"+id, &admin, body).ExpectStatus(t, http.StatusOK)
		expectClient(t, r.Data(t), id, "client-a2", "0003", a, true)
		if after := updatedAt(); after != before {
			t.Errorf("a no-op PATCH moved updated_at from %v to %v", before, after)
		}
	}
	if updates() != n {
		t.Errorf("a no-op PATCH wrote an audit event")
	}
	// Only the component.
	r = e.Patch(base+"/"+id, &admin, doc("oauth-client", nil, map[string]any{"component": rel("component", c)})).ExpectStatus(t, http.StatusOK)
	expectClient(t, r.Data(t), id, "client-a2", "0003", c, true)
	// The same component again is no move.
	e.Patch(base+"/"+id, &admin, doc("oauth-client", nil, map[string]any{"component": rel("component", c)})).ExpectStatus(t, http.StatusOK)
	// A component now free takes a new client.
	mustOAuthClient(t, e, tid, &admin, a, "client-a-new", "fresh-secret-0004")

	// data.id differing from the URL: 409, nothing changed.
	r = e.Patch(base+"/"+id, &admin, docWithID("oauth-client", idB, map[string]any{"client_id": "hijack"}, nil))
	r.ExpectStatus(t, http.StatusConflict)
	expectClient(t, e.Get(base+"/"+id, &admin).ExpectStatus(t, http.StatusOK).Data(t), id, "client-a2", "0003", c, true)
	expectClient(t, e.Get(base+"/"+idB, &admin).ExpectStatus(t, http.StatusOK).Data(t), idB, "client-b", "0002", b, true)

	// Moving onto a component that has a client: 409, nothing changed
	// (not even the other fields sent along).
	r = e.Patch(base+"/"+id, &admin, doc("oauth-client", map[string]any{"client_id": "moved", "client_secret": "moved-secret-7777"},
		map[string]any{"component": rel("component", b)}))
	expectError(t, r, http.StatusConflict, "oauth_client_exists", "/data/relationships/component/data/id")
	expectClient(t, e.Get(base+"/"+id, &admin).ExpectStatus(t, http.StatusOK).Data(t), id, "client-a2", "0003", c, true)
	if s := reveal(id); s != "second-secret-0003" {
		t.Errorf("secret changed by a refused PATCH: %q", s)
	}
	if n := countRows(t, e, "SELECT count(*) FROM oauth_clients WHERE tenant_id = $1 AND component_id = $2", tid, b); n != 1 {
		t.Errorf("component b has %d clients", n)
	}

	// Moving off a component a flow uses: 409 naming the flow.
	flow := newFlow(t, e, tid, &admin, "uses-c", c)
	free := newOAuthComponent(t, e, tid, &admin)
	r = e.Patch(base+"/"+id, &admin, doc("oauth-client", nil, map[string]any{"component": rel("component", free)}))
	p := expectError(t, r, http.StatusConflict, "oauth_client_in_use", "")
	if d, _ := p["detail"].(string); !strings.Contains(d, flow) || !strings.Contains(d, "uses-c") {
		t.Errorf("detail does not name the flow: %q", d)
	}
	expectClient(t, e.Get(base+"/"+id, &admin).ExpectStatus(t, http.StatusOK).Data(t), id, "client-a2", "0003", c, true)
	// Changing the credentials of a client in use is fine.
	e.Patch(base+"/"+id, &admin, doc("oauth-client", map[string]any{"client_id": "client-a3"}, nil)).ExpectStatus(t, http.StatusOK)

	// A PATCH that names nothing of ours.
	expectError(t, e.Patch(base+"/"+uuid.NewString(), &admin, doc("oauth-client", map[string]any{"client_id": "x"}, nil)),
		http.StatusNotFound, "oauth_client_not_found", "")
	// Wrong type: 409.
	e.Patch(base+"/"+id, &admin, doc("component", map[string]any{"client_id": "x"}, nil)).ExpectStatus(t, http.StatusConflict)
	// Unknown attribute: 400.
	e.Patch(base+"/"+id, &admin, doc("oauth-client", map[string]any{"client_id": "x", "colour": "red"}, nil)).ExpectStatus(t, http.StatusBadRequest)
	expectClient(t, e.Get(base+"/"+id, &admin).ExpectStatus(t, http.StatusOK).Data(t), id, "client-a3", "0003", c, true)
}

// TestOAuthClientDeleteInUse: a flow that includes the component blocks
// the delete, and the 409 names every such flow.
func TestOAuthClientDeleteInUse(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	admin := newMember(t, e, tid, []string{"admin"}, nil)
	comp := newOAuthComponent(t, e, tid, &admin)
	plain := newComponent(t, e, tid, &admin, nil)
	id := mustOAuthClient(t, e, tid, &admin, comp, "cid", "a-long-enough-secret")
	f1 := newFlow(t, e, tid, &admin, "nightly sync", comp, plain)
	f2 := newFlow(t, e, tid, &admin, "webhook relay", plain, comp)
	newFlow(t, e, tid, &admin, "unrelated", plain)

	path := tenantPath(tid, "/oauth-clients/"+id)
	p := expectError(t, e.Delete(path, &admin), http.StatusConflict, "oauth_client_in_use", "")
	detail, _ := p["detail"].(string)
	for _, s := range []string{f1, "nightly sync", f2, "webhook relay"} {
		if !strings.Contains(detail, s) {
			t.Errorf("detail %q does not name %q", detail, s)
		}
	}
	if strings.Contains(detail, "unrelated") {
		t.Errorf("detail names a flow that does not use the component: %q", detail)
	}
	meta, _ := p["meta"].(map[string]any)
	flows, _ := meta["flows"].([]any)
	want := map[string]string{f1: "nightly sync", f2: "webhook relay"}
	if len(flows) != len(want) {
		t.Fatalf("meta.flows %v, want %v", meta["flows"], want)
	}
	for _, f := range flows {
		m, _ := f.(map[string]any)
		id, _ := m["id"].(string)
		if want[id] == "" || m["name"] != want[id] {
			t.Errorf("meta.flows holds %v, want one of %v", m, want)
		}
	}

	// Remove the component from one flow: still blocked by the other.
	e.Patch(tenantPath(tid, "/flows/"+f1), &admin, flowDoc("", plain)).ExpectStatus(t, http.StatusOK)
	p = expectError(t, e.Delete(path, &admin), http.StatusConflict, "oauth_client_in_use", "")
	if d, _ := p["detail"].(string); strings.Contains(d, f1) || !strings.Contains(d, f2) {
		t.Errorf("detail after f1 let go: %q", d)
	}
	e.Patch(tenantPath(tid, "/flows/"+f2), &admin, flowDoc("", plain)).ExpectStatus(t, http.StatusOK)
	e.Delete(path, &admin).ExpectStatus(t, http.StatusNoContent)
	e.Get(path, &admin).ExpectStatus(t, http.StatusNotFound)
	// And now no flow can include the component.
	expectError(t, e.Post(tenantPath(tid, "/flows"), &admin, flowDoc("late", comp)), http.StatusUnprocessableEntity,
		"oauth_client_required", "/data/relationships/components/data/0/id")
}

// errorShape is what must not differ between "not there" and "not yours".
func errorShape(t *testing.T, r *apitest.Response) string {
	t.Helper()
	errs := r.Errors(t)
	var b strings.Builder
	fmt.Fprintf(&b, "%d", r.Status)
	for _, e := range errs {
		src, _ := e["source"].(map[string]any)
		fmt.Fprintf(&b, "|%v|%v|%v|%v|%v", e["status"], e["code"], e["title"], e["detail"], src["pointer"])
	}
	return b.String()
}

// TestOAuthClientComponentVisibility covers which components can carry a
// client, and that another tenant's private component is not revealed.
func TestOAuthClientComponentVisibility(t *testing.T) {
	e := apitest.New(t)
	tidA, tidB := newTenant(t, e), newTenant(t, e)
	adminA := newMember(t, e, tidA, []string{"admin"}, nil)
	adminB := newMember(t, e, tidB, []string{"admin"}, nil)
	privateA := newOAuthComponent(t, e, tidA, &adminA)

	const ptr = "/data/relationships/component/data/id"
	foreign := newOAuthClient(t, e, tidB, &adminB, privateA, "cid", "a-long-enough-secret")
	expectError(t, foreign, http.StatusUnprocessableEntity, "component_not_found", ptr)
	random := newOAuthClient(t, e, tidB, &adminB, uuid.NewString(), "cid", "a-long-enough-secret")
	malformed := newOAuthClient(t, e, tidB, &adminB, "not-a-uuid", "cid", "a-long-enough-secret")
	want := errorShape(t, random)
	if got := errorShape(t, foreign); got != want {
		t.Errorf("another tenant's component answers\n%s\nan unknown id answers\n%s", got, want)
	}
	if got := errorShape(t, malformed); got != want {
		t.Errorf("a malformed id answers\n%s\nan unknown id answers\n%s", got, want)
	}
	// The same on PATCH.
	ownB := newOAuthComponent(t, e, tidB, &adminB)
	idB := mustOAuthClient(t, e, tidB, &adminB, ownB, "cid", "a-long-enough-secret")
	pf := e.Patch(tenantPath(tidB, "/oauth-clients/"+idB), &adminB, doc("oauth-client", nil, map[string]any{"component": rel("component", privateA)}))
	pr := e.Patch(tenantPath(tidB, "/oauth-clients/"+idB), &adminB, doc("oauth-client", nil, map[string]any{"component": rel("component", uuid.NewString())}))
	expectError(t, pf, http.StatusUnprocessableEntity, "component_not_found", ptr)
	if errorShape(t, pf) != errorShape(t, pr) {
		t.Errorf("PATCH onto another tenant's component:\n%s\nonto nothing:\n%s", pf.Body, pr.Body)
	}

	// A component whose descriptor does not ask for an OAuth client.
	plain := newComponent(t, e, tidB, &adminB, map[string]any{"descriptor": map[string]any{"useOAuthClient": false}})
	bare := newComponent(t, e, tidB, &adminB, nil)
	for _, cid := range []string{plain, bare} {
		r := newOAuthClient(t, e, tidB, &adminB, cid, "cid", "a-long-enough-secret")
		r.ExpectStatus(t, http.StatusUnprocessableEntity)
		if src, _ := r.Errors(t)[0]["source"].(map[string]any); src["pointer"] != ptr {
			t.Errorf("error source %v, want pointer %s", src, ptr)
		}
	}
	// No component at all.
	r := e.Post(tenantPath(tidB, "/oauth-clients"), &adminB, doc("oauth-client", map[string]any{"client_id": "cid", "client_secret": "a-long-enough-secret"}, nil))
	r.ExpectStatus(t, http.StatusUnprocessableEntity)
	if n := countRows(t, e, "SELECT count(*) FROM oauth_clients"); n != 1 {
		t.Errorf("%d oauth_clients rows, want only the one created", n)
	}

	// A global component: each tenant needs its own client before its
	// flows may include it.
	global := newComponent(t, e, tidA, &e.Super, map[string]any{"visibility": "global", "descriptor": oauthDescriptor()})
	expectError(t, e.Post(tenantPath(tidB, "/flows"), &adminB, flowDoc("too early", global)),
		http.StatusUnprocessableEntity, "oauth_client_required", "/data/relationships/components/data/0/id")
	comp := e.Get(tenantPath(tidB, "/components/"+global), &adminB).ExpectStatus(t, http.StatusOK)
	if comp.Attr(t, "available") != false {
		t.Errorf("global component is available to B before B has a client: %s", comp.Body)
	}
	gid := mustOAuthClient(t, e, tidB, &adminB, global, "b-own-client", "b-own-secret-for-global")
	got := e.Get(tenantPath(tidB, "/oauth-clients/"+gid), &adminB).ExpectStatus(t, http.StatusOK)
	expectClient(t, got.Data(t), gid, "b-own-client", "obal", global, true)
	newFlow(t, e, tidB, &adminB, "now allowed", global)
	// A's own flow still needs A's own client; B's does not count.
	expectError(t, e.Post(tenantPath(tidA, "/flows"), &adminA, flowDoc("A too early", global)),
		http.StatusUnprocessableEntity, "oauth_client_required", "/data/relationships/components/data/0/id")
	// B's client is invisible to A.
	if items := e.Get(tenantPath(tidA, "/oauth-clients"), &adminA).ExpectStatus(t, http.StatusOK).List(t); len(items) != 0 {
		t.Errorf("tenant A lists %d clients", len(items))
	}
	e.Get(tenantPath(tidA, "/oauth-clients/"+gid), &adminA).ExpectStatus(t, http.StatusNotFound)
	e.Delete(tenantPath(tidA, "/oauth-clients/"+gid), &adminA).ExpectStatus(t, http.StatusNotFound)
	e.Patch(tenantPath(tidA, "/oauth-clients/"+gid), &adminA, doc("oauth-client", map[string]any{"client_id": "x"}, nil)).ExpectStatus(t, http.StatusNotFound)
	// A non-member of B gets 404 for B's whole tree.
	e.Get(tenantPath(tidB, "/oauth-clients/"+gid), &adminA).ExpectStatus(t, http.StatusNotFound)
	e.Get(tenantPath(tidB, "/oauth-clients"), &adminA).ExpectStatus(t, http.StatusNotFound)
}

// TestOAuthClientOfDeletedComponent: the client outlives its component,
// unusable but readable and deletable.
func TestOAuthClientOfDeletedComponent(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	admin := newMember(t, e, tid, []string{"admin"}, nil)
	comp := newOAuthComponent(t, e, tid, &admin)
	id := mustOAuthClient(t, e, tid, &admin, comp, "cid", "a-long-enough-secret")
	e.Delete(tenantPath(tid, "/components/"+comp), &admin).ExpectStatus(t, http.StatusNoContent)

	got := e.Get(tenantPath(tid, "/oauth-clients/"+id), &admin).ExpectStatus(t, http.StatusOK)
	expectClient(t, got.Data(t), id, "cid", "cret", comp, false)
	items := e.Get(tenantPath(tid, "/oauth-clients?filter[component]="+comp), &admin).ExpectStatus(t, http.StatusOK).List(t)
	if len(items) != 1 {
		t.Fatalf("list after component delete: %d items", len(items))
	}
	expectClient(t, items[0], id, "cid", "cret", comp, false)
	// It cannot be moved back onto a dead component or get a sibling there.
	expectError(t, newOAuthClient(t, e, tid, &admin, comp, "cid2", "another-long-secret"),
		http.StatusUnprocessableEntity, "component_not_found", "/data/relationships/component/data/id")
	e.Delete(tenantPath(tid, "/oauth-clients/"+id), &admin).ExpectStatus(t, http.StatusNoContent)
	if n := countRows(t, e, "SELECT count(*) FROM oauth_clients WHERE tenant_id = $1", tid); n != 0 {
		t.Errorf("%d rows after delete", n)
	}
}

// TestOAuthClientSecretNeverLeaks: the secret is in no response, no log
// line and nowhere in the database in plain text; only the audited reveal
// returns it.
func TestOAuthClientSecretNeverLeaks(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	admin := newMember(t, e, tid, []string{"admin"}, nil)
	platform := newMember(t, e, tid, []string{"platform"}, nil)
	single := newMember(t, e, tid, nil, []string{"tenants.oauth_clients.reveal_secret"})
	getter := newMember(t, e, tid, nil, []string{"tenants.oauth_clients.get"})
	secret := "Sx7-" + uniq() + "-do-not-leak-" + uniq()
	secret2 := "Rt9-" + uniq() + "-rotated-too-" + uniq()

	var bodies [][]byte
	keep := func(r *apitest.Response) *apitest.Response { bodies = append(bodies, r.Body); return r }

	comp := newOAuthComponent(t, e, tid, &admin)
	comp2 := newOAuthComponent(t, e, tid, &admin)
	created := keep(newOAuthClient(t, e, tid, &admin, comp, "leak-test", secret)).ExpectStatus(t, http.StatusCreated)
	id := created.ID(t)
	path := tenantPath(tid, "/oauth-clients/"+id)
	// A duplicate (409) and an invalid one (422) carry the secret in the request.
	keep(newOAuthClient(t, e, tid, &admin, comp, "leak-test", secret)).ExpectStatus(t, http.StatusConflict)
	keep(newOAuthClient(t, e, tid, &admin, comp2, "bad\tid", secret)).ExpectStatus(t, http.StatusUnprocessableEntity)
	keep(e.Get(path, &admin)).ExpectStatus(t, http.StatusOK)
	keep(e.Get(tenantPath(tid, "/oauth-clients"), &admin)).ExpectStatus(t, http.StatusOK)
	keep(e.Get(tenantPath(tid, "/oauth-clients?filter[component]="+comp), &getter)).ExpectStatus(t, http.StatusOK)
	keep(e.Get(tenantPath(tid, "/audit-events"), &admin)).ExpectStatus(t, http.StatusOK)
	keep(e.Get(path+"/secret", &getter)).ExpectStatus(t, http.StatusForbidden)
	keep(e.Get(path+"/secret", &admin)).ExpectStatus(t, http.StatusForbidden) // admin lacks reveal_secret

	for _, who := range []*apitest.Creds{&platform, &single} {
		r := e.Get(path+"/secret", who).ExpectStatus(t, http.StatusOK)
		expectJSONAPI(t, r)
		if r.Attr(t, "client_secret") != secret {
			t.Errorf("revealed %v, want the secret", r.Attr(t, "client_secret"))
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("reveal Cache-Control %q, want no-store", cc)
		}
	}
	revealed := keep(e.Get(tenantPath(tid, "/audit-events?filter[action]=oauth_client.reveal_secret"), &admin)).ExpectStatus(t, http.StatusOK).List(t)
	if len(revealed) != 2 {
		t.Fatalf("%d reveal audit events, want 2", len(revealed))
	}
	actors := map[any]bool{}
	for _, ev := range revealed {
		if attrOf(ev, "resource_id") != id {
			t.Errorf("reveal event names %v", attrOf(ev, "resource_id"))
		}
		actors[attrOf(ev, "actor_email")] = true
	}
	if !actors[platform.Email] || !actors[single.Email] {
		t.Errorf("reveal events by %v, want %s and %s", actors, platform.Email, single.Email)
	}

	// Rotate; the old and the new secret must not leak either.
	keep(e.Patch(path, &admin, doc("oauth-client", map[string]any{"client_secret": secret2}, nil))).ExpectStatus(t, http.StatusOK)
	keep(e.Get(path, &admin)).ExpectStatus(t, http.StatusOK)
	if s := e.Get(path+"/secret", &single).ExpectStatus(t, http.StatusOK).Attr(t, "client_secret"); s != secret2 {
		t.Errorf("revealed %v after rotation", s)
	}

	for _, s := range []string{secret, secret2} {
		for _, b := range bodies {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("a response body holds the secret: %s", b)
			}
		}
		if strings.Contains(e.Logs.String(), s) {
			t.Errorf("the server log holds the secret")
		}
		for _, where := range dbHolding(t, e, s) {
			t.Errorf("the database holds the secret in plain text or base64 in %s", where)
		}
	}
	// The scan finds what is stored in plain text (the client_id), so its
	// silence about the secrets means something.
	if where := dbHolding(t, e, "leak-test"); !strings.Contains(strings.Join(where, " "), "oauth_clients.client_id") {
		t.Errorf("the database scan does not find the stored client_id: %v", where)
	}
	// Only ciphertext is stored, with its key id.
	var ct []byte
	var kid string
	if err := e.App.DB.SQL().QueryRow("SELECT secret_ciphertext, secret_key_id FROM oauth_clients WHERE id = $1", id).Scan(&ct, &kid); err != nil {
		t.Fatal(err)
	}
	if len(ct) < len(secret2)+16 || kid == "" {
		t.Errorf("stored ciphertext of %d bytes, key id %q", len(ct), kid)
	}
}

// dbHolding lists every column of every table whose text form contains s
// (or its base64).
func dbHolding(t *testing.T, e *apitest.Env, s string) []string {
	t.Helper()
	rows, err := e.App.DB.SQL().Query(`SELECT table_name, column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema() AND data_type IN ('text', 'character varying', 'bytea', 'jsonb', 'json', 'ARRAY', 'USER-DEFINED')`)
	if err != nil {
		t.Fatal(err)
	}
	type col struct{ table, column, typ string }
	var cols []col
	for rows.Next() {
		var c col
		if err := rows.Scan(&c.table, &c.column, &c.typ); err != nil {
			t.Fatal(err)
		}
		cols = append(cols, c)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if len(cols) < 10 {
		t.Fatalf("found only %d text columns; the scan is broken", len(cols))
	}
	var out []string
	for _, needle := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s))} {
		for _, c := range cols {
			var q string
			if c.typ == "bytea" {
				q = fmt.Sprintf(`SELECT count(*) FROM %q WHERE position(convert_to($1, 'UTF8') IN %q) > 0`, c.table, c.column)
			} else {
				q = fmt.Sprintf(`SELECT count(*) FROM %q WHERE position($1 IN %q::text) > 0`, c.table, c.column)
			}
			if countRows(t, e, q, needle) > 0 {
				out = append(out, c.table+"."+c.column)
			}
		}
	}
	return out
}

// TestOAuthClientPrintableASCII: RFC 6749 Appendix A for client_id and
// client_secret, on create and on update.
func TestOAuthClientPrintableASCII(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	admin := newMember(t, e, tid, []string{"admin"}, nil)
	comp := newOAuthComponent(t, e, tid, &admin)
	bad := map[string]string{"tab": "abc\tdef-long-enough", "newline": "abc\ndef-long-enough", "e-acute": "café-long-enough",
		"emoji": "key-😀-long-enough", "nul": "abc\u0000def-long-enough", "del": "abc\x7fdef-long-enough"}
	good := map[string]string{"client_id": "good-id", "client_secret": "good-secret-value"}
	for _, attr := range []string{"client_id", "client_secret"} {
		for name, v := range bad {
			t.Run(attr+"/"+name, func(t *testing.T) {
				e := e.For(t)
				attrs := map[string]any{"client_id": good["client_id"], "client_secret": good["client_secret"]}
				attrs[attr] = v
				r := e.Post(tenantPath(tid, "/oauth-clients"), &admin, doc("oauth-client", attrs, map[string]any{"component": rel("component", comp)}))
				expectError(t, r, http.StatusUnprocessableEntity, "invalid_characters", "/data/attributes/"+attr)
				if len(r.Errors(t)) != 1 {
					t.Errorf("one problem expected: %s", r.Body)
				}
			})
		}
		t.Run(attr+"/empty", func(t *testing.T) {
			e := e.For(t)
			attrs := map[string]any{"client_id": good["client_id"], "client_secret": good["client_secret"]}
			attrs[attr] = ""
			r := e.Post(tenantPath(tid, "/oauth-clients"), &admin, doc("oauth-client", attrs, map[string]any{"component": rel("component", comp)}))
			expectError(t, r, http.StatusUnprocessableEntity, "required", "/data/attributes/"+attr)
			delete(attrs, attr)
			r = e.Post(tenantPath(tid, "/oauth-clients"), &admin, doc("oauth-client", attrs, map[string]any{"component": rel("component", comp)}))
			expectError(t, r, http.StatusUnprocessableEntity, "required", "/data/attributes/"+attr)
		})
	}
	// Every problem at once.
	r := e.Post(tenantPath(tid, "/oauth-clients"), &admin, doc("oauth-client", map[string]any{"client_id": "", "client_secret": "tab\there-long"},
		map[string]any{"component": rel("component", uuid.NewString())}))
	expectError(t, r, http.StatusUnprocessableEntity, "required", "/data/attributes/client_id")
	expectError(t, r, http.StatusUnprocessableEntity, "invalid_characters", "/data/attributes/client_secret")
	expectError(t, r, http.StatusUnprocessableEntity, "component_not_found", "/data/relationships/component/data/id")
	// Space and tilde are the edges of the allowed range.
	id := mustOAuthClient(t, e, tid, &admin, comp, " ~edge id~ ", " ~edge secret~ ")
	if n := countRows(t, e, "SELECT count(*) FROM oauth_clients WHERE tenant_id = $1", tid); n != 1 {
		t.Fatalf("%d rows stored, want 1 (only the valid one)", n)
	}
	path := tenantPath(tid, "/oauth-clients/"+id)
	for _, attr := range []string{"client_id", "client_secret"} {
		for _, v := range []string{"new\tline", "é-long-enough-secret", ""} {
			r := e.Patch(path, &admin, doc("oauth-client", map[string]any{attr: v}, nil))
			r.ExpectStatus(t, http.StatusUnprocessableEntity)
			if src, _ := r.Errors(t)[0]["source"].(map[string]any); src["pointer"] != "/data/attributes/"+attr {
				t.Errorf("PATCH %s=%q: source %v", attr, v, src)
			}
		}
	}
	expectClient(t, e.Get(path, &admin).ExpectStatus(t, http.StatusOK).Data(t), id, " ~edge id~ ", "et~ ", comp, true)
	// Wrong JSON type for an attribute is a 422 on it too, not a 500.
	r = e.Patch(path, &admin, doc("oauth-client", map[string]any{"client_secret": 12345}, nil))
	if r.Status != http.StatusUnprocessableEntity && r.Status != http.StatusBadRequest {
		t.Errorf("numeric client_secret: %d %s", r.Status, r.Body)
	}
}

// TestOAuthClientAudit: create, update and delete are audited with actor,
// action and resource, and never with the secret.
func TestOAuthClientAudit(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	admin := newMember(t, e, tid, []string{"admin"}, nil)
	dev := newMember(t, e, tid, []string{"developer"}, nil)
	comp := newOAuthComponent(t, e, tid, &admin)
	secret, secret2 := "audit-secret-"+uniq(), "audit-rotated-"+uniq()
	id := mustOAuthClient(t, e, tid, &dev, comp, "audited", secret)
	e.Patch(tenantPath(tid, "/oauth-clients/"+id), &dev, doc("oauth-client", map[string]any{"client_secret": secret2}, nil)).ExpectStatus(t, http.StatusOK)
	// developer may not delete (elastic.io lists the permissions separately).
	e.Delete(tenantPath(tid, "/oauth-clients/"+id), &dev).ExpectStatus(t, http.StatusForbidden)
	e.Delete(tenantPath(tid, "/oauth-clients/"+id), &admin).ExpectStatus(t, http.StatusNoContent)

	r := e.Get(tenantPath(tid, "/audit-events?filter[resource_id]="+id+"&sort=created_at"), &admin).ExpectStatus(t, http.StatusOK)
	events := r.List(t)
	want := []struct{ action, actor string }{{"oauth_client.create", dev.Email}, {"oauth_client.update", dev.Email}, {"oauth_client.delete", admin.Email}}
	if len(events) != len(want) {
		t.Fatalf("%d audit events for the client, want %d: %s", len(events), len(want), r.Body)
	}
	for i, w := range want {
		ev := events[i]
		if attrOf(ev, "action") != w.action || attrOf(ev, "actor_email") != w.actor || attrOf(ev, "resource_id") != id ||
			attrOf(ev, "resource_type") != "oauth-client" {
			t.Errorf("event %d: %v, want %s by %s", i, ev["attributes"], w.action, w.actor)
		}
		if attrOf(ev, "actor_id") == nil || attrOf(ev, "created_at") == nil {
			t.Errorf("event %d lacks actor_id or created_at: %v", i, ev["attributes"])
		}
	}
	if d, _ := attrOf(events[1], "details").(map[string]any); !strings.Contains(fmt.Sprint(d["changed"]), "client_secret") {
		t.Errorf("update event does not say the secret changed: %v", d)
	}
	for _, s := range []string{secret, secret2} {
		if bytes.Contains(r.Body, []byte(s)) {
			t.Errorf("audit events hold the secret: %s", r.Body)
		}
		if n := countRows(t, e, "SELECT count(*) FROM audit_events WHERE position($1 IN details::text) > 0", s); n != 0 {
			t.Errorf("%d audit rows hold the secret", n)
		}
	}
	// A failed create writes no event.
	newOAuthClient(t, e, tid, &admin, uuid.NewString(), "x", "a-long-enough-secret").ExpectStatus(t, http.StatusUnprocessableEntity)
	if n := countRows(t, e, "SELECT count(*) FROM audit_events WHERE tenant_id = $1 AND action LIKE 'oauth_client.%'", tid); n != 3 {
		t.Errorf("%d oauth_client audit events, want 3", n)
	}
}

// TestOAuthClientListPaging covers page links and meta, sort and filters.
func TestOAuthClientListPaging(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	admin := newMember(t, e, tid, []string{"admin"}, nil)
	var ids []string
	for i := 0; i < 5; i++ {
		comp := newOAuthComponent(t, e, tid, &admin)
		ids = append(ids, mustOAuthClient(t, e, tid, &admin, comp, fmt.Sprintf("client-%d", i), "a-long-enough-secret"))
	}
	base := tenantPath(tid, "/oauth-clients")
	pageOf := func(query string) (map[string]any, []string) {
		t.Helper()
		r := e.Get(base+"?"+query, &admin).ExpectStatus(t, http.StatusOK)
		expectJSONAPI(t, r)
		var got []string
		for _, it := range r.List(t) {
			got = append(got, it["id"].(string))
		}
		return r.Doc(t), got
	}
	link := func(d map[string]any, name string) url.Values {
		t.Helper()
		links, _ := d["links"].(map[string]any)
		s, _ := links[name].(string)
		if s == "" {
			return nil
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("links.%s %q: %v", name, s, err)
		}
		if !strings.HasSuffix(u.Path, base) {
			t.Errorf("links.%s path %q", name, u.Path)
		}
		return u.Query()
	}
	expectMeta := func(d map[string]any, page int) {
		t.Helper()
		m, _ := d["meta"].(map[string]any)
		want := map[string]float64{"page": float64(page), "per_page": 2, "total": 5, "total_pages": 3}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("meta.%s = %v, want %v (meta %v)", k, m[k], v, m)
			}
		}
	}

	d1, p1 := pageOf("page[size]=2&page[number]=1&sort=created_at")
	if fmt.Sprint(p1) != fmt.Sprint(ids[0:2]) {
		t.Errorf("page 1: %v, want %v", p1, ids[0:2])
	}
	expectMeta(d1, 1)
	if q := link(d1, "next"); q.Get("page[number]") != "2" || q.Get("page[size]") != "2" || q.Get("sort") != "created_at" {
		t.Errorf("page 1 next: %v", q)
	}
	if q := link(d1, "last"); q.Get("page[number]") != "3" {
		t.Errorf("page 1 last: %v", q)
	}
	if q := link(d1, "first"); q.Get("page[number]") != "1" && q.Get("page[number]") != "" {
		t.Errorf("page 1 first: %v", q)
	}
	if q := link(d1, "prev"); q != nil {
		t.Errorf("page 1 has prev: %v", q)
	}
	d2, p2 := pageOf("page[size]=2&page[number]=2&sort=created_at")
	if fmt.Sprint(p2) != fmt.Sprint(ids[2:4]) {
		t.Errorf("page 2: %v, want %v", p2, ids[2:4])
	}
	expectMeta(d2, 2)
	if q := link(d2, "prev"); q == nil || (q.Get("page[number]") != "1" && q.Get("page[number]") != "") {
		t.Errorf("page 2 prev: %v", q)
	}
	if q := link(d2, "next"); q.Get("page[number]") != "3" {
		t.Errorf("page 2 next: %v", q)
	}
	d3, p3 := pageOf("page[size]=2&page[number]=3&sort=created_at")
	if fmt.Sprint(p3) != fmt.Sprint(ids[4:]) {
		t.Errorf("page 3: %v, want %v", p3, ids[4:])
	}
	expectMeta(d3, 3)
	if q := link(d3, "next"); q != nil {
		t.Errorf("last page has next: %v", q)
	}
	// Following the next links walks everything once.
	_, all := pageOf("page[size]=100&sort=created_at")
	if fmt.Sprint(all) != fmt.Sprint(ids) {
		t.Errorf("all by created_at: %v, want %v", all, ids)
	}
	_, rev := pageOf("sort=-created_at")
	for i := range ids {
		if rev[i] != ids[len(ids)-1-i] {
			t.Fatalf("sort=-created_at: %v, want the reverse of %v", rev, ids)
		}
	}
	_, byID := pageOf("sort=-client_id")
	if fmt.Sprint(byID) != fmt.Sprint(rev) {
		t.Errorf("sort=-client_id: %v, want %v", byID, rev)
	}
	// Beyond the last page: empty, not an error.
	if _, got := pageOf("page[size]=2&page[number]=9"); len(got) != 0 {
		t.Errorf("page 9 holds %v", got)
	}

	for _, tc := range []struct{ query, param string }{
		{"filter[component]=not-a-uuid", "filter[component]"},
		{"filter[component]=" + strings.ToUpper(uuid.NewString())[:35], "filter[component]"},
		{"filter[colour]=red", "filter[colour]"},
		{"sort=secret", "sort"},
		{"sort=client_secret", "sort"},
		{"page[size]=0", "page[size]"},
		{"page[size]=101", "page[size]"},
		{"page[number]=0", "page[number]"},
		{"page[number]=x", "page[number]"},
	} {
		r := e.Get(base+"?"+tc.query, &admin)
		if r.Status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400: %s", tc.query, r.Status, r.Body)
			continue
		}
		found := false
		for _, er := range r.Errors(t) {
			src, _ := er["source"].(map[string]any)
			found = found || src["parameter"] == tc.param
		}
		if !found {
			t.Errorf("%s: no error names %s: %s", tc.query, tc.param, r.Body)
		}
	}
	// A well-formed id that matches nothing filters to nothing.
	if _, got := pageOf("filter[component]=" + uuid.NewString()); len(got) != 0 {
		t.Errorf("filter on an unknown component: %v", got)
	}
}

// TestOAuthClientPermissions: each action needs its own permission.
func TestOAuthClientPermissions(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	admin := newMember(t, e, tid, []string{"admin"}, nil)
	comp := newOAuthComponent(t, e, tid, &admin)
	comp2 := newOAuthComponent(t, e, tid, &admin)
	id := mustOAuthClient(t, e, tid, &admin, comp, "cid", "a-long-enough-secret")
	path := tenantPath(tid, "/oauth-clients/"+id)
	nobody := newMember(t, e, tid, nil, nil)
	viewer := newMember(t, e, tid, []string{"viewer"}, nil)
	outsider := newUser(t, e)

	e.Get(path, &nobody).ExpectStatus(t, http.StatusForbidden)
	e.Get(tenantPath(tid, "/oauth-clients"), &nobody).ExpectStatus(t, http.StatusForbidden)
	e.Get(path, &viewer).ExpectStatus(t, http.StatusOK)
	e.Get(path+"/secret", &viewer).ExpectStatus(t, http.StatusForbidden)
	newOAuthClient(t, e, tid, &viewer, comp2, "cid", "a-long-enough-secret").ExpectStatus(t, http.StatusForbidden)
	e.Patch(path, &viewer, doc("oauth-client", map[string]any{"client_id": "x"}, nil)).ExpectStatus(t, http.StatusForbidden)
	e.Delete(path, &viewer).ExpectStatus(t, http.StatusForbidden)
	for _, p := range []string{path, path + "/secret", tenantPath(tid, "/oauth-clients")} {
		e.Get(p, &outsider).ExpectStatus(t, http.StatusNotFound)
	}
	e.Delete(path, &outsider).ExpectStatus(t, http.StatusNotFound)
	e.Get(path, &apitest.Creds{Email: admin.Email, Key: admin.Key + "x"}).ExpectStatus(t, http.StatusUnauthorized)
	e.Get(path, nil).ExpectStatus(t, http.StatusUnauthorized)
	if n := countRows(t, e, "SELECT count(*) FROM oauth_clients WHERE tenant_id = $1", tid); n != 1 {
		t.Errorf("%d rows", n)
	}
	expectClient(t, e.Get(path, &admin).ExpectStatus(t, http.StatusOK).Data(t), id, "cid", "cret", comp, true)
}
