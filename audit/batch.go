package audit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/oauthd/oauthd/internal/database"
)

// Batcher records the events of reads that change nothing (a connection's
// access token handed out) off the request's path: the request queues its
// event in memory and goes on; one writer per instance writes what is
// queued a few milliseconds later, up to MaxBatch events in one INSERT,
// on a connection of its own that commits asynchronously
// (synchronous_commit = off). So a read costs the request no round trip
// and no commit, and the database one statement and one commit per batch.
//
// Nothing is dropped to keep up: the queue holds at most Capacity events
// (and the writer one batch more); when it is full, Record writes its
// event itself, with a synchronous commit, before it returns, which slows
// the callers down to the database's pace (backpressure). A batch that
// fails because the database is unreachable is kept and tried again.
// Close writes everything queued; what it cannot write before its
// deadline is logged, one ERROR line per event, never lost in silence.
//
// What this may lose, and when (docs/DESIGN.md says the same): a graceful
// stop loses nothing. oauthd killed outright (SIGKILL, a crash, the
// machine lost) loses the events still queued: about Interval's worth,
// at most Capacity+MaxBatch when the database was slow. PostgreSQL
// crashing (not a clean stop) may lose batches committed in its last
// 3 × wal_writer_delay (600 ms by default); a batch is all or nothing,
// and nothing else is affected. State changes never go this way: they
// are recorded in their own transactions (Log.Record).
type Batcher struct {
	writer *sql.DB // the writer's own pool: synchronous_commit = off
	direct *sql.DB // the service's pool, for events written at once
	opts   BatchOptions

	mu     sync.Mutex
	queue  []*Event
	closed bool

	// kick wakes the writer: the first event of a batch arrived, or the
	// batch is full.
	kick    chan struct{}
	closing chan struct{} // Close was called: write what is queued, then stop
	stopped chan struct{} // the writer has stopped
	// ctx ends when Close's deadline passes: the writer gives up and logs.
	ctx     context.Context
	abandon context.CancelFunc
	writing sync.Mutex // one flush at a time (the writer's or Flush's)

	records *prometheus.CounterVec
	batches prometheus.Counter
}

// BatchOptions tune a Batcher; zero values take the defaults.
type BatchOptions struct {
	// Interval is how long the first event of a batch waits for others
	// (default 5 ms); a batch that fills is written at once.
	Interval time.Duration
	// MaxBatch is the most events one INSERT writes (default 500).
	MaxBatch int
	// Capacity is the most events queued (default 10,000); beyond it
	// Record writes its event itself.
	Capacity int
	// Log receives retries and, at ERROR, any event that could not be
	// written (nil: slog.Default()).
	Log *slog.Logger
	// Registry receives oauthd_audit_deferred_* (nil: none).
	Registry prometheus.Registerer
}

// Batch metrics' path label: written in a batch, written by the caller
// because the queue was full (or closed), or not written (logged).
const (
	pathBatch  = "batch"
	pathDirect = "direct"
	pathLost   = "lost"
)

// NewBatcher starts the writer. writer is a pool kept for it, opened with
// synchronous_commit=off (database.Options.RuntimeParams); direct is the
// service's pool. Close stops it.
func NewBatcher(writer, direct *sql.DB, o BatchOptions) *Batcher {
	if o.Interval <= 0 {
		o.Interval = 5 * time.Millisecond
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 500
	}
	if o.Capacity <= 0 {
		o.Capacity = 10_000
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	b := &Batcher{writer: writer, direct: direct, opts: o, kick: make(chan struct{}, 1),
		closing: make(chan struct{}), stopped: make(chan struct{}),
		records: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oauthd_audit_deferred_records_total",
			Help: "Audit events of reads by how they were written: batch (by the batch writer), direct (by the request itself, the queue being full), lost (not written; logged at ERROR).",
		}, []string{"path"}),
		batches: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "oauthd_audit_deferred_batches_total", Help: "INSERTs the audit batch writer committed.",
		}),
	}
	b.ctx, b.abandon = context.WithCancel(context.Background())
	if o.Registry != nil {
		o.Registry.MustRegister(b.records, b.batches, prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "oauthd_audit_deferred_queued", Help: "Audit events of reads waiting for the batch writer.",
		}, func() float64 { return float64(b.queued()) }))
	}
	go b.run()
	return b
}

// Record queues an event by the actor of ctx, timed now, for the next
// batch; when the queue is full (or the Batcher closed) it writes the
// event itself and returns once it is committed. It is for reads only:
// it ignores any transaction ctx carries, so a change must be recorded
// with Log.Record in its own transaction instead.
func (b *Batcher) Record(ctx context.Context, tenantID uuid.UUID, action, resourceType, resourceID string, details map[string]any) error {
	e, err := newEvent(ctx, tenantID, action, resourceType, resourceID, details)
	if err != nil {
		return err
	}
	e.CreatedAt = time.Now().UTC()
	b.mu.Lock()
	if !b.closed && len(b.queue) < b.opts.Capacity {
		b.queue = append(b.queue, e)
		n := len(b.queue)
		b.mu.Unlock()
		if n == 1 || n >= b.opts.MaxBatch {
			select {
			case b.kick <- struct{}{}:
			default: // the writer has been woken already
			}
		}
		return nil
	}
	b.mu.Unlock()
	if err := insertEvents(ctx, b.direct, []*Event{e}); err != nil {
		return fmt.Errorf("record %s: %w", action, err)
	}
	b.records.WithLabelValues(pathDirect).Inc()
	return nil
}

// Flush writes every event queued so far and returns once they are
// committed (retrying while the database is unreachable).
func (b *Batcher) Flush() { b.flush() }

// Close stops taking events into the queue (later ones are written by
// their callers), writes what is queued and stops the writer. If ctx ends
// first, the events not yet written are logged at ERROR, one line each,
// and Close says how it ended.
func (b *Batcher) Close(ctx context.Context) error {
	b.mu.Lock()
	first := !b.closed
	b.closed = true
	b.mu.Unlock()
	if first {
		close(b.closing)
	}
	select {
	case <-b.stopped:
		return nil
	case <-ctx.Done():
		b.abandon()
		<-b.stopped
		return fmt.Errorf("audit events of reads left unwritten (logged): %w", ctx.Err())
	}
}

func (b *Batcher) queued() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// run is the writer: woken by a batch's first event, it gives the batch
// Interval to fill (less if it fills), then writes everything queued.
func (b *Batcher) run() {
	defer close(b.stopped)
	for {
		select {
		case <-b.kick:
		case <-b.closing:
			b.flush()
			return
		}
		b.gather()
		b.flush()
	}
}

// gather waits until the batch is due: Interval passed, the batch is
// full, or the Batcher is closing.
func (b *Batcher) gather() {
	t := time.NewTimer(b.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return
		case <-b.closing:
			return
		case <-b.kick:
			if b.queued() >= b.opts.MaxBatch {
				return
			}
		}
	}
}

// flush writes the queue, MaxBatch events to a statement, until it is empty.
func (b *Batcher) flush() {
	b.writing.Lock()
	defer b.writing.Unlock()
	for {
		batch := b.take()
		if len(batch) == 0 {
			return
		}
		b.write(batch)
	}
}

// take removes up to MaxBatch events from the front of the queue.
func (b *Batcher) take() []*Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := min(len(b.queue), b.opts.MaxBatch)
	batch := b.queue[:n:n]
	b.queue = append([]*Event(nil), b.queue[n:]...)
	return batch
}

// write commits one batch, trying again while the database is
// unreachable (the events stay in memory meanwhile) until the Batcher is
// abandoned. A batch the database refuses for another reason is written
// one event at a time, so one bad event cannot hold the others back.
func (b *Batcher) write(batch []*Event) {
	pause := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
		err := insertEvents(ctx, b.writer, batch)
		cancel()
		switch {
		case err == nil:
			b.batches.Inc()
			b.records.WithLabelValues(pathBatch).Add(float64(len(batch)))
			return
		case b.ctx.Err() != nil:
			b.lose(batch, err)
			return
		case !retryable(err):
			b.writeEach(batch)
			return
		}
		b.opts.Log.Warn("audit batch not written yet; trying again", "events", len(batch), "attempt", attempt, "error", err)
		select {
		case <-time.After(pause):
		case <-b.ctx.Done():
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// retryable: the database was unreachable or slow, or a tenant was
// deleted under the batch (the next attempt leaves its events out).
func retryable(err error) bool {
	return database.IsUnavailable(err) || database.IsForeignKeyViolation(err) || errors.Is(err, context.DeadlineExceeded)
}

func (b *Batcher) writeEach(batch []*Event) {
	for _, e := range batch {
		ctx, cancel := context.WithTimeout(b.ctx, 30*time.Second)
		err := insertEvents(ctx, b.writer, []*Event{e})
		cancel()
		if err != nil {
			b.lose([]*Event{e}, err)
			continue
		}
		b.batches.Inc()
		b.records.WithLabelValues(pathBatch).Inc()
	}
}

// lose logs events that could not be written, whole, so an operator can
// still account for every read.
func (b *Batcher) lose(batch []*Event, cause error) {
	for _, e := range batch {
		actor := ""
		if e.ActorID != nil {
			actor = e.ActorID.String()
		}
		b.opts.Log.Error("audit event not written", "error", cause.Error(), "tenant_id", e.TenantID.String(), "id", e.ID.String(),
			"action", e.Action, "resource_type", e.ResourceType, "resource_id", e.ResourceID, "actor_id", actor,
			"actor_email", e.ActorEmail, "actor_client", e.ActorClient, "remote_addr", e.RemoteAddr, "request_id", e.RequestID,
			"details", string(e.Details), "created_at", e.CreatedAt.Format(time.RFC3339Nano))
	}
	b.records.WithLabelValues(pathLost).Add(float64(len(batch)))
}

// insertEventsSQL writes any number of events in one statement of fixed
// text (one array per column), so the plan is prepared once. Events of a
// tenant deleted since they were queued are left out (its trail went with
// it); ON CONFLICT makes a batch whose commit was lost in transit safe to
// write again.
const insertEventsSQL = `INSERT INTO audit_events (tenant_id, id, action, resource_type, resource_id, actor_id, actor_email,
	actor_client, remote_addr, request_id, details, created_at)
SELECT r.tenant_id::uuid, r.id::uuid, r.action, r.resource_type, r.resource_id, r.actor_id::uuid, r.actor_email,
	r.actor_client, r.remote_addr, r.request_id, r.details::jsonb, r.created_at
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
	$10::text[], $11::text[], $12::timestamptz[])
	AS r (tenant_id, id, action, resource_type, resource_id, actor_id, actor_email, actor_client, remote_addr, request_id,
	details, created_at)
WHERE EXISTS (SELECT 1 FROM tenants t WHERE t.id = r.tenant_id::uuid)
ON CONFLICT (tenant_id, id) DO NOTHING`

func insertEvents(ctx context.Context, db *sql.DB, events []*Event) error {
	n := len(events)
	tenants, ids, actions, types, resources := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	actors, emails, clients, addrs, requests := make([]*string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	details, times := make([]string, n), make([]time.Time, n)
	for i, e := range events {
		tenants[i], ids[i], actions[i], types[i], resources[i] = e.TenantID.String(), e.ID.String(), e.Action, e.ResourceType, e.ResourceID
		if e.ActorID != nil {
			s := e.ActorID.String()
			actors[i] = &s
		}
		emails[i], clients[i], addrs[i], requests[i] = e.ActorEmail, e.ActorClient, e.RemoteAddr, e.RequestID
		details[i], times[i] = string(e.Details), e.CreatedAt
	}
	_, err := db.ExecContext(ctx, insertEventsSQL, tenants, ids, actions, types, resources, actors, emails, clients, addrs,
		requests, details, times)
	return err
}
