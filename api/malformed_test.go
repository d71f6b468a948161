package api_test

// Malformed input of every kind gets a 4xx JSON:API error naming the member
// or parameter at fault, changes nothing in the database, and never a 500.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/api/apitest"
)

// malFixture is a tenant with a component, an OAuth client and a flow, all
// created by the superuser, who makes every malformed call below (so no
// answer is about permissions). Its instance runs no job workers: the
// checks that a malformed request changed nothing count every table's
// rows, the job queue's too (a request that wrongly enqueued work must
// show), and background workers polling and writing those tables (a
// periodic job's run, its schedule) would move the counts whatever the
// requests did. Nothing here needs a job run.
type malFixture struct {
	e                                   *apitest.Env
	tid, component, spare, client, flow string
	member                              string // a viewer's user id
}

func malSetup(t *testing.T) *malFixture {
	t.Helper()
	e := apitest.New(t, apitest.WithoutJobWorkers())
	f := &malFixture{e: e, tid: newTenant(t, e)}
	f.component = newOAuthComponent(t, e, f.tid, &e.Super)
	f.spare = newOAuthComponent(t, e, f.tid, &e.Super)
	f.client = mustOAuthClient(t, e, f.tid, &e.Super, f.component, "client-id", "client-secret-0123456789")
	f.flow = newFlow(t, e, f.tid, &e.Super, "flow-"+uniq(), f.component)
	f.member = newMember(t, e, f.tid, []string{"viewer"}, nil).UserID
	return f
}

func (f *malFixture) path(suffix string) string { return tenantPath(f.tid, suffix) }

// malExpectUnchanged fails when any table's row count differs from before
// (tableCounts, the job tables' included: with no job workers nothing but
// the requests writes them, so the queue need not be run quiet first,
// which would itself enqueue the periodic jobs due).
func malExpectUnchanged(t *testing.T, e *apitest.Env, before map[string]int) {
	t.Helper()
	expectSameCounts(t, before, tableCounts(t, e))
}

// malDo sends a request and fails on any 5xx.
func malDo(t *testing.T, e *apitest.Env, r apitest.Request) *apitest.Response {
	t.Helper()
	res := e.Do(r)
	if res.Status >= 500 {
		t.Fatalf("%s %s → %d: %s", r.Method, r.Path, res.Status, res.Body)
	}
	return res
}

// malExpect asserts a JSON:API error document with status in which some
// error object has code (if given) at the pointer or parameter (if given).
func malExpect(t *testing.T, res *apitest.Response, status int, code, where string) {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/vnd.api+json" {
		t.Errorf("Content-Type %q, want application/vnd.api+json", ct)
	}
	if res.Status != status {
		t.Fatalf("status %d, want %d: %s", res.Status, status, res.Body)
	}
	for _, obj := range res.Errors(t) {
		if obj["status"] != fmt.Sprint(status) && len(res.Errors(t)) == 1 {
			t.Errorf("error object status %v in a %d response", obj["status"], status)
		}
		src, _ := obj["source"].(map[string]any)
		ptr, _ := src["pointer"].(string)
		if (code == "" || obj["code"] == code) && (where == "" || ptr == where || strings.HasPrefix(ptr, where+"/") || src["parameter"] == where) {
			if d, _ := obj["detail"].(string); d == "" {
				t.Errorf("error %v has no detail", obj["code"])
			}
			return
		}
	}
	t.Fatalf("no error with code %q at %q: %s", code, where, res.Body)
}

func TestMalformedBodies(t *testing.T) {
	f := malSetup(t)
	e := f.e
	before := tableCounts(t, e)
	comp := map[string]any{"data": map[string]any{"type": "component", "id": f.component}}
	docsCreate := oauthClientDoc(f.spare, "cid", "secret-0123456789")
	cases := []struct {
		name, method, path string
		body               any
		status             int
		code, pointer      string
	}{
		{"empty body", "POST", "/oauth-clients", "", 400, "body_required", ""},
		{"white space", "POST", "/oauth-clients", " \n\t ", 400, "body_required", ""},
		{"bad JSON", "POST", "/oauth-clients", `{"data":{"type":"oauth-client",`, 400, "invalid_json", ""},
		{"single quotes", "POST", "/oauth-clients", `{'data':{}}`, 400, "invalid_json", ""},
		{"byte order mark", "POST", "/components", "\xef\xbb\xbf" + `{"data":{"type":"component","attributes":{"name":"x"}}}`, 400, "invalid_json", ""},
		{"trailing bytes", "POST", "/oauth-clients", mustJSON(docsCreate) + "x", 400, "trailing_data", ""},
		{"two documents", "POST", "/oauth-clients", mustJSON(docsCreate) + mustJSON(docsCreate), 400, "trailing_data", ""},
		{"trailing comma", "POST", "/oauth-clients", strings.TrimSuffix(mustJSON(docsCreate), "}") + ",}", 400, "invalid_json", ""},
		{"top-level array", "POST", "/oauth-clients", "[" + mustJSON(docsCreate) + "]", 400, "invalid_json", ""},
		{"top-level string", "POST", "/flows", `"flow"`, 400, "invalid_json", ""},
		{"top-level null", "POST", "/flows", `null`, 400, "", ""},
		{"data null", "POST", "/oauth-clients", `{"data":null}`, 400, "data_required", "/data"},
		{"data missing", "POST", "/oauth-clients", `{"meta":{}}`, 400, "data_required", "/data"},
		{"data array", "POST", "/components", `{"data":[{"type":"component"}]}`, 400, "invalid_data", "/data"},
		{"data a string", "POST", "/components", `{"data":"component"}`, 400, "invalid_data", "/data"},
		{"unknown top-level member", "POST", "/components", `{"data":{"type":"component","attributes":{"name":"x"}},"included":[]}`, 400, "unknown_member", "/included"},
		{"unknown resource member", "POST", "/components", `{"data":{"type":"component","attributes":{"name":"x"},"name":"x"}}`, 400, "unknown_member", "/data/name"},
		{"type missing", "POST", "/components", `{"data":{"attributes":{"name":"x"}}}`, 400, "type_required", "/data/type"},
		{"type a number", "POST", "/components", `{"data":{"type":5,"attributes":{"name":"x"}}}`, 400, "wrong_type", "/data/type"},
		{"attributes an array", "POST", "/components", `{"data":{"type":"component","attributes":["name"]}}`, 400, "wrong_type", "/data/attributes"},
		{"attributes null", "POST", "/components", `{"data":{"type":"component","attributes":null}}`, 400, "wrong_type", "/data/attributes"},
		{"relationships a string", "POST", "/flows", `{"data":{"type":"flow","attributes":{"name":"x"},"relationships":"c"}}`, 400, "wrong_type", "/data/relationships"},
		{"client_id a number", "POST", "/oauth-clients", doc("oauth-client", map[string]any{"client_id": 12345, "client_secret": "secret-0123456789"},
			map[string]any{"component": rel("component", f.spare)}), 400, "wrong_type", "/data/attributes/client_id"},
		{"client_secret null", "POST", "/oauth-clients", doc("oauth-client", map[string]any{"client_id": "c", "client_secret": nil},
			map[string]any{"component": rel("component", f.spare)}), 400, "wrong_type", "/data/attributes/client_secret"},
		{"client_secret an object", "PATCH", "/oauth-clients/" + f.client, doc("oauth-client", map[string]any{"client_secret": map[string]any{}}, nil),
			400, "wrong_type", "/data/attributes/client_secret"},
		{"roles a string", "POST", "/members", doc("member", map[string]any{"roles": "admin"},
			map[string]any{"user": rel("user", e.Super.UserID)}), 400, "wrong_type", "/data/attributes/roles"},
		{"permissions with a number", "POST", "/members", doc("member", map[string]any{"permissions": []any{"tenants.audit.get", 7}},
			map[string]any{"user": rel("user", e.Super.UserID)}), 400, "wrong_type", "/data/attributes/permissions"},
		{"name a number", "POST", "/components", doc("component", map[string]any{"name": 1}, nil), 400, "wrong_type", "/data/attributes/name"},
		{"name an array", "PATCH", "/flows/" + f.flow, doc("flow", map[string]any{"name": []string{"a"}}, nil), 400, "wrong_type", "/data/attributes/name"},
		{"descriptor a string", "POST", "/components", doc("component", map[string]any{"name": "x", "descriptor": `{"useOAuthClient":true}`}, nil),
			400, "wrong_type", "/data/attributes/descriptor"},
		{"visibility a bool", "POST", "/components", doc("component", map[string]any{"name": "x", "visibility": true}, nil),
			400, "wrong_type", "/data/attributes/visibility"},
		{"unknown attribute", "POST", "/oauth-clients", doc("oauth-client", map[string]any{"client_id": "c", "client_secret": "secret-0123456789", "x": 1},
			map[string]any{"component": rel("component", f.spare)}), 400, "unknown_attribute", "/data/attributes/x"},
		{"client_secret_hint is read only", "PATCH", "/oauth-clients/" + f.client, doc("oauth-client", map[string]any{"client_secret_hint": "abcd"}, nil),
			400, "unknown_attribute", "/data/attributes/client_secret_hint"},
		{"unknown relationship", "POST", "/oauth-clients", doc("oauth-client", map[string]any{"client_id": "c", "client_secret": "secret-0123456789"},
			map[string]any{"component": rel("component", f.spare), "flow": rel("flow", f.flow)}), 400, "unknown_relationship", "/data/relationships/flow"},
		{"relationship on a type with none", "POST", "/components", doc("component", map[string]any{"name": "x"}, map[string]any{"flows": rels("flow")}),
			400, "unknown_relationship", "/data/relationships/flows"},
		{"wrong type", "POST", "/oauth-clients", doc("flow", map[string]any{"client_id": "c", "client_secret": "secret-0123456789"},
			map[string]any{"component": rel("component", f.spare)}), 409, "type_mismatch", "/data/type"},
		{"wrong type on update", "PATCH", "/components/" + f.component, doc("oauth-client", nil, nil), 409, "type_mismatch", "/data/type"},
		{"client-generated id", "POST", "/oauth-clients", docWithID("oauth-client", uuid.NewString(), map[string]any{"client_id": "c", "client_secret": "secret-0123456789"},
			map[string]any{"component": rel("component", f.spare)}), 403, "client_generated_id", "/data/id"},
		{"client-generated id on a flow", "POST", "/flows", docWithID("flow", uuid.NewString(), map[string]any{"name": "x"}, nil), 403, "client_generated_id", "/data/id"},
		{"id of another resource on update", "PATCH", "/oauth-clients/" + f.client, docWithID("oauth-client", uuid.NewString(), map[string]any{"client_id": "x"}, nil),
			409, "id_mismatch", "/data/id"},
		{"id a number", "PATCH", "/oauth-clients/" + f.client, `{"data":{"type":"oauth-client","id":5}}`, 400, "wrong_type", "/data/id"},
		{"relationship of the wrong type", "POST", "/oauth-clients", doc("oauth-client", map[string]any{"client_id": "c", "client_secret": "secret-0123456789"},
			map[string]any{"component": rel("flow", f.spare)}), 409, "type_mismatch", "/data/relationships/component/data/id"},
		{"relationship without data", "POST", "/oauth-clients", doc("oauth-client", map[string]any{"client_id": "c", "client_secret": "secret-0123456789"},
			map[string]any{"component": map[string]any{}}), 400, "invalid_relationship", ""},
		{"relationship data null", "POST", "/oauth-clients", doc("oauth-client", map[string]any{"client_id": "c", "client_secret": "secret-0123456789"},
			map[string]any{"component": map[string]any{"data": nil}}), 400, "invalid_relationship", ""},
		{"relationship a bare id", "POST", "/oauth-clients", doc("oauth-client", map[string]any{"client_id": "c", "client_secret": "secret-0123456789"},
			map[string]any{"component": f.spare}), 400, "invalid_relationship", ""},
		{"linkage without id", "POST", "/oauth-clients", doc("oauth-client", map[string]any{"client_id": "c", "client_secret": "secret-0123456789"},
			map[string]any{"component": map[string]any{"data": map[string]any{"type": "component"}}}), 400, "invalid_linkage", ""},
		{"to-many given one", "POST", "/flows", doc("flow", map[string]any{"name": "x"}, map[string]any{"components": comp}), 400, "invalid_relationship", ""},
		{"to-many item a string", "POST", "/flows", doc("flow", map[string]any{"name": "x"}, map[string]any{"components": map[string]any{"data": []any{f.component}}}),
			400, "invalid_linkage", ""},
		{"to-many item of the wrong type", "POST", "/flows", doc("flow", map[string]any{"name": "x"}, map[string]any{"components": rels("flow", f.flow)}),
			409, "type_mismatch", "/data/relationships/components/data/0/id"},
		{"malformed component id", "POST", "/oauth-clients", oauthClientDoc("not-a-uuid", "c", "secret-0123456789"),
			422, "component_not_found", "/data/relationships/component/data/id"},
		{"malformed member user id", "POST", "/members", doc("member", nil, map[string]any{"user": rel("user", "me")}),
			422, "user_not_found", "/data/relationships/user/data/id"},
		{"tenant wrong type", "PATCH", "", doc("user", map[string]any{"name": "x"}, nil), 409, "type_mismatch", "/data/type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.For(t)
			res := malDo(t, e, apitest.Request{Method: c.method, Path: f.path(c.path), Auth: &e.Super, Body: c.body})
			malExpect(t, res, c.status, c.code, c.pointer)
		})
	}
	t.Run("every problem reported at once", func(t *testing.T) {
		e := e.For(t)
		res := malDo(t, e, apitest.Request{Method: "POST", Path: f.path("/oauth-clients"), Auth: &e.Super,
			Body: `{"data":{"type":"oauth-client","attributes":{"a":1,"b":2},"relationships":{"c":{}},"x":1},"y":2}`})
		malExpect(t, res, 400, "unknown_attribute", "/data/attributes/a")
		malExpect(t, res, 400, "unknown_attribute", "/data/attributes/b")
		malExpect(t, res, 400, "unknown_relationship", "/data/relationships/c")
		malExpect(t, res, 400, "unknown_member", "/data/x")
		malExpect(t, res, 400, "unknown_member", "/y")
	})
	t.Run("superuser endpoints decode strictly too", func(t *testing.T) {
		e := e.For(t)
		malExpect(t, malDo(t, e, apitest.Request{Method: "POST", Path: "/v2/tenants", Auth: &e.Super,
			Body: doc("tenant", map[string]any{"name": 7}, nil)}), 400, "wrong_type", "/data/attributes/name")
		malExpect(t, malDo(t, e, apitest.Request{Method: "POST", Path: "/v2/users", Auth: &e.Super,
			Body: doc("user", map[string]any{"email": "a@b.test", "superuser": "yes"}, nil)}), 400, "wrong_type", "/data/attributes/superuser")
		malExpect(t, malDo(t, e, apitest.Request{Method: "POST", Path: "/v2/users/me/api-keys", Auth: &e.Super,
			Body: doc("api-key", map[string]any{"name": "x", "key": "mine"}, nil)}), 400, "unknown_attribute", "/data/attributes/key")
		malExpect(t, malDo(t, e, apitest.Request{Method: "POST", Path: "/v2/tenants", Auth: &e.Super,
			Body: docWithID("tenant", uuid.NewString(), map[string]any{"name": "x"}, nil)}), 403, "client_generated_id", "/data/id")
	})
	malExpectUnchanged(t, e, before)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestMalformedQueryParameters(t *testing.T) {
	f := malSetup(t)
	e := f.e
	before := tableCounts(t, e)
	lists := []string{"/v2/tenants", "/v2/users", "/v2/users/me/api-keys", f.path("/members"), f.path("/components"),
		f.path("/flows"), f.path("/oauth-clients"), f.path("/audit-events")}
	cases := []struct{ query, param, code string }{
		{"page[number]=0", "page[number]", "invalid_page_number"},
		{"page[number]=-1", "page[number]", "invalid_page_number"},
		{"page[number]=abc", "page[number]", "invalid_page_number"},
		{"page[number]=1.5", "page[number]", "invalid_page_number"},
		{"page[number]=", "page[number]", "invalid_page_number"},
		{"page[number]=9223372036854775807", "page[number]", "invalid_page_number"},
		{"page[number]=99999999999999999999999", "page[number]", "invalid_page_number"},
		{"page[size]=0", "page[size]", "invalid_page_size"},
		{"page[size]=-1", "page[size]", "invalid_page_size"},
		{"page[size]=101", "page[size]", "invalid_page_size"},
		{"page[size]=abc", "page[size]", "invalid_page_size"},
		{"page[size]=1e2", "page[size]", "invalid_page_size"},
		{"page[size]=1&page[size]=2", "page[size]", "repeated_parameter"},
		{"page%5Bsize%5D=0", "page[size]", "invalid_page_size"},
		{"page[size]=%zz", "page[size]", "malformed_parameter"},
		{"page[size]=5;page[number]=2", "page[size]", "malformed_parameter"},
		{"sort=nope", "sort", "unknown_sort_field"},
		{"sort=", "sort", "unknown_sort_field"},
		{"sort=-", "sort", "unknown_sort_field"},
		{"sort=created_at,", "sort", "unknown_sort_field"},
		{"sort=created_at,-created_at", "sort", "repeated_sort_field"},
		{"sort=client_secret", "sort", "unknown_sort_field"},
		{"filter[nope]=x", "filter[nope]", "unknown_filter"},
		{"filter[]=x", "filter[]", "unknown_filter"},
		{"filter=x", "filter", "unknown_parameter"},
		{"unknown=1", "unknown", "unknown_parameter"},
		{"include=", "include", "unknown_parameter"},
		{"include=component", "include", "unknown_parameter"},
		{"fields[oauth-client]=client_id", "fields[oauth-client]", "unknown_parameter"},
		{"page[offset]=10", "page[offset]", "unknown_parameter"},
	}
	for _, list := range lists {
		for _, c := range cases {
			query := c.query
			t.Run(list+"?"+query, func(t *testing.T) {
				e := e.For(t)
				res := malDo(t, e, apitest.Request{Method: "GET", Path: list + "?" + query, Auth: &e.Super})
				malExpect(t, res, 400, c.code, c.param)
			})
		}
	}
	filters := []struct{ path, query, param, code string }{
		{"/oauth-clients", "filter[component]=not-a-uuid", "filter[component]", "invalid_id"},
		{"/oauth-clients", "filter[component]=" + strings.ReplaceAll(f.component, "-", ""), "filter[component]", "invalid_id"},
		{"/oauth-clients", "filter[component]={" + f.component + "}", "filter[component]", "invalid_id"},
		{"/oauth-clients", "filter[component]=" + f.component + "&filter[component]=" + f.component, "filter[component]", "repeated_parameter"},
		{"/oauth-clients", "filter[component]=%00", "filter[component]", ""},
		{"/flows", "filter[component]=urn:uuid:" + f.component, "filter[component]", "invalid_id"},
		{"/components", "filter[visibility]=private", "filter[visibility]", "invalid_filter"},
		{"/components", "filter[component]=" + f.component, "filter[component]", "unknown_filter"},
		{"/audit-events", "filter[action]=%00", "filter[action]", "invalid_filter"},
		{"/audit-events", "filter[resource_id]=%ff%fe", "filter[resource_id]", "invalid_filter"},
		{"/audit-events", "filter[resource_type]=a%00b", "filter[resource_type]", "invalid_filter"},
	}
	for _, c := range filters {
		t.Run(c.path+"?"+c.query, func(t *testing.T) {
			e := e.For(t)
			res := malDo(t, e, apitest.Request{Method: "GET", Path: f.path(c.path) + "?" + c.query, Auth: &e.Super})
			malExpect(t, res, 400, c.code, c.param)
		})
	}
	t.Run("every bad parameter at once", func(t *testing.T) {
		e := e.For(t)
		res := malDo(t, e, apitest.Request{Method: "GET", Path: f.path("/oauth-clients") + "?page[size]=0&page[number]=x&sort=nope&include=a", Auth: &e.Super})
		for _, p := range []string{"page[size]", "page[number]", "sort", "include"} {
			malExpect(t, res, 400, "", p)
		}
	})
	singles := []string{"/v2/users/me", f.path(""), f.path("/components/" + f.component), f.path("/flows/" + f.flow),
		f.path("/oauth-clients/" + f.client), f.path("/oauth-clients/" + f.client + "/secret"), f.path("/members/" + f.member)}
	for _, p := range singles {
		t.Run(p+" takes no parameters", func(t *testing.T) {
			e := e.For(t)
			res := malDo(t, e, apitest.Request{Method: "GET", Path: p + "?include=component", Auth: &e.Super})
			malExpect(t, res, 400, "unknown_parameter", "include")
			res = malDo(t, e, apitest.Request{Method: "GET", Path: p + "?x=%zz", Auth: &e.Super})
			malExpect(t, res, 400, "malformed_parameter", "x")
		})
	}
	t.Run("parameters on writes", func(t *testing.T) {
		e := e.For(t)
		res := malDo(t, e, apitest.Request{Method: "POST", Path: f.path("/oauth-clients") + "?include=component", Auth: &e.Super,
			Body: oauthClientDoc(f.spare, "c", "secret-0123456789")})
		malExpect(t, res, 400, "unknown_parameter", "include")
		res = malDo(t, e, apitest.Request{Method: "DELETE", Path: f.path("/oauth-clients/"+f.client) + "?force=true", Auth: &e.Super})
		malExpect(t, res, 400, "unknown_parameter", "force")
	})
	malExpectUnchanged(t, e, before)
}

// malRaw sends a request the harness cannot build (a chunked body) and
// returns status, headers and body.
func malRaw(t *testing.T, e *apitest.Env, method, path string, body io.Reader, creds apitest.Creds) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, e.URL(path), body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/vnd.api+json")
	req.SetBasicAuth(creds.Email, creds.Key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, out
}

// malOversize is a valid create document padded past 1 MiB inside a string.
func malOversize(componentID string) []byte {
	pad := strings.Repeat("a", 1<<20)
	return []byte(mustJSON(oauthClientDoc(componentID, "c", "secret-"+pad)))
}

func TestMalformedOversizeBody(t *testing.T) {
	f := malSetup(t)
	e := f.e
	before := tableCounts(t, e)
	body := malOversize(f.spare)
	t.Run("with Content-Length", func(t *testing.T) {
		e := e.For(t)
		res := malDo(t, e, apitest.Request{Method: "POST", Path: f.path("/oauth-clients"), Auth: &e.Super, Body: body})
		malExpect(t, res, http.StatusRequestEntityTooLarge, "body_too_large", "")
		res = malDo(t, e, apitest.Request{Method: "PATCH", Path: f.path("/components/" + f.component), Auth: &e.Super,
			Body: mustJSON(doc("component", map[string]any{"descriptor": map[string]any{"title": strings.Repeat("x", 1<<20)}}, nil))})
		malExpect(t, res, http.StatusRequestEntityTooLarge, "body_too_large", "")
	})
	t.Run("chunked", func(t *testing.T) {
		e := e.For(t)
		// io.MultiReader hides the length, so the client sends it chunked.
		status, header, out := malRaw(t, e, "POST", f.path("/oauth-clients"), io.MultiReader(bytes.NewReader(body)), e.Super)
		if status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413: %s", status, out)
		}
		if header.Get("Content-Type") != "application/vnd.api+json" || !bytes.Contains(out, []byte(`"body_too_large"`)) {
			t.Errorf("not a JSON:API body_too_large error: %s %s", header.Get("Content-Type"), out)
		}
	})
	t.Run("just under the limit is read", func(t *testing.T) {
		e := e.For(t)
		pad := strings.Repeat("a", (1<<20)-300)
		res := malDo(t, e, apitest.Request{Method: "POST", Path: f.path("/oauth-clients"), Auth: &e.Super,
			Body: oauthClientDoc(f.spare, "c", "secret-"+pad)})
		// read and decoded, then refused by the domain for its length
		malExpect(t, res, http.StatusUnprocessableEntity, "too_long", "/data/attributes/client_secret")
	})
	malExpectUnchanged(t, e, before)
}

func TestMalformedUnicode(t *testing.T) {
	f := malSetup(t)
	e := f.e
	before := tableCounts(t, e)
	// raw JSON text of a string value; escapes are kept as written
	texts := []struct {
		name   string
		json   string
		status int // 0: any 4xx
	}{
		{"lone high surrogate", `"a\ud800b"`, 400},
		{"lone low surrogate", `"\udc00"`, 400},
		{"reversed surrogate pair", `"\udc00\ud800"`, 400},
		{"invalid UTF-8", "\"a\xffb\"", 400},
		{"overlong UTF-8", "\"\xc0\xaf\"", 400},
		{"UTF-8 encoded surrogate", "\"\xed\xa0\x80\"", 400},
		{"NUL", `"a\u0000b"`, 422},
		{"raw NUL byte", "\"a\x00b\"", 400},
		{"RTL override", `"abc\u202edcba"`, 422},
		{"zero-width space", `"a\u200bb"`, 422},
		{"zero-width joiner only", `"\u200d"`, 422},
		{"BOM inside", `"\ufeffname"`, 422},
		{"control character", `"a\u0007b"`, 422},
		{"newline", `"a\nb"`, 422},
	}
	targets := []struct {
		name, method, path, template, pointer string
	}{
		{"tenant name", "POST", "/v2/tenants", `{"data":{"type":"tenant","attributes":{"name":%s}}}`, "/data/attributes/name"},
		{"component name", "POST", f.path("/components"), `{"data":{"type":"component","attributes":{"name":%s}}}`, "/data/attributes/name"},
		{"flow name", "PATCH", f.path("/flows/" + f.flow), `{"data":{"type":"flow","attributes":{"name":%s}}}`, "/data/attributes/name"},
		{"client_id", "POST", f.path("/oauth-clients"), `{"data":{"type":"oauth-client","attributes":{"client_id":%s,"client_secret":"secret-0123456789"},"relationships":{"component":{"data":{"type":"component","id":"` + f.spare + `"}}}}}`, "/data/attributes/client_id"},
		{"client_secret", "PATCH", f.path("/oauth-clients/" + f.client), `{"data":{"type":"oauth-client","attributes":{"client_secret":%s}}}`, "/data/attributes/client_secret"},
		{"email", "POST", "/v2/users", `{"data":{"type":"user","attributes":{"email":%s}}}`, "/data/attributes/email"},
		{"role", "POST", f.path("/members"), `{"data":{"type":"member","attributes":{"roles":[%s]},"relationships":{"user":{"data":{"type":"user","id":"` + e.Super.UserID + `"}}}}}`, "/data/attributes/roles"},
		{"api key name", "POST", "/v2/users/me/api-keys", `{"data":{"type":"api-key","attributes":{"name":%s}}}`, "/data/attributes/name"},
		{"descriptor value", "POST", f.path("/components"), `{"data":{"type":"component","attributes":{"name":"c","descriptor":{"title":%s}}}}`, ""},
		{"descriptor envVar description", "POST", f.path("/components"), `{"data":{"type":"component","attributes":{"name":"c","descriptor":{"envVars":{"K":{"description":%s}}}}}}`, ""},
		{"descriptor oauth2 client_id", "PATCH", f.path("/components/" + f.component), `{"data":{"type":"component","attributes":{"descriptor":{"oauth2":{"client_id":%s}}}}}`, ""},
	}
	// A descriptor is free-form component.json: any text jsonb stores
	// faithfully is kept as sent (checked below); only what it cannot
	// store (NUL, lone surrogates, bytes that are not UTF-8) is refused.
	descriptorKeeps := func(tg, tx string) bool {
		return strings.HasPrefix(tg, "descriptor") && tx != "NUL" && !strings.Contains(tx, "UTF-8") &&
			!strings.Contains(tx, "surrogate") && tx != "raw NUL byte"
	}
	for _, tg := range targets {
		for _, tx := range texts {
			if descriptorKeeps(tg.name, tx.name) {
				continue
			}
			t.Run(tg.name+"/"+tx.name, func(t *testing.T) {
				e := e.For(t)
				body := fmt.Sprintf(tg.template, tx.json)
				res := malDo(t, e, apitest.Request{Method: tg.method, Path: tg.path, Auth: &e.Super, Body: body})
				if res.Status < 400 || res.Status >= 500 {
					t.Fatalf("status %d, want 4xx: %s", res.Status, res.Body)
				}
				if tx.name == "raw NUL byte" {
					malExpect(t, res, 400, "invalid_json", "")
					return
				}
				if strings.HasPrefix(tg.name, "descriptor") {
					// the decoder (400) names the string; the descriptor's own check (422) names the value
					found := false
					for _, obj := range res.Errors(t) {
						src, _ := obj["source"].(map[string]any)
						p, _ := src["pointer"].(string)
						found = found || strings.HasPrefix(p, "/data/attributes/descriptor")
					}
					if !found {
						t.Errorf("no error points into the descriptor: %s", res.Body)
					}
					return
				}
				if tx.name == "newline" && (tg.name == "client_secret" || tg.name == "client_id") {
					malExpect(t, res, 422, "invalid_characters", tg.pointer)
					return
				}
				if tx.status == 400 {
					malExpect(t, res, 400, "invalid_text", tg.pointer)
					return
				}
				malExpect(t, res, 422, "", tg.pointer)
			})
		}
	}
	t.Run("descriptor keys", func(t *testing.T) {
		e := e.For(t)
		for _, key := range []string{`"a\u0000b"`, `"\ud800"`, "\"\xfe\"", `"\u0000"`} {
			body := `{"data":{"type":"component","attributes":{"name":"c","descriptor":{` + key + `:1}}}}`
			res := malDo(t, e, apitest.Request{Method: "POST", Path: f.path("/components"), Auth: &e.Super, Body: body})
			if res.Status != 400 && res.Status != 422 {
				t.Errorf("descriptor key %s: status %d: %s", key, res.Status, res.Body)
			}
		}
	})
	t.Run("unicode in the URL and headers", func(t *testing.T) {
		e := e.For(t)
		for _, p := range []string{f.path("/components/%00"), f.path("/components/%ff"), "/v2/tenants/%e2%80%ae" + f.tid,
			f.path("/oauth-clients/" + f.client + "%00"), "/v2/users/%ed%a0%80", f.path("/components/" + strings.Repeat("a", 5000))} {
			res := malDo(t, e, apitest.Request{Method: "GET", Path: p, Auth: &e.Super})
			malExpect(t, res, 404, "", "")
		}
		for _, email := range []string{"root@oauthd.test\x00", "\xff@x", "a\u202e@x.test"} {
			res := malDo(t, e, apitest.Request{Method: "GET", Path: "/v2/users/me", Auth: &apitest.Creds{Email: email, Key: e.Super.Key}})
			malExpect(t, res, 401, "unauthenticated", "")
		}
		res := malDo(t, e, apitest.Request{Method: "GET", Path: "/v2/users/me", Auth: &apitest.Creds{Email: e.Super.Email, Key: e.Super.Key + "\x00"}})
		malExpect(t, res, 401, "unauthenticated", "")
	})
	malExpectUnchanged(t, e, before)
	t.Run("descriptor text is kept as sent", func(t *testing.T) {
		e := e.For(t)
		for _, tx := range texts {
			if !descriptorKeeps("descriptor", tx.name) {
				continue
			}
			var want string
			if err := json.Unmarshal([]byte(tx.json), &want); err != nil {
				t.Fatal(err)
			}
			body := `{"data":{"type":"component","attributes":{"descriptor":{"envVars":{"K":{"description":` + tx.json + `}}}}}}`
			res := malDo(t, e, apitest.Request{Method: "PATCH", Path: f.path("/components/" + f.spare), Auth: &e.Super, Body: body})
			res.ExpectStatus(t, http.StatusOK)
			got := e.Get(f.path("/components/"+f.spare), &e.Super).ExpectStatus(t, http.StatusOK)
			d, _ := got.Attr(t, "descriptor").(map[string]any)
			vars, _ := d["envVars"].(map[string]any)
			k, _ := vars["K"].(map[string]any)
			if k["description"] != want {
				t.Errorf("%s: description read back as %q, want %q", tx.name, k["description"], want)
			}
		}
	})
	t.Run("a surrogate pair is real text and is kept", func(t *testing.T) {
		e := e.For(t)
		res := malDo(t, e, apitest.Request{Method: "POST", Path: "/v2/tenants", Auth: &e.Super,
			Body: `{"data":{"type":"tenant","attributes":{"name":"pizza \ud83c\udf55 Пицца"}}}`})
		res.ExpectStatus(t, http.StatusCreated)
		if got := res.Attr(t, "name"); got != "pizza 🍕 Пицца" {
			t.Errorf("name %q", got)
		}
	})
}

func TestMalformedDescriptorValues(t *testing.T) {
	f := malSetup(t)
	e := f.e
	before := tableCounts(t, e)
	deep := strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40)
	deepArray := strings.Repeat(`[`, 40) + strings.Repeat(`]`, 40)
	cases := []struct {
		name, descriptor, pointer, code string
	}{
		{"1e999", `{"n":1e999}`, "/data/attributes/descriptor/n", "number_out_of_range"},
		{"-1e999 in an array", `{"n":[1,-1e999]}`, "/data/attributes/descriptor/n/1", "number_out_of_range"},
		{"1e-100000", `{"n":1e-100000}`, "/data/attributes/descriptor/n", "number_out_of_range"},
		{"0e-99999", `{"n":0e-99999}`, "/data/attributes/descriptor/n", "number_out_of_range"},
		{"a thousand decimals", `{"n":0.` + strings.Repeat("3", 1000) + `}`, "/data/attributes/descriptor/n", "number_out_of_range"},
		{"depth 40", deep, "/data/attributes/descriptor", "too_deep"},
		{"arrays depth 40", `{"a":` + deepArray + `}`, "/data/attributes/descriptor", "too_deep"},
		{"NUL value", `{"title":"\u0000"}`, "/data/attributes/descriptor/title", "invalid_string"},
		{"NUL key", `{"\u0000":1}`, "/data/attributes/descriptor", "invalid_key"},
		{"secret in a tenant component made global", `{"oauth2":{"client_secret":"s"}}`, "", ""},
		{"useOAuthClient a string", `{"useOAuthClient":"true"}`, "/data/attributes/descriptor/useOAuthClient", "wrong_type"},
		{"envVars an array", `{"envVars":[]}`, "/data/attributes/descriptor/envVars", "wrong_type"},
		{"oauth2 relative token_uri", `{"oauth2":{"token_uri":"/token"}}`, "/data/attributes/descriptor/oauth2/token_uri", "invalid_url"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.For(t)
			body := `{"data":{"type":"component","attributes":{"name":"c-` + uniq() + `","descriptor":` + c.descriptor + `}}}`
			if c.code == "" {
				body = `{"data":{"type":"component","attributes":{"name":"c-` + uniq() + `","visibility":"global","descriptor":` + c.descriptor + `}}}`
				res := malDo(t, e, apitest.Request{Method: "POST", Path: f.path("/components"), Auth: &e.Super, Body: body})
				malExpect(t, res, 422, "secret_in_global_component", "/data/attributes/descriptor/oauth2/client_secret")
				return
			}
			res := malDo(t, e, apitest.Request{Method: "POST", Path: f.path("/components"), Auth: &e.Super, Body: body})
			malExpect(t, res, 422, c.code, c.pointer)
			res = malDo(t, e, apitest.Request{Method: "PATCH", Path: f.path("/components/" + f.component), Auth: &e.Super,
				Body: `{"data":{"type":"component","attributes":{"descriptor":` + c.descriptor + `}}}`})
			malExpect(t, res, 422, c.code, c.pointer)
		})
	}
	malExpectUnchanged(t, e, before)
	// The component still reads as it was.
	got := e.Get(f.path("/components/"+f.component), &e.Super).ExpectStatus(t, http.StatusOK)
	if d, _ := got.Attr(t, "descriptor").(map[string]any); d["useOAuthClient"] != true {
		t.Errorf("descriptor changed: %v", got.Attr(t, "descriptor"))
	}
}

func TestMalformedContentNegotiation(t *testing.T) {
	f := malSetup(t)
	e := f.e
	body := doc("component", map[string]any{"name": "neg-" + uniq()}, nil)
	post := func(h http.Header) *apitest.Response {
		t.Helper()
		return malDo(t, e, apitest.Request{Method: "POST", Path: f.path("/components"), Auth: &e.Super, Body: body, Header: h})
	}
	before := tableCounts(t, e)
	refused := []struct {
		name   string
		header http.Header
		status int
	}{
		{"text/plain", http.Header{"Content-Type": {"text/plain"}}, 415},
		{"form", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, 415},
		{"JSON:API with charset", http.Header{"Content-Type": {"application/vnd.api+json;charset=utf-8"}}, 415},
		{"JSON:API with ext", http.Header{"Content-Type": {`application/vnd.api+json; ext="https://jsonapi.org/ext/atomic"`}}, 415},
		{"malformed Content-Type", http.Header{"Content-Type": {"application/"}}, 415},
		{"no Content-Type", http.Header{"Content-Type": nil}, 415},
		{"Accept text/html", http.Header{"Accept": {"text/html"}}, 406},
		{"Accept JSON:API with ext only", http.Header{"Accept": {"application/vnd.api+json;ext=x"}}, 406},
		{"Accept JSON:API with ext, twice", http.Header{"Accept": {`application/vnd.api+json;ext=x, application/vnd.api+json;profile="y"`}}, 406},
		{"Accept XML", http.Header{"Accept": {"application/xml, text/*"}}, 406},
		{"Accept JSON:API with q=0", http.Header{"Accept": {"application/vnd.api+json;q=0, text/html"}}, 406},
		{"Accept everything but with q=0", http.Header{"Accept": {"*/*;q=0"}}, 406},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			res := post(c.header)
			if res.Status != c.status {
				t.Fatalf("status %d, want %d: %s", res.Status, c.status, res.Body)
			}
			header := "Content-Type"
			if c.status == 406 {
				header = "Accept"
			}
			for _, obj := range res.Errors(t) {
				if src, _ := obj["source"].(map[string]any); src["header"] != header {
					t.Errorf("error source %v, want header %s", obj["source"], header)
				}
			}
		})
	}
	t.Run("GET with Accept text/html", func(t *testing.T) {
		e := e.For(t)
		res := malDo(t, e, apitest.Request{Method: "GET", Path: f.path("/components"), Auth: &e.Super, Header: http.Header{"Accept": {"text/html"}}})
		malExpect(t, res, 406, "", "")
	})
	malExpectUnchanged(t, e, before)

	accepted := []struct {
		name   string
		header http.Header
	}{
		{"application/json with charset (elastic.io's curl)", http.Header{"Content-Type": {"application/json;charset=utf-8"}}},
		{"application/json", http.Header{"Content-Type": {"application/json"}}},
		{"Accept */*", http.Header{"Accept": {"*/*"}}},
		{"Accept application/*", http.Header{"Accept": {"application/*"}}},
		{"Accept JSON:API among others", http.Header{"Accept": {"text/html, application/vnd.api+json;ext=x, application/vnd.api+json"}}},
		{"Accept application/json", http.Header{"Accept": {"application/json"}}},
		{"Accept JSON:API with q", http.Header{"Accept": {"application/vnd.api+json;q=0.9"}}},
	}
	for _, c := range accepted {
		t.Run(c.name, func(t *testing.T) {
			body = doc("component", map[string]any{"name": "neg-" + uniq()}, nil)
			res := post(c.header)
			res.ExpectStatus(t, http.StatusCreated)
			if ct := res.Header.Get("Content-Type"); ct != "application/vnd.api+json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
	t.Run("GET with Accept */*", func(t *testing.T) {
		e := e.For(t)
		malDo(t, e, apitest.Request{Method: "GET", Path: f.path("/components"), Auth: &e.Super, Header: http.Header{"Accept": {"*/*"}}}).ExpectStatus(t, 200)
	})
}

// Odd methods and paths are 404 or 405, never a 500.
func TestMalformedRoutes(t *testing.T) {
	f := malSetup(t)
	e := f.e
	before := tableCounts(t, e)
	cases := []struct {
		method, path string
		status       int
	}{
		{"PUT", f.path("/oauth-clients/" + f.client), 405},
		{"POST", f.path("/oauth-clients/" + f.client), 405},
		{"PATCH", f.path("/oauth-clients"), 405},
		{"DELETE", f.path("/oauth-clients"), 405},
		{"GET", f.path("/oauth-clients/" + f.client + "/nope"), 404},
		{"GET", f.path("/nope"), 404},
		{"GET", "/v2/nope", 404},
		{"GET", f.path("/oauth-clients/not-a-uuid"), 404},
		{"DELETE", f.path("/flows/" + strings.ReplaceAll(f.flow, "-", "")), 404},
		{"GET", "/v2/tenants/not-a-uuid/components", 404},
		{"GET", "/v2/tenants/" + uuid.Nil.String(), 404},
		{"GET", "/v2/users/not-a-uuid", 404},
		{"DELETE", "/v2/users/me/api-keys/not-a-uuid", 404},
		{"GET", f.path("/members/me"), 404},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			e := e.For(t)
			// The router refuses unknown methods before any operation of
			// openapi.yaml is involved (the harness's NoCheck case).
			res := malDo(t, e, apitest.Request{Method: c.method, Path: c.path, Auth: &e.Super, NoCheck: c.status == http.StatusMethodNotAllowed})
			malExpect(t, res, c.status, "", "")
			if c.status == http.StatusMethodNotAllowed && res.Header.Get("Allow") == "" {
				t.Errorf("405 without an Allow header")
			}
		})
	}
	malExpectUnchanged(t, e, before)
}
