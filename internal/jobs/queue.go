package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oauthd/oauthd/internal/database"
)

// Channel is the NOTIFY channel an enqueue wakes the workers with (sent in
// the enqueuing transaction, so Postgres delivers it only on commit).
const Channel = "oauthd_jobs"

// Queue holds the registered handlers and schedules, enqueues jobs and runs
// the workers. Register every handler and schedule before Run.
type Queue struct {
	db      *database.DB
	clock   Clock
	log     *slog.Logger
	metrics *metrics

	mu        sync.RWMutex
	handlers  map[string]*Handler
	schedules []Schedule
	// schedulesEnsured is how many of schedules have their row (see
	// ensureSchedules).
	schedulesEnsured int
	leases           string // JSON object kind → lease seconds, for the claim query
	wake             chan struct{}
}

// Options configure a queue; zero values take the defaults.
type Options struct {
	Clock    Clock // default SystemClock
	Log      *slog.Logger
	Registry prometheus.Registerer // where the per-kind metrics go; nil: none
}

// New returns a queue on db.
func New(db *database.DB, o Options) *Queue {
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	q := &Queue{db: db, clock: o.Clock, log: o.Log, metrics: newMetrics(o.Registry),
		handlers: map[string]*Handler{}, wake: make(chan struct{}, 1)}
	q.Register(purgeHandler(q))
	q.Every(Schedule{Name: purgeKind, Kind: purgeKind, Every: time.Hour, First: time.Hour})
	return q
}

// Clock is the queue's clock.
func (q *Queue) Clock() Clock { return q.clock }

// Register adds the handler of a kind; registering a kind twice panics (a
// programming error, found at start).
func (q *Queue) Register(h Handler) {
	if h.Kind == "" || h.Run == nil {
		panic("jobs: a handler needs a kind and a Run function")
	}
	h.withDefaults()
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, dup := q.handlers[h.Kind]; dup {
		panic("jobs: kind registered twice: " + h.Kind)
	}
	q.handlers[h.Kind] = &h
	leases := map[string]float64{}
	for k, h := range q.handlers {
		leases[k] = h.lease().Seconds()
	}
	b, _ := json.Marshal(leases)
	q.leases = string(b)
}

func (q *Queue) handler(kind string) (*Handler, bool) {
	q.mu.RLock()
	defer q.mu.RUnlock()
	h, ok := q.handlers[kind]
	return h, ok
}

func (q *Queue) kinds() ([]string, string) {
	q.mu.RLock()
	defer q.mu.RUnlock()
	kinds := make([]string, 0, len(q.handlers))
	for k := range q.handlers {
		kinds = append(kinds, k)
	}
	return kinds, q.leases
}

// kindsBy are the registered kinds that are bulk (Handler.Bulk) or not.
func (q *Queue) kindsBy(bulk bool) []string {
	q.mu.RLock()
	defer q.mu.RUnlock()
	var kinds []string
	for k, h := range q.handlers {
		if h.Bulk == bulk {
			kinds = append(kinds, k)
		}
	}
	return kinds
}

// Spec describes a job to enqueue.
type Spec struct {
	Kind    string
	Payload any // marshalled to JSON; nil is {}
	// RunAt delays the job; zero means now.
	RunAt time.Time
	// UniqueKey, when set, skips the enqueue if a job of the same kind and
	// key is still pending.
	UniqueKey string
	// Lane, when set, runs the job after every earlier job of the lane has
	// finished. A job has a lane or a unique key, not both.
	Lane string
	// OnlyIf, when set, is an SQL condition (code, never input) checked in
	// the enqueuing statement itself, with OnlyIfArgs for its ? marks: the
	// job is enqueued only when it holds (an outbox that skips events
	// nobody subscribes to without a round trip of its own).
	OnlyIf     string
	OnlyIfArgs []any
}

// Enqueue adds a job in the transaction carried by ctx (or on its own when
// there is none), so the job exists exactly when the caller's change
// commits. It reports false when a pending job with the same unique key
// made this one unnecessary.
func (q *Queue) Enqueue(ctx context.Context, s Spec) (bool, error) {
	h, ok := q.handler(s.Kind)
	if !ok {
		return false, fmt.Errorf("enqueue %q: %w", s.Kind, ErrUnknownKind)
	}
	if s.UniqueKey != "" && s.Lane != "" {
		return false, fmt.Errorf("enqueue %q: a job takes a unique key or a lane, not both", s.Kind)
	}
	payload := []byte("{}")
	if s.Payload != nil {
		var err error
		if payload, err = json.Marshal(s.Payload); err != nil {
			return false, fmt.Errorf("enqueue %q: payload: %w", s.Kind, err)
		}
	}
	now := q.clock.Now()
	runAt := s.RunAt
	if runAt.IsZero() {
		runAt = now
	}
	cond := "true"
	if s.OnlyIf != "" {
		cond = s.OnlyIf
	}
	var ids []int64
	var err error
	conn := q.db.Conn(ctx)
	if s.Lane != "" {
		args := append([]any{s.Kind, string(payload), s.Lane, h.MaxAttempts, runAt, now}, s.OnlyIfArgs...)
		err = conn.Raw(fmt.Sprintf(enqueueInLaneSQL, cond), args...).Scan(&ids).Error
	} else {
		var unique *string
		if s.UniqueKey != "" {
			unique = &s.UniqueKey
		}
		args := append([]any{s.Kind, string(payload), unique, h.MaxAttempts, runAt, now}, s.OnlyIfArgs...)
		err = conn.Raw(fmt.Sprintf(enqueueSQL, cond), append(args, Channel)...).Scan(&ids).Error
	}
	if err != nil {
		return false, fmt.Errorf("enqueue %q: %w", s.Kind, err)
	}
	return len(ids) == 1, nil
}

// The NOTIFY rides on the INSERT (one round trip for both); %s is the
// OnlyIf condition.
const enqueueSQL = `
WITH j AS (
	INSERT INTO jobs (kind, payload, unique_key, max_attempts, run_at, created_at)
	SELECT ?, ?::jsonb, ?, ?, ?::timestamptz, ?::timestamptz WHERE %s
	ON CONFLICT (kind, unique_key) WHERE unique_key IS NOT NULL AND state IN ('pending', 'waiting') DO NOTHING
	RETURNING id, kind
)
SELECT j.id FROM j, LATERAL (SELECT pg_notify(?, j.kind)) AS n`

// oauthd_enqueue_in_lane (migration 00041) is the one definition of a
// lane enqueue: the lane row's upsert orders the lane by commit order.
const enqueueInLaneSQL = `
SELECT oauthd_enqueue_in_lane(?, ?::jsonb, ?, ?, ?::timestamptz, ?::timestamptz) WHERE %s`

// LaneJob is one job of an EnqueueInLanes batch.
type LaneJob struct {
	Lane    string
	Payload any
}

// EnqueueInLanes adds jobs of one kind, each in its own lane (distinct
// lanes), in one statement in the transaction carried by ctx: a fan-out to
// many lanes costs one round trip, not one per job.
func (q *Queue) EnqueueInLanes(ctx context.Context, kind string, batch []LaneJob) error {
	h, ok := q.handler(kind)
	if !ok {
		return fmt.Errorf("enqueue %q: %w", kind, ErrUnknownKind)
	}
	if len(batch) == 0 {
		return nil
	}
	type row struct {
		Lane    string          `json:"lane"`
		Payload json.RawMessage `json:"payload"`
		N       int             `json:"n"`
	}
	rows := make([]row, len(batch))
	seen := make(map[string]bool, len(batch))
	for i, b := range batch {
		if b.Lane == "" || seen[b.Lane] {
			return fmt.Errorf("enqueue %q: each job of a batch needs its own lane (%q)", kind, b.Lane)
		}
		seen[b.Lane] = true
		payload, err := json.Marshal(b.Payload)
		if err != nil {
			return fmt.Errorf("enqueue %q: payload: %w", kind, err)
		}
		rows[i] = row{Lane: b.Lane, Payload: payload, N: i}
	}
	input, err := json.Marshal(rows)
	if err != nil {
		return fmt.Errorf("enqueue %q: %w", kind, err)
	}
	now := q.clock.Now()
	var n []int64
	if err := q.db.Conn(ctx).Raw(enqueueInLanesSQL, kind, h.MaxAttempts, now, now, string(input)).Scan(&n).Error; err != nil {
		return fmt.Errorf("enqueue %q: %w", kind, err)
	}
	return nil
}

// The lanes are taken in the batch's order (ORDER BY n), so that two
// batches over the same lanes lock them in the same order.
const enqueueInLanesSQL = `
SELECT count(oauthd_enqueue_in_lane(?, t.payload, t.lane, ?, ?::timestamptz, ?::timestamptz))
FROM (SELECT * FROM jsonb_to_recordset(?::jsonb) AS r(lane text, payload jsonb, n int) ORDER BY n) AS t`

// Wake makes the workers look for due jobs now (the NOTIFY handler).
func (q *Queue) Wake() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Handlers is what changes.Listen needs to wake the workers on NOTIFY.
func (q *Queue) Handlers() map[string]func() { return map[string]func(){Channel: q.Wake} }

func jitter(max time.Duration) time.Duration {
	if max <= 0 {
		return 0
	}
	return rand.N(max)
}

// ErrLeaseLost is logged when a run ended after its lease had run out and
// another worker had claimed the job again: the other run's outcome counts.
var ErrLeaseLost = errors.New("jobs: lease lost")
