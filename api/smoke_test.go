package api_test

import (
	"net/http"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
)

func TestSmoke(t *testing.T) {
	e := apitest.New(t)
	su := &e.Super
	tid := e.Post("/v2/tenants", su, map[string]any{"data": map[string]any{"type": "tenant", "attributes": map[string]any{"name": "acme"}}}).ExpectStatus(t, 201).ID(t)
	comp := e.Post("/v2/tenants/"+tid+"/components", su, map[string]any{"data": map[string]any{"type": "component", "attributes": map[string]any{
		"name": "sf", "descriptor": map[string]any{"useOAuthClient": true}}}}).ExpectStatus(t, 201)
	t.Logf("%s", comp.Body)
	cid := comp.ID(t)
	oc := e.Post("/v2/tenants/"+tid+"/oauth-clients", su, map[string]any{"data": map[string]any{"type": "oauth-client",
		"attributes":    map[string]any{"client_id": "abc", "client_secret": "supersecretvalue"},
		"relationships": map[string]any{"component": map[string]any{"data": map[string]any{"type": "component", "id": cid}}}}})
	t.Logf("%d %s %v", oc.Status, oc.Body, oc.Header)
	l := e.Get("/v2/tenants/"+tid+"/oauth-clients/?filter[component]="+cid, su)
	t.Logf("%d %s", l.Status, l.Body)
	f := e.Post("/v2/tenants/"+tid+"/flows", su, map[string]any{"data": map[string]any{"type": "flow", "attributes": map[string]any{"name": "sync"},
		"relationships": map[string]any{"components": map[string]any{"data": []any{map[string]any{"type": "component", "id": cid}}}}}})
	t.Logf("%d %s", f.Status, f.Body)
	d := e.Delete("/v2/tenants/"+tid+"/oauth-clients/"+oc.ID(t), su)
	t.Logf("%d %s", d.Status, d.Body)
	a := e.Get("/v2/tenants/"+tid+"/audit-events", su)
	t.Logf("%d %s", a.Status, a.Body)
	_ = http.MethodGet
}
