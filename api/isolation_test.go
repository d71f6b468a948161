package api_test

// The tenant-isolation matrix: every route under /v2 is listed once in
// isoRoutes, and each test walks the whole table. A route added to
// api/routes.go without a row here fails TestIsolationTableCoversEveryRoute.

import (
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/policy"
)

// Guards a route can have besides a permission.
const (
	isoAnyUser   = "any user"   // authenticated is enough
	isoMember    = "member"     // a member of the tenant (no permission)
	isoSuperuser = "superuser"  // superusers only
	isoSelf      = "self"       // the user named by :uid, or a superuser
	isoSelfSuper = "self+super" // :uid must be visible and the caller a superuser
)

// isoRoute is one route: its method and path exactly as Echo lists it, the
// guard that protects it and a body that would succeed for a caller allowed
// to call it.
type isoRoute struct {
	method string
	path   string
	guard  string // a permission name or one of the iso* guards
	body   func(w *isoWorld, tt *isoTenant) any
}

func (r isoRoute) String() string { return r.method + " " + r.path }

// inTenant reports whether the route lives under /v2/tenants/:tid.
func (r isoRoute) inTenant() bool { return strings.HasPrefix(r.path, "/v2/tenants/:tid") }

// hasResourceID reports whether the route names a resource below the tenant or user.
func (r isoRoute) hasResourceID() bool {
	return strings.Contains(r.path, "/:id") || strings.Contains(r.path, "/members/:uid") || strings.Contains(r.path, "/:kid")
}

var isoRoutes = []isoRoute{
	{http.MethodGet, "/v2/tenants", isoAnyUser, nil},
	{http.MethodPost, "/v2/tenants", isoSuperuser, func(*isoWorld, *isoTenant) any {
		return doc("tenant", map[string]any{"name": "iso-" + uniq()}, nil)
	}},
	{http.MethodGet, "/v2/users", isoSuperuser, nil},
	{http.MethodPost, "/v2/users", isoSuperuser, func(*isoWorld, *isoTenant) any {
		return doc("user", map[string]any{"email": "iso-" + uniq() + "@example.test", "password": "iso password " + uniq()}, nil)
	}},
	{http.MethodGet, "/v2/users/:uid", isoSelf, nil},
	{http.MethodPatch, "/v2/users/:uid", isoSelf, func(*isoWorld, *isoTenant) any {
		return doc("user", map[string]any{"password": "iso new password " + uniq()}, nil)
	}},
	{http.MethodDelete, "/v2/users/:uid", isoSelfSuper, nil},
	{http.MethodGet, "/v2/users/:uid/api-keys", isoSelf, nil},
	{http.MethodPost, "/v2/users/:uid/api-keys", isoSelf, func(*isoWorld, *isoTenant) any {
		return doc("api-key", map[string]any{"name": "iso"}, nil)
	}},
	{http.MethodDelete, "/v2/users/:uid/api-keys/:kid", isoSelf, nil},

	{http.MethodGet, "/v2/tenants/:tid", isoMember, nil},
	{http.MethodPatch, "/v2/tenants/:tid", isoSuperuser, func(*isoWorld, *isoTenant) any {
		return doc("tenant", map[string]any{"name": "renamed-" + uniq()}, nil)
	}},
	{http.MethodDelete, "/v2/tenants/:tid", isoSuperuser, nil},

	{http.MethodGet, "/v2/tenants/:tid/members", policy.MembersGet, nil},
	{http.MethodPost, "/v2/tenants/:tid/members", policy.MembersCreate, func(w *isoWorld, _ *isoTenant) any {
		return doc("member", map[string]any{"roles": []string{"viewer"}, "permissions": []string{}},
			map[string]any{"user": rel("user", w.outsider.UserID)})
	}},
	{http.MethodGet, "/v2/tenants/:tid/members/:uid", policy.MembersGet, nil},
	{http.MethodPatch, "/v2/tenants/:tid/members/:uid", policy.MembersEdit, func(*isoWorld, *isoTenant) any {
		return doc("member", map[string]any{"roles": []string{"viewer"}}, nil)
	}},
	{http.MethodDelete, "/v2/tenants/:tid/members/:uid", policy.MembersDelete, nil},

	{http.MethodGet, "/v2/tenants/:tid/components", policy.ComponentsGet, nil},
	{http.MethodPost, "/v2/tenants/:tid/components", policy.ComponentsCreate, func(*isoWorld, *isoTenant) any {
		return doc("component", map[string]any{"name": "iso-" + uniq(), "visibility": "tenant", "descriptor": oauthDescriptor()}, nil)
	}},
	{http.MethodGet, "/v2/tenants/:tid/components/:id", policy.ComponentsGet, nil},
	{http.MethodPatch, "/v2/tenants/:tid/components/:id", policy.ComponentsEdit, func(*isoWorld, *isoTenant) any {
		return doc("component", map[string]any{"name": "renamed-" + uniq()}, nil)
	}},
	{http.MethodDelete, "/v2/tenants/:tid/components/:id", policy.ComponentsDelete, nil},

	{http.MethodGet, "/v2/tenants/:tid/flows", policy.FlowsGet, nil},
	{http.MethodPost, "/v2/tenants/:tid/flows", policy.FlowsCreate, func(_ *isoWorld, tt *isoTenant) any {
		return flowDoc("iso-"+uniq(), tt.component)
	}},
	{http.MethodGet, "/v2/tenants/:tid/flows/:id", policy.FlowsGet, nil},
	{http.MethodPatch, "/v2/tenants/:tid/flows/:id", policy.FlowsEdit, func(*isoWorld, *isoTenant) any {
		return doc("flow", map[string]any{"name": "renamed-" + uniq()}, nil)
	}},
	{http.MethodDelete, "/v2/tenants/:tid/flows/:id", policy.FlowsDelete, nil},

	{http.MethodGet, "/v2/tenants/:tid/oauth-clients", policy.OAuthClientsGet, nil},
	{http.MethodPost, "/v2/tenants/:tid/oauth-clients", policy.OAuthClientsCreate, func(_ *isoWorld, tt *isoTenant) any {
		return oauthClientDoc(tt.spareComponent, "iso-client", "iso-secret-0123456789")
	}},
	{http.MethodGet, "/v2/tenants/:tid/oauth-clients/:id", policy.OAuthClientsGet, nil},
	{http.MethodPatch, "/v2/tenants/:tid/oauth-clients/:id", policy.OAuthClientsEdit, func(*isoWorld, *isoTenant) any {
		return doc("oauth-client", map[string]any{"client_id": "changed", "client_secret": "changed-secret-0123"}, nil)
	}},
	{http.MethodDelete, "/v2/tenants/:tid/oauth-clients/:id", policy.OAuthClientsDelete, nil},
	{http.MethodGet, "/v2/tenants/:tid/oauth-clients/:id/secret", policy.OAuthClientsRevealSecret, nil},

	{http.MethodGet, "/v2/tenants/:tid/audit-events", policy.AuditGet, nil},

	{http.MethodGet, "/v2/tenants/:tid/components/:id/oauth-config", policy.OAuthClientsRevealSecret, nil},
	{http.MethodGet, "/v2/tenants/:tid/connections", policy.ConnectionsGet, nil},
	{http.MethodPost, "/v2/tenants/:tid/connections", policy.ConnectionsCreate, func(_ *isoWorld, tt *isoTenant) any {
		return doc("connection", map[string]any{"name": "iso-" + uniq()}, map[string]any{"component": rel("component", tt.component)})
	}},
	{http.MethodGet, "/v2/tenants/:tid/connections/:id", policy.ConnectionsGet, nil},
	{http.MethodDelete, "/v2/tenants/:tid/connections/:id", policy.ConnectionsDelete, nil},
	{http.MethodPost, "/v2/tenants/:tid/connections/:id/access-token", policy.ConnectionsToken, nil},
	{http.MethodPost, "/v2/tenants/:tid/connections/:id/refresh", policy.ConnectionsEdit, nil},
	{http.MethodPost, "/v2/tenants/:tid/connections/:id/reconnect", policy.ConnectionsEdit, nil},

	{http.MethodGet, "/v2/api-client-templates", isoAnyUser, nil},
	{http.MethodGet, "/v2/tenants/:tid/api-clients", policy.APIClientsGet, nil},
	{http.MethodPost, "/v2/tenants/:tid/api-clients", policy.APIClientsCreate, func(*isoWorld, *isoTenant) any {
		return apiClientDoc(map[string]any{"name": "iso-" + uniq()})
	}},
	{http.MethodGet, "/v2/tenants/:tid/api-clients/:id", policy.APIClientsGet, nil},
	{http.MethodPatch, "/v2/tenants/:tid/api-clients/:id", policy.APIClientsEdit, func(*isoWorld, *isoTenant) any {
		return doc("api-client", map[string]any{"name": "renamed-" + uniq()}, nil)
	}},
	{http.MethodDelete, "/v2/tenants/:tid/api-clients/:id", policy.APIClientsDelete, nil},
	{http.MethodPost, "/v2/tenants/:tid/api-clients/:id/revoke-tokens", policy.APIClientsEdit, nil},
	{http.MethodGet, "/v2/tenants/:tid/api-clients/:id/secrets", policy.APIClientsGet, nil},
	{http.MethodPost, "/v2/tenants/:tid/api-clients/:id/secrets", policy.APIClientsEdit, func(*isoWorld, *isoTenant) any {
		return doc("api-client-secret", map[string]any{}, nil)
	}},
	{http.MethodDelete, "/v2/tenants/:tid/api-clients/:id/secrets/:sid", policy.APIClientsEdit, nil},

	{http.MethodGet, "/v2/tenants/:tid/webhooks", policy.WebhooksGet, nil},
	{http.MethodPost, "/v2/tenants/:tid/webhooks", policy.WebhooksCreate, func(w *isoWorld, _ *isoTenant) any {
		return webhookDoc(w.hookURL, "api_client.*")
	}},
	{http.MethodGet, "/v2/tenants/:tid/webhooks/:id", policy.WebhooksGet, nil},
	{http.MethodPatch, "/v2/tenants/:tid/webhooks/:id", policy.WebhooksEdit, func(*isoWorld, *isoTenant) any {
		return doc("webhook", map[string]any{"description": "renamed-" + uniq()}, nil)
	}},
	{http.MethodDelete, "/v2/tenants/:tid/webhooks/:id", policy.WebhooksDelete, nil},
	{http.MethodGet, "/v2/tenants/:tid/webhooks/:id/secrets", policy.WebhooksGet, nil},
	{http.MethodPost, "/v2/tenants/:tid/webhooks/:id/secrets", policy.WebhooksEdit, func(*isoWorld, *isoTenant) any {
		return doc("webhook-secret", map[string]any{}, nil)
	}},
	{http.MethodDelete, "/v2/tenants/:tid/webhooks/:id/secrets/:sid", policy.WebhooksEdit, nil},
	{http.MethodGet, "/v2/tenants/:tid/webhooks/:id/deliveries", policy.WebhooksGet, nil},
}

// isoTenant is a tenant with one of everything in it.
type isoTenant struct {
	id             string
	owner          apitest.Creds // member with the owner role
	ownerKeyID     string
	component      string // has an OAuth client and is in flow
	spareComponent string // has no OAuth client
	flow           string
	oauthClient    string
	apiClient      string // a confidential API client
	apiSecret      string // one of its secrets
	connection     string // a pending connection through the OAuth client
	webhook        string
	webhookSecret  string // its first secret, still live after a rotation
}

// isoWorld is two tenants, A and B, a member of A who holds nothing and a
// user who belongs to no tenant.
type isoWorld struct {
	e        *apitest.Env
	a, b     *isoTenant
	bare     apitest.Creds
	outsider apitest.Creds
	hookURL  string // a receiver that accepts every delivery
}

func isoSetup(t *testing.T) *isoWorld {
	t.Helper()
	e := apitest.New(t, apitest.WithOutboundAllowPrivate()) // the webhooks deliver to a receiver on loopback
	hookURL := apitest.NewReceiver(t).URL()
	w := &isoWorld{e: e, a: isoNewTenant(t, e, hookURL), b: isoNewTenant(t, e, hookURL), hookURL: hookURL}
	w.bare = newMember(t, e, w.a.id, nil, nil)
	w.outsider = newUser(t, e)
	return w
}

func isoNewTenant(t *testing.T, e *apitest.Env, hookURL string) *isoTenant {
	t.Helper()
	tt := &isoTenant{id: newTenant(t, e)}
	tt.owner = newMember(t, e, tt.id, []string{"owner"}, nil)
	keys := e.Get("/v2/users/"+tt.owner.UserID+"/api-keys", &e.Super).ExpectStatus(t, http.StatusOK).List(t)
	if len(keys) != 1 {
		t.Fatalf("new user has %d api keys, want 1", len(keys))
	}
	tt.ownerKeyID, _ = keys[0]["id"].(string)
	tt.component = newOAuthComponent(t, e, tt.id, &e.Super)
	tt.spareComponent = newOAuthComponent(t, e, tt.id, &e.Super)
	tt.oauthClient = mustOAuthClient(t, e, tt.id, &e.Super, tt.component, "client-"+uniq(), "secret-"+uniq()+"-0123456789")
	tt.flow = newFlow(t, e, tt.id, &e.Super, "flow-"+uniq(), tt.component)
	tt.apiClient, _ = mustAPIClient(t, e, tt.id, &e.Super, nil)
	tt.apiSecret, _ = mustAPIClientSecret(t, e, tt.id, &e.Super, tt.apiClient, nil)
	tt.connection = e.Post(tenantPath(tt.id, "/connections"), &e.Super, doc("connection", map[string]any{"name": "conn-" + uniq()},
		map[string]any{"component": rel("component", tt.component)})).ExpectStatus(t, http.StatusCreated).ID(t)
	tt.webhook, _ = mustWebhook(t, e, tt.id, &e.Super, hookURL, "*")
	secrets := e.Get(tenantPath(tt.id, "/webhooks/"+tt.webhook+"/secrets"), &e.Super).ExpectStatus(t, http.StatusOK).List(t)
	tt.webhookSecret, _ = secrets[0]["id"].(string)
	e.Post(tenantPath(tt.id, "/webhooks/"+tt.webhook+"/secrets"), &e.Super, doc("webhook-secret", map[string]any{}, nil)).
		ExpectStatus(t, http.StatusCreated)
	return tt
}

// isoIDs are the values a route's path parameters are filled with.
type isoIDs struct {
	tid, uid, kid, component, flow, oauthClient, member      string
	apiClient, apiSecret, connection, webhook, webhookSecret string
}

func (tt *isoTenant) ids() isoIDs {
	return isoIDs{tid: tt.id, uid: tt.owner.UserID, kid: tt.ownerKeyID, component: tt.component, flow: tt.flow,
		oauthClient: tt.oauthClient, member: tt.owner.UserID, apiClient: tt.apiClient, apiSecret: tt.apiSecret,
		connection: tt.connection, webhook: tt.webhook, webhookSecret: tt.webhookSecret}
}

// isoRandomIDs name nothing.
func isoRandomIDs() isoIDs {
	r := uuid.NewString
	return isoIDs{tid: r(), uid: r(), kid: r(), component: r(), flow: r(), oauthClient: r(), member: r(),
		apiClient: r(), apiSecret: r(), connection: r(), webhook: r(), webhookSecret: r()}
}

// fill puts ids into an Echo path; each :id takes its meaning from the
// collection before it.
func (ids isoIDs) fill(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if !strings.HasPrefix(s, ":") {
			continue
		}
		prev := segs[i-1]
		switch {
		case s == ":tid":
			segs[i] = ids.tid
		case s == ":kid":
			segs[i] = ids.kid
		case s == ":uid" && prev == "members":
			segs[i] = ids.member
		case s == ":uid":
			segs[i] = ids.uid
		case prev == "components":
			segs[i] = ids.component
		case prev == "flows":
			segs[i] = ids.flow
		case prev == "oauth-clients":
			segs[i] = ids.oauthClient
		case prev == "api-clients":
			segs[i] = ids.apiClient
		case prev == "connections":
			segs[i] = ids.connection
		case prev == "webhooks":
			segs[i] = ids.webhook
		case s == ":sid" && segs[i-3] == "webhooks":
			segs[i] = ids.webhookSecret
		case s == ":sid":
			segs[i] = ids.apiSecret
		default:
			panic("isolation table: no id for " + s + " after " + prev + " in " + path)
		}
	}
	return strings.Join(segs, "/")
}

// do calls route r with the given ids as creds, reporting to t; the body is
// the route's valid body for tenant tt.
func (w *isoWorld) do(t testing.TB, r isoRoute, ids isoIDs, creds *apitest.Creds, tt *isoTenant) *apitest.Response {
	req := apitest.Request{Method: r.method, Path: ids.fill(r.path), Auth: creds}
	if r.body != nil {
		req.Body = r.body(w, tt)
	}
	return w.e.For(t).Do(req)
}

// isoSnapshot counts the rows of every table, once the job queue is
// quiet.
func isoSnapshot(t *testing.T, e *apitest.Env) map[string]int {
	t.Helper()
	e.QuietJobs(t) // deliveries of earlier events must not move the counts
	return tableCounts(t, e)
}

// tableCounts counts the rows of every table as they are, periodic jobs'
// runs aside: deterministic only where nothing else writes in the
// background (an Env WithoutJobWorkers, or one quieted by QuietJobs).
func tableCounts(t *testing.T, e *apitest.Env) map[string]int {
	t.Helper()
	rows, err := e.App.DB.SQL().Query(`SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if len(tables) < 5 {
		t.Fatalf("found only tables %v", tables)
	}
	counts := map[string]int{}
	for _, name := range tables {
		q := `SELECT count(*) FROM "` + name + `"`
		if name == "jobs" {
			// A periodic job's run (a schedule's name is its kind) comes
			// when its time does, whatever the requests did: a long test
			// on a busy machine sees one. Every job a request could queue
			// is still counted.
			q += ` WHERE kind NOT IN (SELECT name FROM job_schedules)`
		}
		counts[name] = countRows(t, e, q)
	}
	return counts
}

// isoExpectUnchanged fails when any table's row count differs from before.
func isoExpectUnchanged(t *testing.T, e *apitest.Env, before map[string]int) {
	t.Helper()
	expectSameCounts(t, before, isoSnapshot(t, e))
}

// expectSameCounts fails when any table's row count differs.
func expectSameCounts(t *testing.T, before, after map[string]int) {
	t.Helper()
	for name, n := range before {
		if after[name] != n {
			t.Errorf("table %s had %d rows, now %d", name, n, after[name])
		}
	}
}

// isoErrors is the errors array of r with the given ids replaced, so two
// answers about different ids can be compared.
func isoErrors(t *testing.T, r *apitest.Response, ids isoIDs) string {
	t.Helper()
	body := string(r.Body)
	for _, id := range []string{ids.tid, ids.uid, ids.kid, ids.component, ids.flow, ids.oauthClient, ids.member, ids.apiClient, ids.apiSecret, ids.connection, ids.webhook, ids.webhookSecret} {
		body = strings.ReplaceAll(body, id, "{id}")
	}
	var d struct {
		Errors []map[string]any `json:"errors"`
	}
	if err := json.Unmarshal([]byte(body), &d); err != nil || len(d.Errors) == 0 {
		t.Fatalf("not an error document (%d): %s", r.Status, r.Body)
	}
	out, _ := json.Marshal(d.Errors)
	return string(out)
}

func TestIsolationTableCoversEveryRoute(t *testing.T) {
	e := apitest.New(t)
	standard := []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodHead, http.MethodOptions, http.MethodConnect, http.MethodTrace}
	var served []string
	for _, r := range e.App.Server.Echo().Routes() {
		if (r.Path == "/v2" || strings.HasPrefix(r.Path, "/v2/")) && slices.Contains(standard, r.Method) {
			served = append(served, r.Method+" "+r.Path)
		}
	}
	var listed []string
	for _, r := range isoRoutes {
		listed = append(listed, r.String())
	}
	sort.Strings(served)
	sort.Strings(listed)
	for _, s := range served {
		if !slices.Contains(listed, s) {
			t.Errorf("route %s is served but missing from isoRoutes: add it to the isolation matrix", s)
		}
	}
	for _, l := range listed {
		if !slices.Contains(served, l) {
			t.Errorf("isoRoutes lists %s, which is not served", l)
		}
	}
	if len(served) < 30 {
		t.Errorf("only %d routes under /v2: %v", len(served), served)
	}
}

// A member of tenant A gets, for everything in tenant B, the same 404 as
// for ids that name nothing: B's existence is not leaked.
func TestIsolationOtherTenantIsNotFound(t *testing.T) {
	w := isoSetup(t)
	e := w.e
	before := isoSnapshot(t, e)
	for _, r := range isoRoutes {
		if !r.inTenant() {
			continue
		}
		t.Run(r.String(), func(t *testing.T) {
			// Tenant B's id, with B's resource ids.
			bIDs := w.b.ids()
			got := w.do(t, r, bIDs, &w.a.owner, w.a)
			random := isoRandomIDs()
			want := w.do(t, r, random, &w.a.owner, w.a)
			if got.Status != http.StatusNotFound || want.Status != http.StatusNotFound {
				t.Fatalf("status %d for tenant B and %d for a random tenant, want 404 for both: %s", got.Status, want.Status, got.Body)
			}
			expectError(t, got, http.StatusNotFound, "tenant_not_found", "")
			if g, w := isoErrors(t, got, bIDs), isoErrors(t, want, random); g != w {
				t.Errorf("tenant B's answer differs from a random id's:\n B: %s\n random: %s", g, w)
			}
		})
	}
	isoExpectUnchanged(t, e, before)
}

// Tenant A's path with tenant B's resource ids finds nothing, exactly as a
// random id finds nothing.
func TestIsolationOtherTenantsResourcesAreNotFound(t *testing.T) {
	w := isoSetup(t)
	e := w.e
	before := isoSnapshot(t, e)
	n := 0
	for _, r := range isoRoutes {
		if !r.inTenant() || !r.hasResourceID() {
			continue
		}
		n++
		t.Run(r.String(), func(t *testing.T) {
			mixed := w.b.ids()
			mixed.tid = w.a.id
			got := w.do(t, r, mixed, &w.a.owner, w.a)
			random := isoRandomIDs()
			random.tid = w.a.id
			want := w.do(t, r, random, &w.a.owner, w.a)
			if got.Status != http.StatusNotFound || want.Status != http.StatusNotFound {
				t.Fatalf("status %d for B's id and %d for a random id, want 404: %s", got.Status, want.Status, got.Body)
			}
			if g, w := isoErrors(t, got, mixed), isoErrors(t, want, random); g != w {
				t.Errorf("B's id answers differently from a random id:\n B: %s\n random: %s", g, w)
			}
		})
	}
	if n < 13 {
		t.Errorf("only %d routes with resource ids", n)
	}
	// A superuser, who may see B, still cannot reach B's resources through A.
	for _, r := range isoRoutes {
		if !r.inTenant() || !r.hasResourceID() || r.method != http.MethodGet {
			continue
		}
		mixed := w.b.ids()
		mixed.tid = w.a.id
		if got := w.do(t, r, mixed, &e.Super, w.a); got.Status != http.StatusNotFound {
			t.Errorf("superuser %s with A's path and B's id: %d, want 404: %s", r, got.Status, got.Body)
		}
	}
	isoExpectUnchanged(t, e, before)
}

// Relationships that name another tenant's resources get exactly the answer
// an id that names nothing gets.
func TestIsolationRelationshipsToOtherTenants(t *testing.T) {
	w := isoSetup(t)
	e := w.e
	a, b := w.a, w.b
	before := isoSnapshot(t, e)
	random := uuid.NewString()
	cases := []struct {
		name, method, path string
		body               func(id string) any
		code, pointer      string
	}{
		{"create oauth client", http.MethodPost, tenantPath(a.id, "/oauth-clients"),
			func(id string) any { return oauthClientDoc(id, "cid", "secret-0123456789") },
			"component_not_found", "/data/relationships/component/data/id"},
		{"move oauth client", http.MethodPatch, tenantPath(a.id, "/oauth-clients/"+a.oauthClient),
			func(id string) any {
				return doc("oauth-client", nil, map[string]any{"component": rel("component", id)})
			},
			"component_not_found", "/data/relationships/component/data/id"},
		{"create flow", http.MethodPost, tenantPath(a.id, "/flows"),
			func(id string) any { return flowDoc("f-"+uniq(), a.component, id) },
			"component_not_found", "/data/relationships/components/data/1/id"},
		{"create connection", http.MethodPost, tenantPath(a.id, "/connections"),
			func(id string) any {
				return doc("connection", map[string]any{"name": "c-" + uniq()}, map[string]any{"component": rel("component", id)})
			},
			"component_not_found", "/data/relationships/component/data/id"},
		{"change flow", http.MethodPatch, tenantPath(a.id, "/flows/"+a.flow),
			func(id string) any { return doc("flow", nil, map[string]any{"components": rels("component", id)}) },
			"component_not_found", "/data/relationships/components/data/0/id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.For(t)
			got := e.Do(apitest.Request{Method: c.method, Path: c.path, Auth: &a.owner, Body: c.body(b.spareComponent)})
			want := e.Do(apitest.Request{Method: c.method, Path: c.path, Auth: &a.owner, Body: c.body(random)})
			expectError(t, got, http.StatusUnprocessableEntity, c.code, c.pointer)
			expectError(t, want, http.StatusUnprocessableEntity, c.code, c.pointer)
			g := strings.ReplaceAll(string(got.Body), b.spareComponent, "{id}")
			r := strings.ReplaceAll(string(want.Body), random, "{id}")
			if g != r {
				t.Errorf("B's component answers differently from a random id:\n B: %s\n random: %s", g, r)
			}
		})
	}
	isoExpectUnchanged(t, e, before)
}

// A member without roles or permissions gets 403 permission_denied on every
// route guarded by a permission, naming that permission.
func TestIsolationMemberWithoutPermissions(t *testing.T) {
	w := isoSetup(t)
	e := w.e
	before := isoSnapshot(t, e)
	for _, r := range isoRoutes {
		if !r.inTenant() {
			continue
		}
		t.Run(r.String(), func(t *testing.T) {
			res := w.do(t, r, w.a.ids(), &w.bare, w.a)
			switch r.guard {
			case isoMember:
				res.ExpectStatus(t, http.StatusOK)
			case isoSuperuser:
				expectError(t, res, http.StatusForbidden, "superuser_required", "")
			default:
				obj := expectError(t, res, http.StatusForbidden, "permission_denied", "")
				meta, _ := obj["meta"].(map[string]any)
				if meta["permission"] != r.guard {
					t.Errorf("permission_denied names %v, want %s", meta["permission"], r.guard)
				}
			}
		})
	}
	isoExpectUnchanged(t, e, before)
}

// Each single permission opens exactly the routes it guards: a member
// holding only p is let through (to a 400 for an empty body, a 404 for an
// id naming nothing, or a 200) on p's routes and gets 403 on all others.
func TestIsolationEachPermissionOpensOnlyItsRoutes(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	perms := map[string]bool{}
	for _, r := range isoRoutes {
		if strings.HasPrefix(r.guard, "tenants.") {
			perms[r.guard] = true
		}
	}
	random := isoRandomIDs()
	random.tid = tid
	for _, p := range slices.Sorted(maps.Keys(perms)) {
		holder := newMember(t, e, tid, nil, []string{p})
		before := isoSnapshot(t, e)
		for _, r := range isoRoutes {
			if !strings.HasPrefix(r.guard, "tenants.") {
				continue
			}
			req := apitest.Request{Method: r.method, Path: random.fill(r.path), Auth: &holder}
			if r.body != nil {
				req.Body = `{}`
			}
			res := e.Do(req)
			if r.guard == p {
				if res.Status == http.StatusForbidden || res.Status >= 500 || !slices.Contains([]int{200, 400, 404}, res.Status) {
					t.Errorf("holder of %s: %s → %d, want it let through: %s", p, r, res.Status, res.Body)
				}
			} else if res.Status != http.StatusForbidden {
				t.Errorf("holder of only %s: %s → %d, want 403: %s", p, r, res.Status, res.Body)
			}
		}
		isoExpectUnchanged(t, e, before)
	}
}

// Without valid credentials every route answers 401 with a challenge, and a
// wrong key and an unknown email are indistinguishable.
func TestIsolationAuthentication(t *testing.T) {
	w := isoSetup(t)
	e := w.e
	before := isoSnapshot(t, e)
	owner := w.a.owner
	wrongKey := apitest.Creds{Email: owner.Email, Key: "wrong_" + strings.Repeat("k", 40)}
	unknownEmail := apitest.Creds{Email: "nobody-" + uniq() + "@example.test", Key: owner.Key}
	unknownEmailWrongKey := apitest.Creds{Email: "nobody-" + uniq() + "@example.test", Key: "wrong_" + strings.Repeat("k", 40)}
	emptyKey := apitest.Creds{Email: owner.Email, Key: ""}
	for _, r := range isoRoutes {
		t.Run(r.String(), func(t *testing.T) {
			e := e.For(t)
			var answers []*apitest.Response
			for _, creds := range []*apitest.Creds{&wrongKey, &unknownEmail, &unknownEmailWrongKey, &emptyKey} {
				answers = append(answers, w.do(t, r, w.a.ids(), creds, w.a))
			}
			answers = append(answers, w.do(t, r, w.a.ids(), nil, w.a))
			// A malformed bearer token is an invalid token (RFC 6750 §3.1).
			bearer := e.Do(apitest.Request{Method: r.method, Path: w.a.ids().fill(r.path), Header: http.Header{"Authorization": {"Bearer abc"}}})
			expectError(t, bearer, http.StatusUnauthorized, "invalid_token", "")
			if !strings.Contains(bearer.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("bearer answer has WWW-Authenticate %q", bearer.Header.Get("WWW-Authenticate"))
			}
			for _, header := range []string{"Basic !!!notbase64", "Basic " + "bm9jb2xvbg==", "Digest x", "basic"} {
				req := apitest.Request{Method: r.method, Path: w.a.ids().fill(r.path), Header: http.Header{"Authorization": {header}}}
				if r.body != nil {
					req.Body = r.body(w, w.a)
				}
				answers = append(answers, e.Do(req))
			}
			for i, res := range answers {
				expectError(t, res, http.StatusUnauthorized, "unauthenticated", "")
				if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic ") {
					t.Errorf("answer %d has WWW-Authenticate %q", i, res.Header.Get("WWW-Authenticate"))
				}
			}
			// wrong key, unknown email and both: byte for byte the same
			for i := 1; i < 3; i++ {
				if string(answers[i].Body) != string(answers[0].Body) ||
					answers[i].Header.Get("WWW-Authenticate") != answers[0].Header.Get("WWW-Authenticate") ||
					answers[i].Header.Get("Content-Type") != answers[0].Header.Get("Content-Type") {
					t.Errorf("answer %d differs from the wrong-key answer:\n%s\n%s", i, answers[i].Body, answers[0].Body)
				}
			}
		})
	}
	isoExpectUnchanged(t, e, before)
}

// Superuser-only routes refuse members (even owners) with 403; other users'
// accounts are 404 to non-superusers, exactly like ids that name nothing.
func TestIsolationSuperuserOnlyAndOtherUsers(t *testing.T) {
	w := isoSetup(t)
	e := w.e
	owner := &w.a.owner
	before := isoSnapshot(t, e)
	for _, r := range isoRoutes {
		switch r.guard {
		case isoSuperuser:
			t.Run("superuser only "+r.String(), func(t *testing.T) {
				res := w.do(t, r, w.a.ids(), owner, w.a)
				expectError(t, res, http.StatusForbidden, "superuser_required", "")
			})
		case isoSelf, isoSelfSuper:
			t.Run("other user "+r.String(), func(t *testing.T) {
				other := w.b.ids() // tenant B's owner and their API key
				got := w.do(t, r, other, owner, w.a)
				random := isoRandomIDs()
				want := w.do(t, r, random, owner, w.a)
				if got.Status != http.StatusNotFound || want.Status != http.StatusNotFound {
					t.Fatalf("status %d for another user and %d for a random id, want 404: %s", got.Status, want.Status, got.Body)
				}
				if g, w := isoErrors(t, got, other), isoErrors(t, want, random); g != w {
					t.Errorf("another user's answer differs from a random id's:\n other: %s\n random: %s", g, w)
				}
			})
		}
	}
	t.Run("another user's API key through me", func(t *testing.T) {
		e := e.For(t)
		got := e.Delete("/v2/users/me/api-keys/"+w.b.ownerKeyID, owner)
		want := e.Delete("/v2/users/me/api-keys/"+uuid.NewString(), owner)
		if got.Status != http.StatusNotFound || want.Status != http.StatusNotFound {
			t.Fatalf("status %d and %d, want 404: %s", got.Status, want.Status, got.Body)
		}
		if g, r := strings.ReplaceAll(string(got.Body), w.b.ownerKeyID, "{id}"), isoErrorsRaw(want); g != r {
			t.Errorf("answers differ:\n%s\n%s", g, r)
		}
		// B's owner can still use that key.
		e.Get("/v2/users/me", &w.b.owner).ExpectStatus(t, http.StatusOK)
	})
	t.Run("deleting yourself needs a superuser", func(t *testing.T) {
		e := e.For(t)
		expectError(t, e.Delete("/v2/users/me", owner), http.StatusForbidden, "superuser_required", "")
	})
	t.Run("making yourself a superuser", func(t *testing.T) {
		e := e.For(t)
		res := e.Patch("/v2/users/me", owner, doc("user", map[string]any{"superuser": true}, nil))
		expectError(t, res, http.StatusForbidden, "superuser_required", "/data/attributes/superuser")
	})
	t.Run("tenant list shows only your tenants", func(t *testing.T) {
		e := e.For(t)
		list := e.Get("/v2/tenants", owner).ExpectStatus(t, http.StatusOK).List(t)
		if len(list) != 1 || list[0]["id"] != w.a.id {
			t.Errorf("owner of A lists %v, want only %s", list, w.a.id)
		}
		if l := e.Get("/v2/tenants", &w.outsider).ExpectStatus(t, http.StatusOK).List(t); len(l) != 0 {
			t.Errorf("a user in no tenant lists %v", l)
		}
	})
	t.Run("a user in no tenant sees no tenant", func(t *testing.T) {
		for _, r := range isoRoutes {
			if !r.inTenant() {
				continue
			}
			if res := w.do(t, r, w.a.ids(), &w.outsider, w.a); res.Status != http.StatusNotFound {
				t.Errorf("outsider %s → %d, want 404: %s", r, res.Status, res.Body)
			}
		}
	})
	isoExpectUnchanged(t, e, before)
	if superOK := e.Get("/v2/users/"+w.b.owner.UserID, &e.Super); superOK.Status != http.StatusOK {
		t.Errorf("superuser reading a user: %d", superOK.Status)
	}
}

func isoErrorsRaw(r *apitest.Response) string {
	s := string(r.Body)
	for _, part := range strings.Split(s, "/") {
		if _, err := uuid.Parse(part); err == nil && len(part) == 36 {
			s = strings.ReplaceAll(s, part, "{id}")
		}
	}
	return s
}
