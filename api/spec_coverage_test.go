package api_test

import (
	"context"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/oauthd/oauthd/api/apitest"
)

// specEchoParam is one :name segment of an Echo route path.
var specEchoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// specMethodList are the operations an OpenAPI path item can hold.
var specMethodList = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodTrace,
}

// specRoutes lists the server's endpoints as "METHOD /path/{param}".
func specRoutes(t *testing.T, e *apitest.Env) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range e.App.Server.Echo().Routes() {
		if !slices.Contains(specMethodList, r.Method) {
			continue // Echo's internal "route not found" entries of groups
		}
		if strings.HasSuffix(r.Path, "*") {
			continue // group catch-alls answer 404 and are not endpoints
		}
		seen[r.Method+" "+specEchoParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	if len(seen) == 0 {
		t.Fatal("the server registered no routes")
	}
	return slices.Sorted(maps.Keys(seen))
}

// TestSpecCoverage keeps openapi.yaml and the router in step: every route
// the server registers is an operation in the spec, and every operation in
// the spec is a route. Trailing-slash paths in the spec are aliases (the
// server strips a trailing slash before routing), so each must repeat its
// base path's operations exactly, and is not a route of its own.
func TestSpecCoverage(t *testing.T) {
	doc := specLoadDoc(t)
	e := apitest.New(t, apitest.WithOutboundAllowPrivate())
	routes := map[string]bool{}
	for _, r := range specRoutes(t, e) {
		routes[r] = true
	}

	operations := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		if base, alias := strings.CutSuffix(path, "/"); alias && base != "" {
			specCheckAlias(t, doc, path, base)
			continue
		}
		for _, m := range specMethodList {
			if item.GetOperation(m) != nil {
				operations[m+" "+path] = true
			}
		}
	}

	t.Logf("%d routes, %d operations (trailing-slash aliases aside)", len(routes), len(operations))
	for _, r := range slices.Sorted(maps.Keys(routes)) {
		if !operations[r] {
			t.Errorf("route %s is missing from openapi.yaml", r)
		}
	}
	for _, op := range slices.Sorted(maps.Keys(operations)) {
		if !routes[op] {
			t.Errorf("openapi.yaml has operation %s but the server has no such route", op)
		}
	}
}

// specCheckAlias fails unless the trailing-slash path has the same methods
// as its base path, with the same responses.
func specCheckAlias(t *testing.T, doc *openapi3.T, alias, base string) {
	t.Helper()
	a, b := doc.Paths.Value(alias), doc.Paths.Value(base)
	if b == nil {
		t.Errorf("openapi.yaml has %s but not its base path %s", alias, base)
		return
	}
	for _, m := range specMethodList {
		ao, bo := a.GetOperation(m), b.GetOperation(m)
		switch {
		case ao == nil && bo == nil:
		case ao == nil:
			t.Errorf("openapi.yaml: %s %s has no trailing-slash alias %s", m, base, alias)
		case bo == nil:
			t.Errorf("openapi.yaml: alias %s %s has no base operation %s", m, alias, base)
		case !slices.Equal(specStatuses(ao), specStatuses(bo)):
			t.Errorf("openapi.yaml: %s %s answers %v but its base %s answers %v", m, alias, specStatuses(ao), base, specStatuses(bo))
		}
	}
}

// TestSpecCommonResponses sends every /v2 endpoint the requests the
// middleware answers the same way everywhere (no credentials, an Accept it
// cannot satisfy, a body of the wrong type or over the limit, an unknown
// query parameter, a tenant the caller cannot see, a missing permission)
// and checks the status and error. The harness checks each response
// against openapi.yaml, so an operation that does not list one of these
// statuses fails here.
func TestSpecCommonResponses(t *testing.T) {
	e := apitest.New(t, apitest.WithOutboundAllowPrivate())
	su := &e.Super
	f := specSeed(t, e)

	for _, route := range specRoutes(t, e) {
		method, tmpl, _ := strings.Cut(route, " ")
		if !strings.HasPrefix(tmpl, "/v2/") {
			continue
		}
		path := f.fill(tmpl)
		t.Run(route, func(t *testing.T) {
			e := e.For(t)
			r := e.Do(apitest.Request{Method: method, Path: path})
			specExpectError(t, r, http.StatusUnauthorized, "unauthenticated")
			if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), `Basic realm="oauthd"`) {
				t.Errorf("401 without a Basic challenge: %q", r.Header.Get("WWW-Authenticate"))
			}
			r = e.Do(apitest.Request{Method: method, Path: path, Auth: &apitest.Creds{Email: su.Email, Key: "wrong" + su.Key}})
			specExpectError(t, r, http.StatusUnauthorized, "unauthenticated")

			r = e.Do(apitest.Request{Method: method, Path: path, Auth: su, Header: http.Header{"Accept": {"text/html"}}})
			specExpectError(t, r, http.StatusNotAcceptable, "not_acceptable")

			r = e.Do(apitest.Request{Method: method, Path: path, Auth: su, Body: "{}", Header: http.Header{"Content-Type": {"text/plain"}}})
			specExpectError(t, r, http.StatusUnsupportedMediaType, "unsupported_media_type")
			r = e.Do(apitest.Request{Method: method, Path: path, Auth: su, Body: "{}",
				Header: http.Header{"Content-Type": {"application/vnd.api+json; ext=bulk"}}})
			specExpectError(t, r, http.StatusUnsupportedMediaType, "media_type_parameters")

			big := `{"data":{"type":"x","attributes":{"pad":"` + strings.Repeat("a", 1<<20) + `"}}}`
			r = e.Do(apitest.Request{Method: method, Path: path, Auth: su, Body: big})
			specExpectError(t, r, http.StatusRequestEntityTooLarge, "body_too_large")

			// Every handler reads its query before doing anything, so
			// this changes nothing on the server.
			r = e.Do(apitest.Request{Method: method, Path: path + "?bogus=1", Auth: su})
			if errs := specExpectError(t, r, http.StatusBadRequest, "unknown_parameter"); len(errs) > 0 {
				if src, _ := errs[0]["source"].(map[string]any); src["parameter"] != "bogus" {
					t.Errorf("unknown_parameter source = %v, want parameter bogus", errs[0]["source"])
				}
			}

			if strings.HasPrefix(tmpl, "/v2/tenants/{tid}") {
				r = e.Do(apitest.Request{Method: method, Path: strings.Replace(path, f.tid, specNobody, 1), Auth: su})
				specExpectError(t, r, http.StatusNotFound, "tenant_not_found")
				// A member with no grants sees the tenant but nothing
				// guarded by a permission; a stranger sees nothing.
				r = e.Do(apitest.Request{Method: method, Path: path, Auth: &f.stranger})
				specExpectError(t, r, http.StatusNotFound, "tenant_not_found")
				r = e.Do(apitest.Request{Method: method, Path: path, Auth: &f.bare})
				switch {
				case route == "GET /v2/tenants/{tid}":
					r.ExpectStatus(t, http.StatusOK)
				case tmpl == "/v2/tenants/{tid}":
					specExpectError(t, r, http.StatusForbidden, "superuser_required")
				default:
					specExpectError(t, r, http.StatusForbidden, "permission_denied")
				}
			}

			if method == http.MethodGet {
				// A trailing slash changes nothing.
				plain := e.Do(apitest.Request{Method: method, Path: path, Auth: su})
				slash := e.Do(apitest.Request{Method: method, Path: path + "/", Auth: su})
				plain.ExpectStatus(t, http.StatusOK)
				slash.ExpectStatus(t, http.StatusOK)
			}
		})
	}
}

// specNobody is a well-formed id that names nothing.
const specNobody = "00000000-0000-4000-8000-000000000000"

// specFixture holds one of everything, to fill route templates with.
type specFixture struct {
	tid, componentID, flowID, clientID, memberID, keyID              string
	apiClientID, apiSecretID, connectionID, webhookID, webhookSecret string
	bare, stranger                                                   apitest.Creds
}

func (f *specFixture) fill(tmpl string) string {
	r := strings.NewReplacer(
		"/v2/users/{uid}/api-keys/{kid}", "/v2/users/"+f.memberID+"/api-keys/"+f.keyID,
		"/v2/users/{uid}", "/v2/users/"+f.memberID,
		"{tid}", f.tid,
		"/members/{uid}", "/members/"+f.memberID,
		"/components/{id}", "/components/"+f.componentID,
		"/flows/{id}", "/flows/"+f.flowID,
		"/oauth-clients/{id}", "/oauth-clients/"+f.clientID,
		"/api-clients/{id}/secrets/{sid}", "/api-clients/"+f.apiClientID+"/secrets/"+f.apiSecretID,
		"/api-clients/{id}", "/api-clients/"+f.apiClientID,
		"/connections/{id}", "/connections/"+f.connectionID,
		"/webhooks/{id}/secrets/{sid}", "/webhooks/"+f.webhookID+"/secrets/"+f.webhookSecret,
		"/webhooks/{id}", "/webhooks/"+f.webhookID,
	)
	return r.Replace(tmpl)
}

// specSeed creates, as the superuser, a tenant with a component, an OAuth
// client for it, a flow using it, a member without grants (bare) and a
// user who is no member (stranger).
func specSeed(t *testing.T, e *apitest.Env) *specFixture {
	t.Helper()
	su := &e.Super
	f := &specFixture{}
	data := func(r *apitest.Response) string {
		t.Helper()
		return r.ExpectStatus(t, http.StatusCreated).ID(t)
	}
	f.tid = data(e.Post("/v2/tenants", su, doc("tenant", map[string]any{"name": "spec-" + uniq()}, nil)))
	base := "/v2/tenants/" + f.tid
	f.componentID = data(e.Post(base+"/components", su, doc("component",
		map[string]any{"name": "sf", "descriptor": oauthDescriptor()}, nil)))
	compRel := map[string]any{"data": map[string]any{"type": "component", "id": f.componentID}}
	f.clientID = data(e.Post(base+"/oauth-clients", su, doc("oauth-client",
		map[string]any{"client_id": "abc", "client_secret": "a-secret-of-some-length"}, map[string]any{"component": compRel})))
	f.flowID = data(e.Post(base+"/flows", su, doc("flow", map[string]any{"name": "sync"},
		map[string]any{"components": map[string]any{"data": []any{compRel["data"]}}})))
	f.bare = specUser(t, e, uniq())
	f.memberID = f.bare.UserID
	f.keyID = specFirstKey(t, e, f.bare.UserID)
	data(e.Post(base+"/members", su, doc("member", map[string]any{"roles": []string{}},
		map[string]any{"user": map[string]any{"data": map[string]any{"type": "user", "id": f.memberID}}})))
	f.stranger = specUser(t, e, uniq())
	f.apiClientID = data(e.Post(base+"/api-clients", su, doc("api-client", map[string]any{"name": "spec",
		"client_type": "confidential", "grant_types": []string{"client_credentials"}, "roles": []string{"viewer"}}, nil)))
	f.apiSecretID = data(e.Post(base+"/api-clients/"+f.apiClientID+"/secrets", su, doc("api-client-secret", nil, nil)))
	f.connectionID = data(e.Post(base+"/connections", su, doc("connection", map[string]any{"name": "acme"},
		map[string]any{"component": compRel})))
	f.webhookID = data(e.Post(base+"/webhooks", su, webhookDoc(apitest.NewReceiver(t).URL(), "*")))
	f.webhookSecret = data(e.Post(base+"/webhooks/"+f.webhookID+"/secrets", su, doc("webhook-secret", nil, nil)))
	return f
}

func specUser(t *testing.T, e *apitest.Env, tag string) apitest.Creds {
	t.Helper()
	email := "spec-" + tag + "@example.test"
	uid := e.Post("/v2/users", &e.Super, doc("user", map[string]any{"email": email}, nil)).
		ExpectStatus(t, http.StatusCreated).ID(t)
	k := e.Post("/v2/users/"+uid+"/api-keys", &e.Super, doc("api-key", map[string]any{"name": "spec"}, nil)).
		ExpectStatus(t, http.StatusCreated)
	key, _ := k.Attr(t, "key").(string)
	return apitest.Creds{UserID: uid, Email: email, Key: key}
}

func specFirstKey(t *testing.T, e *apitest.Env, uid string) string {
	t.Helper()
	keys := e.Get("/v2/users/"+uid+"/api-keys", &e.Super).ExpectStatus(t, http.StatusOK).List(t)
	if len(keys) == 0 {
		t.Fatal("the user has no API key")
	}
	id, _ := keys[0]["id"].(string)
	return id
}

// specExpectError checks the status and the first error's code, and
// returns the error objects.
func specExpectError(t *testing.T, r *apitest.Response, status int, code string) []map[string]any {
	t.Helper()
	if r.Status != status {
		t.Errorf("status %d, want %d (%s); body: %.300s", r.Status, status, code, r.Body)
		return nil
	}
	errs := r.Errors(t)
	if len(errs) == 0 || errs[0]["code"] != code {
		t.Errorf("errors %v, want code %s", errs, code)
	}
	return errs
}

func specStatuses(op *openapi3.Operation) []string {
	return slices.Sorted(maps.Keys(op.Responses.Map()))
}

func specLoadDoc(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(apitest.SpecPath())
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI document: %v", err)
	}
	return doc
}
