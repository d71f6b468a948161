package oauthclients_test

// Service-level benchmarks: the OAuth clients service on a real PostgreSQL
// database, without HTTP. Run with
//
//	go test -run '^$' -bench . ./oauthclients
//
// (make bench runs them). The List benchmarks seed N clients in one tenant
// so the cost of a page can be compared between small and large tenants;
// they take no timing decisions themselves.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/app"
	"github.com/oauthd/oauthd/internal/keyring"
	"github.com/oauthd/oauthd/internal/listing"
	"github.com/oauthd/oauthd/internal/testdb"
	"github.com/oauthd/oauthd/oauthclients"
)

var benchKey = bytes.Repeat([]byte{9}, keyring.KeySize)

type benchTenant struct {
	app        *app.App
	tenantID   uuid.UUID
	clients    []uuid.UUID
	components []uuid.UUID
	spares     []uuid.UUID
}

// newBenchTenant starts the services on a fresh database with one tenant
// holding n OAuth clients (each on its own component) and spare components
// without one. Rows are seeded with one set-based INSERT each.
func newBenchTenant(b *testing.B, n, spares int) *benchTenant {
	b.Helper()
	ctx := context.Background()
	kr, err := keyring.New(benchKey)
	if err != nil {
		b.Fatal(err)
	}
	a, err := app.New(ctx, app.Options{DatabaseURL: testdb.New(b), Keyring: kr, MaxDBConns: 8,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Close() })
	t, err := a.Tenants.CreateTenant(ctx, fmt.Sprintf("bench-%d", n))
	if err != nil {
		b.Fatal(err)
	}
	bt := &benchTenant{app: a, tenantID: t.ID}
	db := a.DB.Conn(ctx)
	if err := db.Exec(`INSERT INTO components (tenant_id, id, name, visibility, descriptor, use_oauth_client, created_at, updated_at)
		SELECT ?, gen_random_uuid(), 'component-' || g, 'tenant', '{"useOAuthClient": true}', true,
		       now() - g * interval '1 second', now() - g * interval '1 second'
		FROM generate_series(1, ?::int) g`, t.ID, n+spares).Error; err != nil {
		b.Fatal(err)
	}
	if err := db.Exec(`INSERT INTO oauth_clients (tenant_id, id, component_tenant_id, component_id, client_id,
		       secret_ciphertext, secret_key_id, secret_hint, created_at, updated_at)
		SELECT tenant_id, gen_random_uuid(), tenant_id, id, 'client-' || name, '\x00'::bytea, ?, 'xxxx', created_at, created_at
		FROM components WHERE tenant_id = ? ORDER BY created_at DESC LIMIT ?`, kr.CurrentKeyID(), t.ID, n).Error; err != nil {
		b.Fatal(err)
	}
	if err := db.Exec("VACUUM (ANALYZE) components, oauth_clients").Error; err != nil {
		b.Fatal(err)
	}
	var rows []struct{ ID, ComponentID uuid.UUID }
	if err := db.Raw("SELECT id, component_id FROM oauth_clients WHERE tenant_id = ?", t.ID).Scan(&rows).Error; err != nil {
		b.Fatal(err)
	}
	for _, r := range rows {
		bt.clients = append(bt.clients, r.ID)
		bt.components = append(bt.components, r.ComponentID)
	}
	if err := db.Raw(`SELECT c.id FROM components c WHERE c.tenant_id = ? AND NOT EXISTS
		(SELECT 1 FROM oauth_clients o WHERE o.tenant_id = c.tenant_id AND o.component_id = c.id)`, t.ID).Scan(&bt.spares).Error; err != nil {
		b.Fatal(err)
	}
	return bt
}

var tenantSizes = []int{10, 10_000}

// BenchmarkList lists the first page (page[size]=20, default order, with
// meta.total) of a tenant of 10 and of 10,000 clients.
func BenchmarkList(b *testing.B) {
	for _, n := range tenantSizes {
		b.Run(fmt.Sprintf("tenant=%d", n), func(b *testing.B) {
			bt := newBenchTenant(b, n, 0)
			ctx := context.Background()
			p := listing.Params{Number: 1, Size: 20}
			for b.Loop() {
				page, err := bt.app.OAuthClients.List(ctx, bt.tenantID, oauthclients.Filter{}, p)
				if err != nil || page.Total != int64(n) {
					b.Fatalf("list: total %d, %v", page.Total, err)
				}
			}
		})
	}
}

// BenchmarkListFilterComponent lists with filter[component].
func BenchmarkListFilterComponent(b *testing.B) {
	for _, n := range tenantSizes {
		b.Run(fmt.Sprintf("tenant=%d", n), func(b *testing.B) {
			bt := newBenchTenant(b, n, 0)
			ctx := context.Background()
			p := listing.Params{Number: 1, Size: 20}
			i := 0
			for b.Loop() {
				comp := bt.components[i%len(bt.components)]
				i++
				page, err := bt.app.OAuthClients.List(ctx, bt.tenantID, oauthclients.Filter{ComponentID: &comp}, p)
				if err != nil || len(page.Items) != 1 {
					b.Fatalf("list: %d items, %v", len(page.Items), err)
				}
			}
		})
	}
}

// BenchmarkGet reads one client by id.
func BenchmarkGet(b *testing.B) {
	bt := newBenchTenant(b, 1000, 0)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		id := bt.clients[i%len(bt.clients)]
		i++
		if _, err := bt.app.OAuthClients.Get(ctx, bt.tenantID, id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateDelete creates a client for a free component and deletes
// it again (two transactions, each with its audit event).
func BenchmarkCreateDelete(b *testing.B) {
	bt := newBenchTenant(b, 100, 8)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		comp := bt.spares[i%len(bt.spares)]
		i++
		c, err := bt.app.OAuthClients.Create(ctx, bt.tenantID, oauthclients.NewClient{
			ClientID: "bench-client", ClientSecret: "bench-secret-value", ComponentID: comp.String()})
		if err != nil {
			b.Fatal(err)
		}
		if err := bt.app.OAuthClients.Delete(ctx, bt.tenantID, c.ID); err != nil {
			b.Fatal(err)
		}
	}
}
