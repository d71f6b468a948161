// Package jobs is oauthd's durable job queue: background work that must
// happen once across every instance (webhook deliveries, connection
// refreshes, purges, expiry warnings) is a row in Postgres, enqueued in the
// caller's transaction and claimed by the workers of whichever instance gets
// to it first (FOR UPDATE SKIP LOCKED).
//
// A job has a kind, whose registered Handler runs it with a retry policy and
// a timeout. A claimed job carries a lease: if its instance dies, the lease
// runs out and another instance runs it again, so a handler must tolerate
// running more than once (at-least-once). Jobs may share a lane: a lane's
// jobs run one at a time, in the order their enqueuing transactions
// committed (webhook deliveries to one endpoint keep event order). A job may
// carry a unique key so that it is not queued twice while one is pending.
// Periodic jobs run once per period across all instances. Time comes from an
// injected Clock, so tests move it instead of sleeping.
//
// Why not River: enqueuing must join the service's GORM transaction carried
// in the context (database.InTx), and lanes (per-key ordering) are not in
// River's open-source edition; docs/JOBS.md has the full reasoning.
package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Job is one claimed run of a job.
type Job struct {
	ID      int64
	Kind    string
	Payload json.RawMessage
	// Attempt counts runs including this one, from 1.
	Attempt     int
	MaxAttempts int
	// Lane is the job's lane, empty when it has none.
	Lane      string
	CreatedAt time.Time
	// RunAt is when this run was due.
	RunAt time.Time

	onSuccess []func(ctx context.Context) error
}

// OnSuccess adds work to the transaction that marks this run done, so it
// commits exactly when the job's success does (a delivery's log line). If
// fn fails, nothing of it or of the success is kept, and the job runs
// again after its lease.
func (j *Job) OnSuccess(fn func(ctx context.Context) error) { j.onSuccess = append(j.onSuccess, fn) }

// Decode unmarshals the job's payload into v.
func (j *Job) Decode(v any) error {
	if err := json.Unmarshal(j.Payload, v); err != nil {
		return Cancel(fmt.Errorf("job %d (%s): payload: %w", j.ID, j.Kind, err))
	}
	return nil
}

// Handler runs the jobs of one kind.
type Handler struct {
	// Kind names the jobs this handler runs (e.g. "webhooks.deliver"); it
	// labels the metrics and log lines.
	Kind string
	Run  func(ctx context.Context, j *Job) error
	// MaxAttempts bounds the runs of a job (default 25); after the last
	// failure the job is failed and stays in the table for inspection.
	MaxAttempts int
	// Backoff is the pause before run attempt+1 after attempt failed
	// (default ExponentialBackoff).
	Backoff func(attempt int) time.Duration
	// Timeout bounds one run (default one minute). The lease of a claimed
	// job is the timeout plus LeaseGrace, so a run never outlives it.
	Timeout time.Duration
	// Bulk marks a kind whose jobs tenants can make many of and whose runs
	// wait on the outside world (webhook deliveries): they take at most
	// half of an instance's workers, so a backlog of slow ones never keeps
	// the other kinds (refreshes, fan-outs, purges) from running.
	Bulk bool
}

// LeaseGrace is added to a handler's timeout to make the lease of its jobs:
// time for the worker to record the outcome after the run ends.
const LeaseGrace = 30 * time.Second

func (h *Handler) withDefaults() {
	if h.MaxAttempts <= 0 {
		h.MaxAttempts = 25
	}
	if h.Backoff == nil {
		h.Backoff = ExponentialBackoff
	}
	if h.Timeout <= 0 {
		h.Timeout = time.Minute
	}
}

func (h *Handler) lease() time.Duration { return h.Timeout + LeaseGrace }

// ExponentialBackoff waits 2^attempt seconds plus up to 25% more, capped at
// an hour: 2 s, 4 s, 8 s, … for attempts 1, 2, 3, …
func ExponentialBackoff(attempt int) time.Duration {
	d := time.Hour
	if attempt < 12 {
		d = time.Duration(1<<attempt) * time.Second
	}
	return d + jitter(d/4)
}

// Outcome errors a handler may return.

type cancelError struct{ err error }

func (e cancelError) Error() string { return e.err.Error() }
func (e cancelError) Unwrap() error { return e.err }

// Cancel marks err as final: the job fails now, without further attempts
// (a payload that can never succeed, a webhook that no longer exists).
func Cancel(err error) error { return cancelError{err} }

type retryAtError struct {
	at  time.Time
	err error
}

func (e retryAtError) Error() string { return e.err.Error() }
func (e retryAtError) Unwrap() error { return e.err }

// RetryAt asks for the next attempt at t instead of after the handler's
// backoff (a receiver's Retry-After); the attempt still counts.
func RetryAt(t time.Time, err error) error { return retryAtError{at: t, err: err} }

// ErrUnknownKind is returned by Enqueue for a kind no handler registered.
var ErrUnknownKind = errors.New("jobs: no handler registered for this kind")
