package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

type claimedRow struct {
	ID          int64
	Kind        string
	Payload     []byte
	Attempt     int
	MaxAttempts int
	Lane        *string
	CreatedAt   time.Time
	RunAt       time.Time
}

// A due job is pending with run_at passed, or running with its lease run
// out (its worker died). Claiming leases it for its kind's timeout plus
// LeaseGrace and counts the attempt.
const claimSQL = `
WITH due AS (
	SELECT id FROM jobs
	WHERE kind IN ? AND ((state = 'pending' AND run_at <= ?) OR (state = 'running' AND locked_until <= ?))
	ORDER BY run_at, id
	LIMIT ?
	FOR UPDATE SKIP LOCKED
)
UPDATE jobs AS j SET state = 'running', attempt = j.attempt + 1, locked_by = ?,
	locked_until = ?::timestamptz + make_interval(secs => (?::jsonb ->> j.kind)::float8)
FROM due WHERE j.id = due.id
RETURNING j.id, j.kind, j.payload, j.attempt, j.max_attempts, j.lane, j.created_at, j.run_at`

func (q *Queue) claim(ctx context.Context, workerID string, n int) ([]*Job, error) {
	kinds, leases := q.kinds()
	if len(kinds) == 0 || n <= 0 {
		return nil, nil
	}
	now := q.clock.Now()
	var rows []claimedRow
	if err := q.db.Conn(ctx).Raw(claimSQL, kinds, now, now, n, workerID, now, leases).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("claim jobs: %w", err)
	}
	out := make([]*Job, len(rows))
	for i, r := range rows {
		j := &Job{ID: r.ID, Kind: r.Kind, Payload: json.RawMessage(r.Payload), Attempt: r.Attempt,
			MaxAttempts: r.MaxAttempts, CreatedAt: r.CreatedAt.UTC(), RunAt: r.RunAt.UTC()}
		if r.Lane != nil {
			j.Lane = *r.Lane
		}
		out[i] = j
	}
	return out, nil
}

// finish records a run's outcome: done, retry (pending again at the
// backoff's time) or failed. A finished lane job hands the lane to its next
// job. Nothing is written if the job's lease was taken over meanwhile.
func (q *Queue) finish(ctx context.Context, workerID string, j *Job, h *Handler, runErr error) (outcome string, promoted bool, err error) {
	now := q.clock.Now()
	state, runAt, lastErr := "done", now, ""
	outcome = "done"
	if runErr != nil {
		lastErr = truncate(runErr.Error(), 2000)
		var cancel cancelError
		var retryAt retryAtError
		switch {
		case errors.As(runErr, &cancel), j.Attempt >= j.MaxAttempts:
			state, outcome = "failed", "failed"
		case errors.As(runErr, &retryAt):
			state, outcome, runAt = "pending", "retry", retryAt.at
		default:
			state, outcome, runAt = "pending", "retry", now.Add(h.Backoff(j.Attempt))
		}
	}
	err = q.db.InTx(ctx, func(ctx context.Context) error {
		conn := q.db.Conn(ctx)
		var finishedAt *time.Time
		if state != "pending" {
			finishedAt = &now
		}
		res := conn.Exec(`UPDATE jobs SET state = ?, run_at = ?, last_error = NULLIF(?, ''), finished_at = ?,
			locked_until = NULL WHERE id = ? AND state = 'running' AND locked_by = ? AND attempt = ?`,
			state, runAt, lastErr, finishedAt, j.ID, workerID, j.Attempt)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrLeaseLost
		}
		if state == "pending" || j.Lane == "" {
			return nil
		}
		promoted, err = q.advanceLane(ctx, j.Lane, now)
		return err
	})
	if errors.Is(err, ErrLeaseLost) {
		return "lease_lost", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("finish job %d: %w", j.ID, err)
	}
	return outcome, promoted, nil
}

// advanceLane counts a finished job out of its lane and makes the lane's
// next job pending. Two statements on purpose: the first locks the lane
// row, waiting for a transaction that is enqueuing into the lane, and the
// second then reads with a fresh snapshot that includes that job.
func (q *Queue) advanceLane(ctx context.Context, lane string, now time.Time) (bool, error) {
	conn := q.db.Conn(ctx)
	var left []int
	if err := conn.Raw(`UPDATE job_lanes SET unfinished = unfinished - 1 WHERE lane = ? RETURNING unfinished`, lane).
		Scan(&left).Error; err != nil {
		return false, err
	}
	if len(left) == 0 || left[0] == 0 {
		return false, nil
	}
	res := conn.Exec(`UPDATE jobs SET state = 'pending', run_at = greatest(run_at, ?)
		WHERE id = (SELECT id FROM jobs WHERE lane = ? AND state = 'waiting' ORDER BY lane_seq LIMIT 1)`, now, lane)
	return res.RowsAffected == 1, res.Error
}

// release puts a job interrupted at shutdown back, due now, without
// counting the attempt.
func (q *Queue) release(workerID string, j *Job) {
	err := q.db.Conn(context.Background()).Exec(`UPDATE jobs SET state = 'pending', run_at = ?, attempt = attempt - 1,
		locked_until = NULL WHERE id = ? AND state = 'running' AND locked_by = ? AND attempt = ?`,
		q.clock.Now(), j.ID, workerID, j.Attempt).Error
	if err != nil {
		q.log.Warn("jobs: could not release an interrupted job; its lease will run out", "job", j.ID, "err", err)
	}
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
