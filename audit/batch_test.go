package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/oauthd/oauthd/audit"
	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/testdb"
)

// batchEnv is a test database with two tenants, the service's pool and
// the writer's own pool (synchronous_commit off), as internal/app opens them.
type batchEnv struct {
	db, writer *database.DB
	a, b       uuid.UUID
	reg        *prometheus.Registry
	logs       *bytes.Buffer
	logMu      *sync.Mutex
}

func newBatchEnv(t *testing.T) *batchEnv {
	t.Helper()
	url := testdb.New(t)
	db, err := database.Open(url, database.Options{})
	if err != nil {
		t.Fatal(err)
	}
	writer, err := database.Open(url, database.Options{MaxOpenConns: 1, RuntimeParams: map[string]string{"synchronous_commit": "off"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = writer.Close(); _ = db.Close() })
	e := &batchEnv{db: db, writer: writer, a: uuid.New(), b: uuid.New(), reg: prometheus.NewRegistry(), logs: &bytes.Buffer{}, logMu: &sync.Mutex{}}
	for i, id := range []uuid.UUID{e.a, e.b} {
		if err := db.Conn(context.Background()).Exec("INSERT INTO tenants (id, name) VALUES (?, ?)", id, []string{"a", "b"}[i]).Error; err != nil {
			t.Fatal(err)
		}
	}
	return e
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (e *batchEnv) batcher(t *testing.T, o audit.BatchOptions) *audit.Batcher {
	t.Helper()
	o.Registry = e.reg
	o.Log = slog.New(slog.NewJSONHandler(lockedWriter{e.logMu, e.logs}, nil))
	b := audit.NewBatcher(e.writer.SQL(), e.db.SQL(), o)
	t.Cleanup(func() { _ = b.Close(context.Background()) })
	return b
}

func (e *batchEnv) count(t *testing.T, action string) int {
	t.Helper()
	var n int
	if err := e.db.SQL().QueryRow("SELECT count(*) FROM audit_events WHERE action = $1", action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// metric is a counter's value in the batcher's registry; label, when not
// empty, selects the series whose path is label.
func (e *batchEnv) metric(t *testing.T, name, label string) int {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label == "" || len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == label {
				return int(m.GetCounter().GetValue())
			}
		}
	}
	return 0
}

func (e *batchEnv) written(t *testing.T, path string) int {
	t.Helper()
	return e.metric(t, "oauthd_audit_deferred_records_total", path)
}

// recordConcurrently records n reads from 16 goroutines and returns when
// every Record has returned.
func recordConcurrently(t *testing.T, b *audit.Batcher, tenant uuid.UUID, action string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += 16 {
				uid := uuid.New()
				ctx := audit.WithActor(context.Background(), audit.Actor{UserID: &uid, Email: "platform@acme.test",
					RemoteAddr: "203.0.113.9", RequestID: fmt.Sprintf("req-%d", i), Client: "o2c_x"})
				if err := b.Record(ctx, tenant, action, "connection", fmt.Sprint(i), map[string]any{"n": i}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// The writer's pool turns synchronous commit off for its own sessions; the
// service's pool keeps whatever the server is configured with. The source
// column tells them apart even on a server whose default is already off
// (make test's throwaway PostgreSQL runs that way).
func TestWriterPoolCommitsAsynchronously(t *testing.T) {
	e := newBatchEnv(t)
	const q = "SELECT setting, source FROM pg_settings WHERE name = 'synchronous_commit'"
	var writer, writerSource, serviceSource, service string
	if err := e.writer.SQL().QueryRow(q).Scan(&writer, &writerSource); err != nil {
		t.Fatal(err)
	}
	if err := e.db.SQL().QueryRow(q).Scan(&service, &serviceSource); err != nil {
		t.Fatal(err)
	}
	if writer != "off" || writerSource != "client" {
		t.Fatalf("writer's synchronous_commit = %q from %q; want off, set by the client", writer, writerSource)
	}
	if serviceSource == "client" {
		t.Fatalf("service's synchronous_commit = %q set by the client; want the server's own setting", service)
	}
}

// Reads queued from many goroutines all reach the trail, whole, with the
// actor and the time of the read, in far fewer statements than reads.
func TestBatcherWritesEveryRead(t *testing.T) {
	e := newBatchEnv(t)
	b := e.batcher(t, audit.BatchOptions{MaxBatch: 50})
	before := time.Now().UTC()
	recordConcurrently(t, b, e.a, "connection.token_read", 1000)
	after := time.Now().UTC()
	b.Flush()
	if n := e.count(t, "connection.token_read"); n != 1000 {
		t.Fatalf("%d reads in the trail after Flush, want 1000", n)
	}
	var email, addr, req, client, details string
	var actor *uuid.UUID
	var at time.Time
	err := e.db.SQL().QueryRow(`SELECT actor_id, actor_email, remote_addr, request_id, actor_client, details::text, created_at
		FROM audit_events WHERE tenant_id = $1 AND resource_id = '7'`, e.a).Scan(&actor, &email, &addr, &req, &client, &details, &at)
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	_ = json.Unmarshal([]byte(details), &d)
	if actor == nil || email != "platform@acme.test" || addr != "203.0.113.9" || req != "req-7" || client != "o2c_x" || d["n"] != 7.0 {
		t.Fatalf("event 7: actor %v %q %q %q %q %s", actor, email, addr, req, client, details)
	}
	if at.Before(before.Truncate(time.Microsecond)) || at.After(after) {
		t.Fatalf("created_at %v is not the time of the read (%v to %v)", at, before, after)
	}
	if got := e.written(t, "batch"); got != 1000 {
		t.Fatalf("batch-written counter %d, want 1000", got)
	}
	if n := e.metric(t, "oauthd_audit_deferred_batches_total", ""); n < 20 || n > 500 {
		t.Fatalf("%d statements for 1000 reads, at most 50 to a statement", n)
	}
}

// A graceful stop writes every queued read: none was written before it
// (the batch was still gathering), all are after it.
func TestBatcherCloseLosesNone(t *testing.T) {
	e := newBatchEnv(t)
	b := e.batcher(t, audit.BatchOptions{Interval: time.Hour, MaxBatch: 5000})
	recordConcurrently(t, b, e.a, "connection.token_read", 2500)
	if n := e.count(t, "connection.token_read"); n != 0 {
		t.Fatalf("%d reads written while the batch was gathering; the test would prove nothing", n)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, "connection.token_read"); n != 2500 {
		t.Fatalf("%d reads in the trail after Close, want 2500", n)
	}
	// A read after Close is written by its caller.
	if err := b.Record(context.Background(), e.a, "connection.token_read", "connection", "late", nil); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, "connection.token_read"); n != 2501 {
		t.Fatalf("a read after Close: %d in the trail, want 2501", n)
	}
}

// A full queue slows callers down instead of dropping their reads: those
// that find it full write their own event before Record returns.
func TestBatcherFullQueueWritesDirectly(t *testing.T) {
	e := newBatchEnv(t)
	b := e.batcher(t, audit.BatchOptions{Interval: time.Hour, MaxBatch: 1000, Capacity: 10})
	recordConcurrently(t, b, e.a, "connection.token_read", 50)
	if n := e.count(t, "connection.token_read"); n != 40 {
		t.Fatalf("%d reads written by their callers, want 40 (50 reads, a queue of 10)", n)
	}
	if d := e.written(t, "direct"); d != 40 {
		t.Fatalf("direct counter %d, want 40", d)
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, "connection.token_read"); n != 50 {
		t.Fatalf("%d reads after Close, want 50", n)
	}
}

// A tenant deleted while its reads wait takes them with it; the others'
// reads in the same batch are written.
func TestBatcherSkipsDeletedTenants(t *testing.T) {
	e := newBatchEnv(t)
	b := e.batcher(t, audit.BatchOptions{Interval: time.Hour, MaxBatch: 1000})
	recordConcurrently(t, b, e.a, "connection.token_read", 20)
	recordConcurrently(t, b, e.b, "connection.token_read", 30)
	if err := e.db.Conn(context.Background()).Exec("DELETE FROM tenants WHERE id = ?", e.a).Error; err != nil {
		t.Fatal(err)
	}
	b.Flush()
	if n := e.count(t, "connection.token_read"); n != 30 {
		t.Fatalf("%d reads in the trail, want tenant b's 30", n)
	}
	if l := e.written(t, "lost"); l != 0 {
		t.Fatalf("%d counted lost", l)
	}
}

// When the database cannot be reached, queued reads wait and are tried
// again; if it is still gone when Close's deadline passes, each read is
// logged whole at ERROR (never dropped in silence) and Close says so.
func TestBatcherLogsWhatItCannotWrite(t *testing.T) {
	e := newBatchEnv(t)
	gone, err := database.Open("postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=1", database.Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gone.Close() })
	o := audit.BatchOptions{Interval: time.Millisecond, Registry: e.reg,
		Log: slog.New(slog.NewJSONHandler(lockedWriter{e.logMu, e.logs}, nil))}
	b := audit.NewBatcher(gone.SQL(), e.db.SQL(), o)
	recordConcurrently(t, b, e.a, "connection.token_read", 5)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := b.Close(ctx); err == nil {
		t.Fatal("Close reported success with nothing written")
	}
	e.logMu.Lock()
	logs := e.logs.String()
	e.logMu.Unlock()
	if !strings.Contains(logs, "trying again") {
		t.Errorf("no retry logged:\n%s", logs)
	}
	for i := 0; i < 5; i++ {
		if !strings.Contains(logs, fmt.Sprintf(`"request_id":"req-%d"`, i)) {
			t.Errorf("read %d is not in the log:\n%s", i, logs)
		}
	}
	if n := strings.Count(logs, `"msg":"audit event not written"`); n != 5 {
		t.Errorf("%d events logged as not written, want 5", n)
	}
	if l := e.written(t, "lost"); l != 5 {
		t.Errorf("lost counter %d, want 5", l)
	}
}
