package api_test

// HTTP benchmarks through the whole Echo stack (authentication, tenant
// scope, permission check, JSON:API encoding) against a real PostgreSQL, via
// apitest's httptest server. Run with
//
//	go test -run '^$' -bench . ./api
//
// (make bench runs them). Requests go straight through net/http, not
// apitest's Do, so the OpenAPI check is not part of what is timed.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/internal/keyring"
)

type benchTenant struct {
	env        *apitest.Env
	auth       string
	base       string // .../v2/tenants/{tid}/oauth-clients
	clients    []string
	components []string
	spares     []string
}

// newBenchTenant starts oauthd with one tenant (created through the API)
// holding n OAuth clients seeded with set-based SQL, plus spare components
// without a client. The caller is the bootstrap superuser.
func newBenchTenant(b *testing.B, n, spares int) *benchTenant {
	b.Helper()
	e := apitest.New(b)
	tid := e.Post("/v2/tenants", &e.Super, map[string]any{"data": map[string]any{"type": "tenant",
		"attributes": map[string]any{"name": fmt.Sprintf("bench-%d", n)}}}).ExpectStatus(b, http.StatusCreated).ID(b)
	db := e.App.DB.Conn(b.Context())
	if err := db.Exec(`INSERT INTO components (tenant_id, id, name, visibility, descriptor, use_oauth_client, created_at, updated_at)
		SELECT ?::uuid, gen_random_uuid(), 'component-' || g, 'tenant', '{"useOAuthClient": true}', true,
		       now() - g * interval '1 second', now() - g * interval '1 second'
		FROM generate_series(1, ?::int) g`, tid, n+spares).Error; err != nil {
		b.Fatal(err)
	}
	if err := db.Exec(`INSERT INTO oauth_clients (tenant_id, id, component_tenant_id, component_id, client_id,
		       secret_ciphertext, secret_key_id, secret_hint, created_at, updated_at)
		SELECT tenant_id, gen_random_uuid(), tenant_id, id, 'client-' || name, '\x00'::bytea, ?, 'xxxx', created_at, created_at
		FROM components WHERE tenant_id = ?::uuid ORDER BY created_at DESC LIMIT ?`,
		keyring.KeyID(apitest.TestMasterKey), tid, n).Error; err != nil {
		b.Fatal(err)
	}
	if err := db.Exec("VACUUM (ANALYZE) components, oauth_clients").Error; err != nil {
		b.Fatal(err)
	}
	bt := &benchTenant{env: e, auth: apitest.BasicAuth(e.Super), base: e.URL("/v2/tenants/" + tid + "/oauth-clients")}
	var rows []struct{ ID, ComponentID string }
	if err := db.Raw("SELECT id::text, component_id::text FROM oauth_clients WHERE tenant_id = ?::uuid", tid).Scan(&rows).Error; err != nil {
		b.Fatal(err)
	}
	for _, r := range rows {
		bt.clients = append(bt.clients, r.ID)
		bt.components = append(bt.components, r.ComponentID)
	}
	if err := db.Raw(`SELECT c.id::text FROM components c WHERE c.tenant_id = ?::uuid AND NOT EXISTS
		(SELECT 1 FROM oauth_clients o WHERE o.tenant_id = c.tenant_id AND o.component_id = c.id)`, tid).Scan(&bt.spares).Error; err != nil {
		b.Fatal(err)
	}
	return bt
}

// do sends one request and fails the benchmark unless it gets want.
func (bt *benchTenant) do(b *testing.B, method, url, body string, want int) []byte {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", bt.auth)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	out, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != want {
		b.Fatalf("%s %s: %d, want %d: %s %v", method, url, resp.StatusCode, want, out, err)
	}
	return out
}

var tenantSizes = []int{10, 10_000}

// BenchmarkListOAuthClients is GET .../oauth-clients?page[size]=20 for a
// tenant of 10 and of 10,000 clients.
func BenchmarkListOAuthClients(b *testing.B) {
	for _, n := range tenantSizes {
		b.Run(fmt.Sprintf("tenant=%d", n), func(b *testing.B) {
			bt := newBenchTenant(b, n, 0)
			url := bt.base + "?page%5Bsize%5D=20"
			for b.Loop() {
				bt.do(b, http.MethodGet, url, "", http.StatusOK)
			}
		})
	}
}

// BenchmarkListOAuthClientsFilter is GET .../oauth-clients?filter[component]=.
func BenchmarkListOAuthClientsFilter(b *testing.B) {
	for _, n := range tenantSizes {
		b.Run(fmt.Sprintf("tenant=%d", n), func(b *testing.B) {
			bt := newBenchTenant(b, n, 0)
			i := 0
			for b.Loop() {
				bt.do(b, http.MethodGet, bt.base+"?filter%5Bcomponent%5D="+bt.components[i%len(bt.components)], "", http.StatusOK)
				i++
			}
		})
	}
}

// BenchmarkGetOAuthClient is GET .../oauth-clients/{id}.
func BenchmarkGetOAuthClient(b *testing.B) {
	bt := newBenchTenant(b, 1000, 0)
	i := 0
	for b.Loop() {
		bt.do(b, http.MethodGet, bt.base+"/"+bt.clients[i%len(bt.clients)], "", http.StatusOK)
		i++
	}
}

// BenchmarkCreateDeleteOAuthClient is POST .../oauth-clients with elastic.io's
// body, then DELETE of the new client.
func BenchmarkCreateDeleteOAuthClient(b *testing.B) {
	bt := newBenchTenant(b, 100, 8)
	i := 0
	for b.Loop() {
		comp := bt.spares[i%len(bt.spares)]
		i++
		body := `{"data":{"type":"oauth-client","attributes":{"client_id":"bench","client_secret":"bench-secret-value"},` +
			`"relationships":{"component":{"data":{"id":"` + comp + `","type":"component"}}}}}`
		out := bt.do(b, http.MethodPost, bt.base, body, http.StatusCreated)
		var doc struct{ Data struct{ ID string } }
		if err := json.Unmarshal(out, &doc); err != nil || doc.Data.ID == "" {
			b.Fatalf("create response without data.id: %s", out)
		}
		bt.do(b, http.MethodDelete, bt.base+"/"+doc.Data.ID, "", http.StatusNoContent)
	}
}
