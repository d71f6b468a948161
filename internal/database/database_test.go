package database_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/testdb"
	"github.com/oauthd/oauthd/migrations"
)

func exec(t *testing.T, dsn, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func withDB(t *testing.T, admin, name string) string {
	t.Helper()
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// emptyDatabase creates a database with no migrations applied.
func emptyDatabase(t *testing.T) string {
	t.Helper()
	admin := testdb.ServerURL(t)
	name := fmt.Sprintf("t_empty_%d", time.Now().UnixNano())
	exec(t, admin, "CREATE DATABASE "+name)
	t.Cleanup(func() { exec(t, admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	return withDB(t, admin, name)
}

func migrationCount(t *testing.T) int {
	t.Helper()
	n := 0
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		// SQL files, and Go migrations (a numbered .go file; embed.go is none).
		if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".sql") || strings.HasPrefix(path, "0") && strings.HasSuffix(path, ".go")) {
			n++
		}
		return err
	})
	if err != nil || n == 0 {
		t.Fatalf("embedded migrations: %d files, %v", n, err)
	}
	return n
}

func open(t *testing.T, dsn string) *database.DB {
	t.Helper()
	db, err := database.Open(dsn, database.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// TestMigrateConcurrently starts five "instances" at once on a fresh
// database: the advisory lock lets one apply each migration, the others
// wait and find nothing to do, and none fails.
func TestMigrateConcurrently(t *testing.T) {
	dsn := emptyDatabase(t)
	pending := open(t, dsn)
	current, err := database.MigrationsCurrent(context.Background(), pending)
	if err != nil || current {
		t.Fatalf("fresh database: MigrationsCurrent = %v, %v; want false", current, err)
	}

	const instances = 5
	var wg sync.WaitGroup
	applied := make([]int, instances)
	errs := make([]error, instances)
	start := make(chan struct{})
	for i := 0; i < instances; i++ {
		db := open(t, dsn) // each instance has its own pool
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			applied[i], errs[i] = database.Migrate(ctx, db)
		}(i)
	}
	close(start)
	wg.Wait()
	total := 0
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
		total += applied[i]
	}
	if want := migrationCount(t); total != want {
		t.Errorf("migrations applied %d times in all (%v), want each of the %d once", total, applied, want)
	}
	current, err = database.MigrationsCurrent(context.Background(), pending)
	if err != nil || !current {
		t.Fatalf("after migrating: MigrationsCurrent = %v, %v; want true", current, err)
	}
	// Running again is a no-op.
	if n, err := database.Migrate(context.Background(), pending); err != nil || n != 0 {
		t.Fatalf("second Migrate applied %d, %v; want 0, nil", n, err)
	}
}

func TestMigrationsCurrentOnTestDatabase(t *testing.T) {
	db := open(t, testdb.New(t))
	current, err := database.MigrationsCurrent(context.Background(), db)
	if err != nil || !current {
		t.Fatalf("MigrationsCurrent = %v, %v; want true", current, err)
	}
}

func TestIsUnavailable(t *testing.T) {
	ctx := context.Background()
	// Nothing listens on this port: connection refused.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	down := open(t, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/x?sslmode=disable", closedPort))
	start := time.Now()
	err = down.Ping(ctx)
	if err == nil || !database.IsUnavailable(err) {
		t.Fatalf("ping of a closed port: %v; IsUnavailable = false", err)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("a refused connection took %s to report", time.Since(start))
	}
	var n int
	err = down.Conn(ctx).Raw("SELECT 1").Scan(&n).Error
	if !database.IsUnavailable(err) {
		t.Fatalf("query on a down database: %v; IsUnavailable = false", err)
	}

	db := open(t, testdb.New(t))
	for name, sql := range map[string]string{
		"syntax error":   "SELEC 1",
		"unknown table":  "SELECT * FROM no_such_table",
		"division by 0":  "SELECT 1/0",
		"cast violation": "SELECT 'x'::int",
	} {
		err := db.Conn(ctx).Exec(sql).Error
		if err == nil || database.IsUnavailable(err) {
			t.Errorf("%s: %v; must not count as unavailable", name, err)
		}
	}
	if database.IsUnavailable(nil) || database.IsUnavailable(errors.New("something else")) {
		t.Error("IsUnavailable of nil or a plain error")
	}
	if database.IsUnavailable(context.Canceled) || !database.IsCanceled(fmt.Errorf("x: %w", context.Canceled)) {
		t.Error("a canceled request is not an outage")
	}
	if !database.IsUnavailable(fmt.Errorf("wrapped: %w", database.ErrUnavailable)) {
		t.Error("ErrUnavailable wrapped")
	}
}

// TestPoolRecoversFromTerminatedConnections: the server ends every session
// (as a restart or failover does); the pool reports the loss as an outage
// and then serves again on new connections without being reopened.
func TestPoolRecoversFromTerminatedConnections(t *testing.T) {
	ctx := context.Background()
	dsn := testdb.New(t)
	db := open(t, dsn)
	var name string
	if err := db.Conn(ctx).Raw("SELECT current_database()").Scan(&name).Error; err != nil {
		t.Fatal(err)
	}
	// Fill the pool with idle connections.
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = db.Conn(ctx).Exec("SELECT pg_sleep(0.05)").Error
		}()
	}
	wg.Wait()
	exec(t, testdb.ServerURL(t), fmt.Sprintf(
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '%s' AND pid <> pg_backend_pid()", name))

	failures := 0
	for attempt := 0; ; attempt++ {
		var one int
		err := db.Conn(ctx).Raw("SELECT 1").Scan(&one).Error
		if err == nil && one == 1 {
			break
		}
		if !database.IsUnavailable(err) {
			t.Fatalf("after the sessions were terminated: %v, which is not reported as unavailable", err)
		}
		failures++
		if attempt > 10 {
			t.Fatalf("the pool did not recover after %d attempts: %v", attempt, err)
		}
	}
	// Each stale connection fails at most once; then they are gone.
	if failures > 4 {
		t.Errorf("%d failures for 4 stale connections", failures)
	}
	for i := 0; i < 10; i++ {
		if err := db.Ping(ctx); err != nil {
			t.Fatalf("ping after recovery: %v", err)
		}
	}
}

func TestInTxRollsBackAndNests(t *testing.T) {
	ctx := context.Background()
	db := open(t, testdb.New(t))
	if err := db.Conn(ctx).Exec("CREATE TABLE tx_probe (v int)").Error; err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := db.InTx(ctx, func(ctx context.Context) error {
		if err := db.Conn(ctx).Exec("INSERT INTO tx_probe VALUES (1)").Error; err != nil {
			return err
		}
		// A nested call joins the outer transaction.
		return db.InTx(ctx, func(ctx context.Context) error {
			if err := db.Conn(ctx).Exec("INSERT INTO tx_probe VALUES (2)").Error; err != nil {
				return err
			}
			return boom
		})
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx returned %v, want boom", err)
	}
	var n int64
	if err := db.Conn(ctx).Raw("SELECT count(*) FROM tx_probe").Scan(&n).Error; err != nil || n != 0 {
		t.Fatalf("rows after a failed transaction: %d, %v; want 0", n, err)
	}
	if err := db.InTx(ctx, func(ctx context.Context) error {
		return db.Conn(ctx).Exec("INSERT INTO tx_probe VALUES (3)").Error
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Conn(ctx).Raw("SELECT count(*) FROM tx_probe").Scan(&n).Error; err != nil || n != 1 {
		t.Fatalf("rows after a committed transaction: %d, %v; want 1", n, err)
	}
}

// TestInTxRetriesADeadlockVictim: two transactions that lock two rows in
// opposite orders deadlock; Postgres aborts one, and InTx runs it again, so
// both callers succeed and both updates are there.
func TestInTxRetriesADeadlockVictim(t *testing.T) {
	ctx := context.Background()
	db := open(t, testdb.New(t))
	if err := db.Conn(ctx).Exec("CREATE TABLE deadlock_probe (id int PRIMARY KEY, n int NOT NULL DEFAULT 0); INSERT INTO deadlock_probe VALUES (1, 0), (2, 0)").Error; err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	runs := 0
	var firstLocks sync.WaitGroup
	firstLocks.Add(2)
	lockBoth := func(first, second int) error {
		attempt := 0
		return db.InTx(ctx, func(ctx context.Context) error {
			attempt++
			mu.Lock()
			runs++
			mu.Unlock()
			if err := db.Conn(ctx).Exec("UPDATE deadlock_probe SET n = n + 1 WHERE id = ?", first).Error; err != nil {
				return err
			}
			if attempt == 1 {
				// Both hold their first row before either asks for its second.
				firstLocks.Done()
				firstLocks.Wait()
			}
			return db.Conn(ctx).Exec("UPDATE deadlock_probe SET n = n + 1 WHERE id = ?", second).Error
		})
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); errs[0] = lockBoth(1, 2) }()
	go func() { defer wg.Done(); errs[1] = lockBoth(2, 1) }()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("transaction %d: %v", i, err)
		}
	}
	// At least one run was a victim run again. Under load the victim's
	// retry can take its first row back before the winner gets it and
	// deadlock once more, so more runs are legitimate; both must succeed.
	if runs < 3 {
		t.Errorf("fn ran %d times, want at least 3 (a deadlock victim run again)", runs)
	}
	var total int
	if err := db.SQL().QueryRow("SELECT sum(n) FROM deadlock_probe").Scan(&total); err != nil || total != 4 {
		t.Errorf("sum of updates = %d (%v), want 4: each transaction's two, once", total, err)
	}
}

func TestIsContention(t *testing.T) {
	for code, want := range map[string]bool{"40P01": true, "40001": true, "23505": false, "08006": false} {
		if got := database.IsContention(fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: code})); got != want {
			t.Errorf("IsContention(%s) = %v, want %v", code, got, want)
		}
	}
	if database.IsContention(errors.New("deadlock")) || database.IsContention(nil) {
		t.Error("IsContention is true for an error that is not from Postgres")
	}
}
