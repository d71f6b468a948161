package api_test

// Shared helpers for the api_test package: they create tenants, users with
// API keys, members, components, flows and OAuth clients through the HTTP
// API, as a user of oauthd would, and fail the test when the API refuses.

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
)

// uniq returns a short random string for names and emails.
func uniq() string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// doc builds a JSON:API request document {"data":{...}}. attrs and rels may
// be nil; rels values are relationship objects, e.g. rel("component", id)
// or rels("component", id1, id2).
func doc(typ string, attrs map[string]any, relationships map[string]any) map[string]any {
	data := map[string]any{"type": typ}
	if attrs != nil {
		data["attributes"] = attrs
	}
	if relationships != nil {
		data["relationships"] = relationships
	}
	return map[string]any{"data": data}
}

// docWithID is doc with data.id set (for PATCH bodies).
func docWithID(typ, id string, attrs map[string]any, relationships map[string]any) map[string]any {
	d := doc(typ, attrs, relationships)
	d["data"].(map[string]any)["id"] = id
	return d
}

// rel is a to-one relationship object {"data":{"type":typ,"id":id}}.
func rel(typ, id string) map[string]any {
	return map[string]any{"data": map[string]any{"type": typ, "id": id}}
}

// rels is a to-many relationship object {"data":[{"type":typ,"id":id},...]}.
func rels(typ string, ids ...string) map[string]any {
	list := make([]any, 0, len(ids))
	for _, id := range ids {
		list = append(list, map[string]any{"type": typ, "id": id})
	}
	return map[string]any{"data": list}
}

// tenantPath is "/v2/tenants/{tid}" followed by the given suffix.
func tenantPath(tid string, suffix string) string { return "/v2/tenants/" + tid + suffix }

// newTenant creates a tenant as the superuser and returns its id.
func newTenant(t testing.TB, e *apitest.Env) string {
	t.Helper()
	r := e.Post("/v2/tenants", &e.Super, doc("tenant", map[string]any{"name": "tenant-" + uniq()}, nil))
	return r.ExpectStatus(t, http.StatusCreated).ID(t)
}

// newUser creates a user (as the superuser) and an API key for it.
func newUser(t testing.TB, e *apitest.Env) apitest.Creds {
	t.Helper()
	email := "user-" + uniq() + "@example.test"
	u := e.Post("/v2/users", &e.Super, doc("user", map[string]any{"email": email, "password": "correct horse battery " + uniq()}, nil))
	uid := u.ExpectStatus(t, http.StatusCreated).ID(t)
	k := e.Post("/v2/users/"+uid+"/api-keys", &e.Super, doc("api-key", map[string]any{"name": "test"}, nil))
	key, _ := k.ExpectStatus(t, http.StatusCreated).Attr(t, "key").(string)
	if key == "" {
		t.Fatalf("api key create returned no key: %s", k.Body)
	}
	return apitest.Creds{UserID: uid, Email: email, Key: key}
}

// addMember makes creds a member of tenant tid with the given roles and
// single permissions (either may be nil), as the superuser.
func addMember(t testing.TB, e *apitest.Env, tid string, creds apitest.Creds, roles, perms []string) {
	t.Helper()
	if roles == nil {
		roles = []string{}
	}
	if perms == nil {
		perms = []string{}
	}
	e.Post(tenantPath(tid, "/members"), &e.Super, doc("member",
		map[string]any{"roles": roles, "permissions": perms},
		map[string]any{"user": rel("user", creds.UserID)})).ExpectStatus(t, http.StatusCreated)
}

// newMember creates a user and adds it to tid with roles and permissions.
func newMember(t testing.TB, e *apitest.Env, tid string, roles, perms []string) apitest.Creds {
	t.Helper()
	c := newUser(t, e)
	addMember(t, e, tid, c, roles, perms)
	return c
}

// oauthDescriptor is a component.json that requires an OAuth client.
func oauthDescriptor() map[string]any {
	return map[string]any{
		"useOAuthClient": true,
		"oauth2": map[string]any{"client_id": "", "client_secret": "",
			"auth_uri": "https://auth.example.test/authorize", "token_uri": "https://auth.example.test/token"},
	}
}

// newComponent creates a component in tid as creds and returns its id.
// attrs defaults: a unique name; pass "descriptor" and "visibility" as needed.
func newComponent(t testing.TB, e *apitest.Env, tid string, creds *apitest.Creds, attrs map[string]any) string {
	t.Helper()
	a := map[string]any{"name": "component-" + uniq()}
	for k, v := range attrs {
		a[k] = v
	}
	r := e.Post(tenantPath(tid, "/components"), creds, doc("component", a, nil))
	return r.ExpectStatus(t, http.StatusCreated).ID(t)
}

// newOAuthComponent creates a tenant component whose descriptor says
// useOAuthClient: true.
func newOAuthComponent(t testing.TB, e *apitest.Env, tid string, creds *apitest.Creds) string {
	t.Helper()
	return newComponent(t, e, tid, creds, map[string]any{"descriptor": oauthDescriptor()})
}

// flowDoc is the body that creates (or replaces the components of) a flow.
func flowDoc(name string, componentIDs ...string) map[string]any {
	var attrs map[string]any
	if name != "" {
		attrs = map[string]any{"name": name}
	}
	return doc("flow", attrs, map[string]any{"components": rels("component", componentIDs...)})
}

// newFlow creates a flow named name including the components; returns its id.
func newFlow(t testing.TB, e *apitest.Env, tid string, creds *apitest.Creds, name string, componentIDs ...string) string {
	t.Helper()
	r := e.Post(tenantPath(tid, "/flows"), creds, flowDoc(name, componentIDs...))
	return r.ExpectStatus(t, http.StatusCreated).ID(t)
}

// oauthClientDoc is the create body of elastic.io as a Go value.
func oauthClientDoc(componentID, clientID, secret string) map[string]any {
	return doc("oauth-client", map[string]any{"client_id": clientID, "client_secret": secret},
		map[string]any{"component": rel("component", componentID)})
}

// newOAuthClient POSTs an OAuth client and returns the response unchecked
// (the caller asserts the status).
func newOAuthClient(t testing.TB, e *apitest.Env, tid string, creds *apitest.Creds, componentID, clientID, secret string) *apitest.Response {
	t.Helper()
	return e.Post(tenantPath(tid, "/oauth-clients"), creds, oauthClientDoc(componentID, clientID, secret))
}

// mustOAuthClient creates an OAuth client, expects 201 and returns its id.
func mustOAuthClient(t testing.TB, e *apitest.Env, tid string, creds *apitest.Creds, componentID, clientID, secret string) string {
	t.Helper()
	return newOAuthClient(t, e, tid, creds, componentID, clientID, secret).ExpectStatus(t, http.StatusCreated).ID(t)
}

// countRows runs a SELECT count(*) ... query on the raw database.
func countRows(t testing.TB, e *apitest.Env, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.App.DB.SQL().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// expectError asserts the response has status and one error with code
// (any code when empty) and, when pointer is not empty, that pointer or
// parameter in its source; it returns that error object.
func expectError(t testing.TB, r *apitest.Response, status int, code, pointer string) map[string]any {
	t.Helper()
	r.ExpectStatus(t, status)
	for _, e := range r.Errors(t) {
		if code != "" && e["code"] != code {
			continue
		}
		if pointer == "" {
			return e
		}
		src, _ := e["source"].(map[string]any)
		if src["pointer"] == pointer || src["parameter"] == pointer {
			return e
		}
	}
	t.Fatalf("no error with code %q at %q in %d response: %s", code, pointer, r.Status, r.Body)
	return nil
}

// relID is data.relationships[name].data.id of a resource object.
func relID(t testing.TB, data map[string]any, name string) string {
	t.Helper()
	rs, _ := data["relationships"].(map[string]any)
	r, _ := rs[name].(map[string]any)
	d, _ := r["data"].(map[string]any)
	id, _ := d["id"].(string)
	if id == "" {
		t.Fatalf("resource has no relationships.%s.data.id: %v", name, data)
	}
	return id
}

// attrOf is data.attributes[name] of a resource object.
func attrOf(data map[string]any, name string) any {
	a, _ := data["attributes"].(map[string]any)
	return a[name]
}

// memberDoc is a member create body; roles and permissions are left out
// when nil (the server takes them as empty).
func memberDoc(uid string, roles, perms []string) map[string]any {
	attrs := map[string]any{}
	if roles != nil {
		attrs["roles"] = roles
	}
	if perms != nil {
		attrs["permissions"] = perms
	}
	return doc("member", attrs, map[string]any{"user": rel("user", uid)})
}

// listIDs is the ids of a list response's data, in order.
func listIDs(t testing.TB, r *apitest.Response) []string {
	t.Helper()
	var out []string
	for _, it := range r.List(t) {
		out = append(out, it["id"].(string))
	}
	return out
}

// listMeta is a list response's meta object.
func listMeta(t testing.TB, r *apitest.Response) map[string]any {
	t.Helper()
	m, _ := r.Doc(t)["meta"].(map[string]any)
	return m
}
