package purge_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/audit"
	"github.com/oauthd/oauthd/authserver"
	"github.com/oauthd/oauthd/internal/budget"
	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/jobs"
	"github.com/oauthd/oauthd/internal/purge"
	"github.com/oauthd/oauthd/internal/testdb"
	"github.com/oauthd/oauthd/policy"
)

// allTargets is every target the application registers (the audit trail
// with a retention set).
func allTargets() []purge.Target {
	auditTarget, _ := audit.PurgeTarget(90 * 24 * time.Hour)
	return append(authserver.PurgeTargets(), policy.PurgeTarget(), budget.PurgeTarget(), auditTarget)
}

func open(t *testing.T, url string) *database.DB {
	t.Helper()
	db, err := database.Open(url, database.Options{MaxOpenConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func exec(t *testing.T, db *database.DB, sql string, args ...any) {
	t.Helper()
	if err := db.Conn(context.Background()).Exec(sql, args...).Error; err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func count(t *testing.T, db *database.DB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Conn(context.Background()).Raw(sql, args...).Scan(&n).Error; err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// instance is one oauthd's queue with the purges registered.
func instance(t *testing.T, db *database.DB, clock jobs.Clock, targets ...purge.Target) (*jobs.Queue, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	q := jobs.New(db, jobs.Options{Clock: clock, Registry: reg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	purge.Register(q, db, reg, targets...)
	return q, reg
}

func runDue(t testing.TB, q *jobs.Queue) {
	t.Helper()
	if _, err := q.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// revokedTokens fills revoked_tokens with n rows expiring at expiresAt.
func revokedTokens(t *testing.T, db *database.DB, tenant uuid.UUID, n int, expiresAt time.Time) {
	t.Helper()
	exec(t, db, `INSERT INTO revoked_tokens (tenant_id, jti, expires_at) SELECT ?, gen_random_uuid(), ? FROM generate_series(1, ?)`,
		tenant, expiresAt, n)
}

func newTenant(t *testing.T, db *database.DB) uuid.UUID {
	t.Helper()
	id := uuid.New()
	exec(t, db, "INSERT INTO tenants (id, name) VALUES (?, ?)", id, "t-"+id.String())
	return id
}

var revokedTarget = purge.Target{Name: "revoked_tokens", Table: "revoked_tokens", Key: "tenant_id, jti", Column: "expires_at", After: time.Minute}

// The purge deletes what expired, in batches, and nothing else; the next
// run, a period later by the queue's clock, takes what has expired since.
func TestPurgeDeletesWhatExpired(t *testing.T) {
	db := open(t, testdb.New(t))
	now := time.Now().UTC()
	clock := jobs.NewManualClock(now)
	tenant := newTenant(t, db)
	revokedTokens(t, db, tenant, 2*purge.BatchSize+500, now.Add(-time.Hour))
	revokedTokens(t, db, tenant, 10, now.Add(30*time.Second)) // within the target's minute of grace
	revokedTokens(t, db, tenant, 7, now.Add(time.Hour))
	q, reg := instance(t, db, clock, revokedTarget)

	runDue(t, q)
	if n := count(t, db, "SELECT count(*) FROM revoked_tokens"); n != 17 {
		t.Fatalf("%d rows left, want the 17 that have not expired", n)
	}
	want := fmt.Sprintf(`# HELP oauthd_purged_rows_total Rows deleted by the housekeeping jobs, by target.
# TYPE oauthd_purged_rows_total counter
oauthd_purged_rows_total{target="revoked_tokens"} %d
`, 2*purge.BatchSize+500)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "oauthd_purged_rows_total"); err != nil {
		t.Error(err)
	}

	clock.Advance(purge.DefaultEvery)
	runDue(t, q)
	if n := count(t, db, "SELECT count(*) FROM revoked_tokens"); n != 7 {
		t.Errorf("%d rows left a period later, want the 7 that still live", n)
	}
}

// Several instances find the purge due at the same moment; it runs once.
func TestPurgeRunsOnceAcrossInstances(t *testing.T) {
	url := testdb.New(t)
	now := time.Now().UTC()
	clock := jobs.NewManualClock(now)
	var queues []*jobs.Queue
	for range 4 {
		q, _ := instance(t, open(t, url), clock, revokedTarget)
		queues = append(queues, q)
	}
	db := open(t, url)
	revokedTokens(t, db, newTenant(t, db), 10, now.Add(-time.Hour))
	for round := range 3 {
		apitest.Race(t, len(queues), func(i int, t testing.TB) { runDue(t, queues[i]) })
		if n := count(t, db, "SELECT count(*) FROM jobs WHERE kind = 'purge.revoked_tokens'"); n != round+1 {
			t.Fatalf("after %d periods the purge ran %d times", round+1, n)
		}
		clock.Advance(purge.DefaultEvery)
	}
}

// Every target's batch costs what it deletes: with sequential scans and
// whole-table joins ruled out, the batch statement still has a plan, and
// every index it reads it reads by a condition (the expiry column for the
// batch, the key for each row), never from end to end.
func TestPurgeTargetsUseIndexes(t *testing.T) {
	db := open(t, testdb.New(t))
	for _, target := range allTargets() {
		var plan []string
		err := db.InTx(context.Background(), func(ctx context.Context) error {
			for _, off := range []string{"enable_seqscan", "enable_hashjoin", "enable_mergejoin"} {
				if err := db.Conn(ctx).Exec("SET LOCAL " + off + " = off").Error; err != nil {
					return err
				}
			}
			return db.Conn(ctx).Raw("EXPLAIN "+purge.Statement(target), time.Now()).Scan(&plan).Error
		})
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(plan, "\n")
		if strings.Contains(text, "Seq Scan") || strings.Count(text, "Index Scan")+strings.Count(text, "Index Only Scan") != strings.Count(text, "Index Cond:") {
			t.Errorf("%s: the purge reads a whole table or index:\n%s", target.Name, text)
		}
	}
}

// The purge never waits for a row a live request holds (here an attempt
// that has locked its budget row and is about to lock its address's): it
// deletes the other expired rows and leaves that one for a later run, so
// it can never be one side of a deadlock with the request.
func TestPurgeSkipsRowsARequestHolds(t *testing.T) {
	url := testdb.New(t)
	db := open(t, url)
	now := time.Now().UTC()
	for _, key := range []string{"a", "b", "c"} {
		exec(t, db, `INSERT INTO failure_budgets (key, burst, per_second, tokens, taken, updated_at) VALUES (?, 10, 1, 10, true, ?)`,
			key, now.Add(-2*time.Hour))
	}
	holder := open(t, url)
	held := make(chan struct{})
	release := make(chan struct{})
	holding := make(chan error, 1)
	go func() {
		holding <- holder.InTx(context.Background(), func(ctx context.Context) error {
			if err := holder.Conn(ctx).Exec("SELECT 1 FROM failure_budgets WHERE key = 'b' FOR UPDATE").Error; err != nil {
				return err
			}
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	q, _ := instance(t, db, jobs.NewManualClock(now), budget.PurgeTarget())
	purged := make(chan struct{})
	go func() { defer close(purged); runDue(t, q) }()
	select {
	case <-purged:
	case <-time.After(time.Minute): // a guard against hanging, not a measure
		t.Error("the purge waited for the row the request holds")
		close(release)
		<-purged
		return
	}
	close(release)
	if err := <-holding; err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, "SELECT count(*) FROM failure_budgets WHERE key <> 'b'"); n != 0 {
		t.Errorf("%d expired rows nobody held are left", n)
	}
	if n := count(t, db, "SELECT count(*) FROM failure_budgets WHERE key = 'b'"); n != 1 {
		t.Error("the held row was deleted under the request")
	}
}
