package oauthclients

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/audit"
	"github.com/oauthd/oauthd/components"
	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/fault"
	"github.com/oauthd/oauthd/internal/keyring"
	"github.com/oauthd/oauthd/internal/listing"
	"github.com/oauthd/oauthd/internal/testdb"
)

// cfComponents adapts the real components service, as internal/app does.
type cfComponents struct{ s *components.Service }

func (c cfComponents) LockVisible(ctx context.Context, tenantID, id uuid.UUID) (*Component, error) {
	comp, err := c.s.LockVisible(ctx, tenantID, id)
	if errors.Is(err, components.ErrComponentNotFound) {
		return nil, ErrNoComponent
	}
	if err != nil {
		return nil, fmt.Errorf("lock component: %w", err)
	}
	return &Component{TenantID: comp.TenantID, ID: comp.ID, Name: comp.Name, UseOAuthClient: comp.UseOAuthClient}, nil
}

func (c cfComponents) FlowsUsing(ctx context.Context, tenantID, componentID uuid.UUID) ([]FlowRef, error) {
	refs, err := c.s.FlowsUsing(ctx, tenantID, componentID)
	out := make([]FlowRef, len(refs))
	for i, r := range refs {
		out[i] = FlowRef{ID: r.ID, Name: r.Name}
	}
	return out, err
}

type cfEnv struct {
	db    *database.DB
	svc   *Service
	comps *components.Service
	a, b  uuid.UUID
}

func cfSetup(t *testing.T) *cfEnv {
	t.Helper()
	db := testdb.Open(t)
	ctx := context.Background()
	kr, err := keyring.New(bytes.Repeat([]byte{9}, keyring.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	e := &cfEnv{db: db, a: uuid.New(), b: uuid.New()}
	for i, id := range []uuid.UUID{e.a, e.b} {
		if err := db.Conn(ctx).Exec("INSERT INTO tenants (id, name) VALUES (?, ?)", id, []string{"a", "b"}[i]).Error; err != nil {
			t.Fatal(err)
		}
	}
	log := audit.NewLog(db)
	e.comps = components.NewService(db, components.NewStore(db), log)
	e.svc = NewService(db, NewStore(db), cfComponents{e.comps}, kr, log)
	return e
}

func (e *cfEnv) component(t *testing.T, tenant uuid.UUID, global bool) uuid.UUID {
	t.Helper()
	vis := components.VisibilityTenant
	if global {
		vis = components.VisibilityGlobal
	}
	c, err := e.comps.CreateComponent(context.Background(), tenant, global, components.NewComponent{
		Name: "sf-" + uuid.NewString()[:8], Visibility: vis, Descriptor: []byte(`{"useOAuthClient":true}`)})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

func (e *cfEnv) rowCount(t *testing.T, query string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := e.db.Conn(context.Background()).Raw(query, args...).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// Like hydra's persister_nid_test: with a client in tenant A, every call
// made with tenant B's id finds nothing and changes nothing.
func TestStoreOAuthClientsAreScopedByTenant(t *testing.T) {
	e := cfSetup(t)
	ctx := context.Background()
	comp := e.component(t, e.a, false)
	c, err := e.svc.Create(ctx, e.a, NewClient{ClientID: "client-a", ClientSecret: "secret-a-value", ComponentID: comp.String()})
	if err != nil {
		t.Fatal(err)
	}
	before, err := e.svc.store.get(ctx, e.a, c.ID, false)
	if err != nil {
		t.Fatal(err)
	}

	_, err = e.svc.store.get(ctx, e.b, c.ID, false)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("store.get from B: %v", err)
	}
	_, err = e.svc.store.get(ctx, e.b, c.ID, true)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("store.get for update from B: %v", err)
	}
	_, err = e.svc.Get(ctx, e.b, c.ID)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("Get from B: %v", err)
	}
	for _, f := range []Filter{{}, {ComponentID: &comp}} {
		page, err := e.svc.List(ctx, e.b, f, listing.Default())
		if err != nil || page.Total != 0 || len(page.Items) != 0 {
			t.Errorf("List from B with %+v: %d items, total %d, err %v", f, len(page.Items), page.Total, err)
		}
	}
	newID, newSecret := "client-b", "secret-b-value"
	_, err = e.svc.Update(ctx, e.b, c.ID, Patch{ClientID: &newID, ClientSecret: &newSecret})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("Update from B: %v", err)
	}
	if err := e.svc.Delete(ctx, e.b, c.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete from B: %v", err)
	}
	if err := e.svc.store.delete(ctx, e.b, c.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("store.delete from B: %v", err)
	}
	if _, _, err := e.svc.RevealSecret(ctx, e.b, c.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("RevealSecret from B: %v", err)
	}
	// B cannot hang a client on A's private component either.
	_, err = e.svc.Create(ctx, e.b, NewClient{ClientID: "x", ClientSecret: "yyyyyyyy", ComponentID: comp.String()})
	if ps, ok := fault.List(err); !ok || len(ps) != 1 || ps[0].Code != ErrComponentNotFound.Code {
		t.Errorf("Create in B for A's private component: %v", err)
	}

	after, err := e.svc.store.get(ctx, e.a, c.ID, false)
	if err != nil {
		t.Fatalf("A's client is gone: %v", err)
	}
	if after.ClientID != "client-a" || !bytes.Equal(after.SecretCiphertext, before.SecretCiphertext) ||
		!after.UpdatedAt.Equal(before.UpdatedAt) || after.TenantID != e.a {
		t.Errorf("A's client changed: %+v", after)
	}
	if _, secret, err := e.svc.RevealSecret(ctx, e.a, c.ID); err != nil || secret != "secret-a-value" {
		t.Errorf("A's secret = %q, %v", secret, err)
	}
	if n := e.rowCount(t, "SELECT count(*) FROM oauth_clients WHERE tenant_id = ?", e.b); n != 0 {
		t.Errorf("B has %d clients", n)
	}
	if n := e.rowCount(t, "SELECT count(*) FROM audit_events WHERE tenant_id = ?", e.b); n != 0 {
		t.Errorf("B's failed attempts left %d audit events", n)
	}
}

// With a global component, each tenant's client is its own: the same
// component id in B's calls reaches B's client only.
func TestStoreOAuthClientsOfASharedComponentStayApart(t *testing.T) {
	e := cfSetup(t)
	ctx := context.Background()
	comp := e.component(t, e.a, true)
	ca, err := e.svc.Create(ctx, e.a, NewClient{ClientID: "a", ClientSecret: "secret-of-a", ComponentID: comp.String()})
	if err != nil {
		t.Fatal(err)
	}
	cb, err := e.svc.Create(ctx, e.b, NewClient{ClientID: "b", ClientSecret: "secret-of-b", ComponentID: comp.String()})
	if err != nil {
		t.Fatal(err)
	}
	for tenant, want := range map[uuid.UUID]*Client{e.a: ca, e.b: cb} {
		page, err := e.svc.List(ctx, tenant, Filter{ComponentID: &comp}, listing.Default())
		if err != nil || page.Total != 1 || len(page.Items) != 1 || page.Items[0].ID != want.ID {
			t.Errorf("tenant %s lists %+v (total %d), want only %s; err %v", tenant, page.Items, page.Total, want.ID, err)
		}
	}
	if _, err := e.svc.Get(ctx, e.b, ca.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("B reads A's client: %v", err)
	}
	if err := e.svc.Delete(ctx, e.b, ca.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("B deletes A's client: %v", err)
	}
	if err := e.svc.Delete(ctx, e.b, cb.ID); err != nil {
		t.Fatal(err)
	}
	if _, secret, err := e.svc.RevealSecret(ctx, e.a, ca.ID); err != nil || secret != "secret-of-a" {
		t.Errorf("A's client after B deleted its own: %q, %v", secret, err)
	}
}

// TestListQueriesUseIndexes: every sort the list offers reads an index in
// page order, with no sequential scan and no sort step, so a page costs the
// same however many clients the tenant (or the table) holds.
func TestListQueriesUseIndexes(t *testing.T) {
	e := cfSetup(t)
	ctx := context.Background()
	// 20,000 clients, one in 20 of them tenant a's, each on its own component.
	for _, q := range []string{
		`INSERT INTO components (tenant_id, id, name, visibility, use_oauth_client)
			SELECT CASE WHEN i % 20 = 0 THEN ?::uuid ELSE ?::uuid END, gen_random_uuid(), 'c' || i, 'tenant', true
			FROM generate_series(1, 20000) i`,
		`INSERT INTO oauth_clients (tenant_id, id, component_tenant_id, component_id, client_id, secret_ciphertext, secret_key_id, secret_hint, created_at, updated_at)
			SELECT tenant_id, gen_random_uuid(), tenant_id, id, 'client-' || md5(id::text), '\x00', 'k', 'hint',
				now() - random() * interval '1 year', now() - random() * interval '1 year'
			FROM components WHERE name LIKE 'c%'`,
		"ANALYZE components", "ANALYZE oauth_clients",
	} {
		var args []any
		if strings.Contains(q, "?::uuid") {
			args = []any{e.a, e.b}
		}
		if err := e.db.Conn(ctx).Exec(q, args...).Error; err != nil {
			t.Fatal(err)
		}
	}
	for _, sort := range [][]listing.Sort{nil, {{Field: "client_id"}}, {{Field: "client_id", Desc: true}},
		{{Field: "updated_at", Desc: true}}, {{Field: "updated_at"}}, {{Field: "created_at", Desc: true}}} {
		plans := testdb.Plans(t, e.db, func() {
			p := listing.Default()
			p.Sort = sort
			if _, err := e.svc.List(ctx, e.a, Filter{}, p); err != nil {
				t.Fatal(err)
			}
		})
		if len(plans) == 0 {
			t.Fatalf("sort %v: no queries captured", sort)
		}
		for _, plan := range plans {
			if strings.Contains(plan, "Seq Scan on oauth_clients") {
				t.Errorf("sort %v: sequential scan:\n%s", sort, plan)
			}
			if strings.Contains(plan, "LIMIT") && strings.Contains(plan, "Sort Key") {
				t.Errorf("sort %v: the page query sorts instead of reading an index in order:\n%s", sort, plan)
			}
		}
		// A page read by cursor starts where the cursor falls, on the index
		// (a range condition on the sort keys), not by skipping rows.
		p := listing.Default()
		p.Sort = sort
		for range 5 {
			page, err := e.svc.List(ctx, e.a, Filter{}, p)
			if err != nil {
				t.Fatal(err)
			}
			p.After = page.Last
		}
		plans = testdb.Plans(t, e.db, func() {
			if _, err := e.svc.List(ctx, e.a, Filter{}, p); err != nil {
				t.Fatal(err)
			}
		})
		for _, plan := range plans {
			if !strings.Contains(plan, "LIMIT") {
				continue
			}
			if strings.Contains(plan, "Seq Scan on oauth_clients") || strings.Contains(plan, "Sort Key") || strings.Contains(plan, "OFFSET") {
				t.Errorf("sort %v, a page by cursor: a scan, sort or offset:\n%s", sort, plan)
			}
			if !regexp.MustCompile(`Index Cond: \(\(tenant_id = [^\n]*ROW\(`).MatchString(plan) {
				t.Errorf("sort %v, a page by cursor: the cursor is not an index condition:\n%s", sort, plan)
			}
		}
	}
}
