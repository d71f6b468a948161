package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Schedule is a periodic job: every Every, one job of Kind is enqueued
// across all instances (a row per schedule in job_schedules, claimed with
// SKIP LOCKED by whichever instance finds it due).
type Schedule struct {
	Name    string
	Kind    string
	Payload any
	Every   time.Duration
	// First delays the first run after the schedule's row is created
	// (default 0: due at once on a new database).
	First time.Duration
}

// Every registers a periodic job. Its first run is due at once on a new
// database; a schedule's row keeps its next time across restarts.
func (q *Queue) Every(s Schedule) {
	if s.Name == "" || s.Kind == "" || s.Every <= 0 {
		panic("jobs: a schedule needs a name, a kind and a period")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.schedules = append(q.schedules, s)
}

// enqueueDueSchedules enqueues the runs of due schedules. Each due row is
// claimed with SKIP LOCKED and moved on in the same transaction as the
// enqueue, so one instance enqueues each run. The job's unique key is the
// schedule's name, so a run still pending (a slow or failing job) is not
// queued again.
func (q *Queue) enqueueDueSchedules(ctx context.Context, workerID string) {
	q.mu.RLock()
	schedules := append([]Schedule(nil), q.schedules...)
	ensured := q.schedulesEnsured
	q.mu.RUnlock()
	if len(schedules) == 0 {
		return
	}
	now := q.clock.Now()
	names := make([]string, len(schedules))
	for i, s := range schedules {
		names[i] = s.Name
	}
	if err := q.ensureSchedules(ctx, schedules, ensured, now); err != nil {
		if ctx.Err() == nil {
			q.log.Warn("jobs: creating schedules failed", "worker", workerID, "err", err)
		}
		return
	}
	// The common answer is "nothing due": one plain query, no transaction.
	var anyDue bool
	if err := q.db.Conn(ctx).Raw(`SELECT EXISTS (SELECT 1 FROM job_schedules WHERE name IN ? AND next_run_at <= ?)`,
		names, now).Scan(&anyDue).Error; err != nil || !anyDue {
		if err != nil && ctx.Err() == nil {
			q.log.Warn("jobs: reading schedules failed", "worker", workerID, "err", err)
		}
		return
	}
	err := q.db.InTx(ctx, func(ctx context.Context) error {
		conn := q.db.Conn(ctx)
		var due []string
		if err := conn.Raw(`SELECT name FROM job_schedules WHERE name IN ? AND next_run_at <= ? FOR UPDATE SKIP LOCKED`,
			names, now).Scan(&due).Error; err != nil {
			return err
		}
		for _, name := range due {
			s := scheduleNamed(schedules, name)
			if _, err := q.Enqueue(ctx, Spec{Kind: s.Kind, Payload: s.Payload, UniqueKey: "schedule:" + s.Name}); err != nil {
				return err
			}
			if err := conn.Exec(`UPDATE job_schedules SET next_run_at = ? WHERE name = ?`, now.Add(s.Every), name).Error; err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		q.log.Warn("jobs: enqueuing periodic jobs failed", "worker", workerID, "err", fmt.Errorf("schedules: %w", err))
	}
}

// ensureSchedules creates the rows of schedules new to the database (due
// after their First; existing rows keep their time), once per queue: one
// statement for all of them.
func (q *Queue) ensureSchedules(ctx context.Context, schedules []Schedule, ensured int, now time.Time) error {
	if ensured == len(schedules) {
		return nil
	}
	type row struct {
		Name string    `json:"name"`
		At   time.Time `json:"at"`
	}
	rows := make([]row, len(schedules))
	for i, s := range schedules {
		// Postgres keeps microseconds: rounding a nanosecond up would put
		// a schedule due "now" a moment after now.
		rows[i] = row{Name: s.Name, At: now.Add(s.First).Truncate(time.Microsecond)}
	}
	input, err := json.Marshal(rows)
	if err != nil {
		return err
	}
	if err := q.db.Conn(ctx).Exec(`INSERT INTO job_schedules (name, next_run_at)
		SELECT name, at FROM jsonb_to_recordset(?::jsonb) AS r(name text, at timestamptz)
		ON CONFLICT (name) DO NOTHING`, string(input)).Error; err != nil {
		return err
	}
	q.mu.Lock()
	q.schedulesEnsured = len(schedules)
	q.mu.Unlock()
	return nil
}

func scheduleNamed(all []Schedule, name string) Schedule {
	for _, s := range all {
		if s.Name == name {
			return s
		}
	}
	return Schedule{}
}

// purgeKind is the queue's own periodic job: finished jobs are kept a week
// for inspection, then deleted.
const purgeKind = "jobs.purge"

// FinishedRetention is how long done and failed jobs stay in the table.
const FinishedRetention = 7 * 24 * time.Hour

func purgeHandler(q *Queue) Handler {
	return Handler{Kind: purgeKind, MaxAttempts: 3, Timeout: 5 * time.Minute, Run: func(ctx context.Context, _ *Job) error {
		cutoff := q.clock.Now().Add(-FinishedRetention)
		return q.db.Conn(ctx).Exec(`DELETE FROM jobs WHERE state IN ('done', 'failed') AND finished_at < ?`, cutoff).Error
	}}
}
