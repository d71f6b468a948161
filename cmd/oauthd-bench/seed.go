package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/oauthd/oauthd/internal/database"
)

// createDatabase drops and creates name on the admin server, applies the
// migrations and returns the new database's URL.
func createDatabase(ctx context.Context, adminURL, name string) (string, error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return "", fmt.Errorf("connect to the admin URL: %w", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return "", err
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	dbURL := u.String()
	db, err := database.Open(dbURL, database.Options{MaxOpenConns: 2})
	if err != nil {
		return "", err
	}
	defer func() { _ = db.Close() }()
	if _, err := database.Migrate(ctx, db); err != nil {
		return "", fmt.Errorf("migrate: %w", err)
	}
	return dbURL, nil
}

func dropDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(ctx) }()
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	return err
}

// seeder writes rows straight into the database with set-based SQL. The
// rows are what the service itself would write, except the sealed secret: a
// dummy ciphertext under the server's key id, which is fine because nothing
// the bench calls opens it (list, get, create and delete never decrypt).
type seeder struct {
	conn       *pgx.Conn
	keyID      string
	ciphertext []byte
	background int // OAuth clients of background tenants seeded so far
	perTenant  int
}

type target struct {
	n          int
	tenantID   uuid.UUID
	clients    []uuid.UUID // ids of the target tenant's OAuth clients
	components []uuid.UUID // their components, for filter[component]
	spares     []uuid.UUID // components without a client, for create+delete
	api        *apiFixture // the authorization-server suite's API clients
}

func newSeeder(ctx context.Context, dbURL, keyID string, perTenant int) (*seeder, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return nil, err
	}
	// Foreign-key and other triggers stay on (no session_replication_role
	// trick): anything a trigger maintains, such as a per-tenant counter,
	// stays true for the seeded rows. It costs some seconds per million rows.
	ct := make([]byte, 12+16+24) // nonce, tag, a 24-byte secret: the shape of a real one
	_, _ = rand.Read(ct)
	return &seeder{conn: conn, keyID: keyID, ciphertext: ct, perTenant: perTenant}, nil
}

func (s *seeder) close(ctx context.Context) { _ = s.conn.Close(ctx) }

const seedChunk = 200_000

// bgTime spreads background rows over a year, the same instant for a
// component and its client (a hash of the row number, so it is repeatable).
const bgTime = `now() - (abs(hashint4(g)) % 31536000) * interval '1 second'`

// growBackground adds OAuth clients (each with its own component) in other
// tenants, perTenant to a tenant, until there are total of them. Ids are
// derived from the row number, so a chunk needs no lookups.
func (s *seeder) growBackground(ctx context.Context, total int) error {
	for s.background < total {
		from := s.background
		to := min(total, from+seedChunk) - 1 // inclusive
		start := time.Now()
		batch := &pgx.Batch{}
		batch.Queue(`INSERT INTO tenants (id, name, created_at, updated_at)
			SELECT md5('bench-bg-' || i)::uuid, 'bench-bg-' || i, now(), now()
			FROM generate_series($1::int, $2::int) i`,
			(from+s.perTenant-1)/s.perTenant, to/s.perTenant)
		batch.Queue(`INSERT INTO components (tenant_id, id, name, visibility, descriptor, use_oauth_client, created_at, updated_at)
			SELECT md5('bench-bg-' || (g / $3::int))::uuid, md5('bench-bg-comp-' || g)::uuid, 'bg-component-' || g,
			       'tenant', '{"useOAuthClient": true}'::jsonb, true, `+bgTime+`, `+bgTime+`
			FROM generate_series($1::int, $2::int) g`,
			from, to, s.perTenant)
		batch.Queue(`INSERT INTO oauth_clients (tenant_id, id, component_tenant_id, component_id, client_id,
			       secret_ciphertext, secret_key_id, secret_hint, created_at, updated_at)
			SELECT md5('bench-bg-' || (g / $3::int))::uuid, md5('bench-bg-client-' || g)::uuid,
			       md5('bench-bg-' || (g / $3::int))::uuid, md5('bench-bg-comp-' || g)::uuid,
			       'bg-client-' || g || '.apps.example.com', $4::bytea, $5::text, 'Zq9x', `+bgTime+`, `+bgTime+`
			FROM generate_series($1::int, $2::int) g`,
			from, to, s.perTenant, s.ciphertext, s.keyID)
		if err := s.conn.SendBatch(ctx, batch).Close(); err != nil {
			return fmt.Errorf("seed background rows %d..%d: %w", from, to, err)
		}
		s.background = to + 1
		logf("seed: background OAuth clients %d..%d in %s", from, to, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// seedTarget creates the target tenant with n OAuth clients, and spare
// components (wanting an OAuth client, without one) for create+delete.
func (s *seeder) seedTarget(ctx context.Context, n, spares int) (*target, error) {
	start := time.Now()
	name := fmt.Sprintf("bench-target-%d", n)
	batch := &pgx.Batch{}
	batch.Queue(`INSERT INTO tenants (id, name) VALUES (md5($1::text)::uuid, $1::text)`, name)
	batch.Queue(`INSERT INTO components (tenant_id, id, name, visibility, descriptor, use_oauth_client, created_at, updated_at)
		SELECT md5($1::text)::uuid, md5($1::text || '-comp-' || g)::uuid, 'component-' || g,
		       'tenant', '{"useOAuthClient": true}'::jsonb, true, now() - g * interval '1 second', now() - g * interval '1 second'
		FROM generate_series(1, $2::int) g`, name, n+spares)
	batch.Queue(`INSERT INTO oauth_clients (tenant_id, id, component_tenant_id, component_id, client_id,
		       secret_ciphertext, secret_key_id, secret_hint, created_at, updated_at)
		SELECT md5($1::text)::uuid, md5($1::text || '-client-' || g)::uuid, md5($1::text)::uuid, md5($1::text || '-comp-' || g)::uuid,
		       'client-' || g || '.apps.example.com', $3::bytea, $4::text, 'Zq9x',
		       now() - g * interval '1 second', now() - g * interval '1 second'
		FROM generate_series(1, $2::int) g`, name, n, s.ciphertext, s.keyID)
	if err := s.conn.SendBatch(ctx, batch).Close(); err != nil {
		return nil, fmt.Errorf("seed target tenant of %d: %w", n, err)
	}
	// Fresh statistics before reading the ids back: with the planner still
	// believing the tables are tiny, the spare-component anti-join below
	// would be a nested loop over both tables.
	if _, err := s.conn.Exec(ctx, "ANALYZE components, oauth_clients"); err != nil {
		return nil, err
	}
	t := &target{n: n}
	if err := s.conn.QueryRow(ctx, `SELECT md5($1::text)::uuid`, name).Scan(&t.tenantID); err != nil {
		return nil, err
	}
	rows, err := s.conn.Query(ctx, `SELECT id, component_id FROM oauth_clients WHERE tenant_id = $1`, t.tenantID)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id, comp uuid.UUID
		if err := rows.Scan(&id, &comp); err != nil {
			return nil, err
		}
		t.clients = append(t.clients, id)
		t.components = append(t.components, comp)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = s.conn.Query(ctx, `SELECT c.id FROM components c WHERE c.tenant_id = $1
		AND NOT EXISTS (SELECT 1 FROM oauth_clients o WHERE o.tenant_id = c.tenant_id AND o.component_id = c.id)`, t.tenantID)
	if err != nil {
		return nil, err
	}
	t.spares, err = pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, err
	}
	logf("seed: target tenant with %d OAuth clients and %d spare components in %s", len(t.clients), len(t.spares), time.Since(start).Round(time.Millisecond))
	return t, nil
}

// vacuum brings statistics and the visibility map up to date, as autovacuum
// would on a live system, so plans and index-only scans are realistic.
func (s *seeder) vacuum(ctx context.Context) error {
	start := time.Now()
	if _, err := s.conn.Exec(ctx, "VACUUM (ANALYZE) tenants, components, oauth_clients"); err != nil {
		return fmt.Errorf("vacuum analyze: %w", err)
	}
	logf("seed: VACUUM ANALYZE in %s", time.Since(start).Round(time.Millisecond))
	return nil
}

type tableFacts struct {
	OAuthClients int64
	Tenants      int64
	Components   int64
}

func (s *seeder) facts(ctx context.Context) (tableFacts, error) {
	var f tableFacts
	err := s.conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM oauth_clients), (SELECT count(*) FROM tenants),
		(SELECT count(*) FROM components)`).Scan(&f.OAuthClients, &f.Tenants, &f.Components)
	return f, err
}

// explain runs EXPLAIN ANALYZE on the SQL the list endpoint issues (the
// count for meta.total and the page), as oauthclients/store.go builds it.
func (s *seeder) explain(ctx context.Context, t *target) (map[string][]string, error) {
	queries := []struct {
		name, sql string
		args      []any
	}{
		{"count (meta.total)", `SELECT count(*) FROM "oauth_clients" WHERE tenant_id = $1`, []any{t.tenantID}},
		{"page (page[size]=20)", `SELECT oauth_clients.*, (c.deleted_at IS NULL) AS usable FROM "oauth_clients"
			JOIN components c ON c.tenant_id = oauth_clients.component_tenant_id AND c.id = oauth_clients.component_id
			WHERE oauth_clients.tenant_id = $1 ORDER BY oauth_clients.created_at, oauth_clients.id LIMIT 20`, []any{t.tenantID}},
		{"count with filter[component]", `SELECT count(*) FROM "oauth_clients" WHERE tenant_id = $1 AND component_id = $2`, []any{t.tenantID, t.components[0]}},
		{"page with filter[component]", `SELECT oauth_clients.*, (c.deleted_at IS NULL) AS usable FROM "oauth_clients"
			JOIN components c ON c.tenant_id = oauth_clients.component_tenant_id AND c.id = oauth_clients.component_id
			WHERE oauth_clients.tenant_id = $1 AND oauth_clients.component_id = $2
			ORDER BY oauth_clients.created_at, oauth_clients.id LIMIT 20`, []any{t.tenantID, t.components[0]}},
	}
	out := map[string][]string{}
	for _, q := range queries {
		// Warm once so the plan shows steady-state buffers, not a cold cache.
		if _, err := s.conn.Exec(ctx, "EXPLAIN (ANALYZE) "+q.sql, q.args...); err != nil {
			return nil, fmt.Errorf("explain %s: %w", q.name, err)
		}
		rows, err := s.conn.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+q.sql, q.args...)
		if err != nil {
			return nil, fmt.Errorf("explain %s: %w", q.name, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, err
		}
		out[q.name] = lines
	}
	return out, nil
}

var explainOrder = []string{"count (meta.total)", "page (page[size]=20)", "count with filter[component]", "page with filter[component]"}
