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
	State       string
}

func (r claimedRow) job() *Job {
	j := &Job{ID: r.ID, Kind: r.Kind, Payload: json.RawMessage(r.Payload), Attempt: r.Attempt,
		MaxAttempts: r.MaxAttempts, CreatedAt: r.CreatedAt.UTC(), RunAt: r.RunAt.UTC()}
	if r.Lane != nil {
		j.Lane = *r.Lane
	}
	return j
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
	kinds, _ := q.kinds()
	return q.claimKinds(ctx, workerID, n, kinds)
}

// claimKinds claims up to n due jobs of the given kinds.
func (q *Queue) claimKinds(ctx context.Context, workerID string, n int, kinds []string) ([]*Job, error) {
	_, leases := q.kinds()
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
		out[i] = r.job()
	}
	return out, nil
}

// finish records a run's outcome: done, retry (pending again at the
// backoff's time) or failed. A job that finished its lane's turn (done or
// failed) hands the lane to its next job: claimed for this worker and
// returned when cont holds and it is due, else made pending (promoted).
// Nothing is written if the job's lease was taken over meanwhile.
func (q *Queue) finish(ctx context.Context, workerID string, j *Job, h *Handler, runErr error, cont bool) (outcome string, next *Job, promoted bool, err error) {
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
	var finishedAt *time.Time
	if state != "pending" {
		finishedAt = &now
	}
	err = q.db.InTx(ctx, func(ctx context.Context) error {
		next, promoted = nil, false
		if runErr == nil {
			for _, fn := range j.onSuccess {
				if err := fn(ctx); err != nil {
					return err
				}
			}
		}
		conn := q.db.Conn(ctx)
		if state == "pending" || j.Lane == "" {
			res := conn.Exec(`UPDATE jobs SET state = ?, run_at = ?, last_error = NULLIF(?, ''), finished_at = ?,
				locked_until = NULL WHERE id = ? AND state = 'running' AND locked_by = ? AND attempt = ?`,
				state, runAt, lastErr, finishedAt, j.ID, workerID, j.Attempt)
			if res.Error == nil && res.RowsAffected == 0 {
				return ErrLeaseLost
			}
			return res.Error
		}
		// The job and its lane's count change in one statement; the lane
		// row's lock waits for a transaction enqueuing into the lane, and
		// the next statement reads with a fresh snapshot that includes it.
		var left []int
		if err := conn.Raw(`
			WITH j AS (
				UPDATE jobs SET state = ?, last_error = NULLIF(?, ''), finished_at = ?, locked_until = NULL
				WHERE id = ? AND state = 'running' AND locked_by = ? AND attempt = ?
				RETURNING lane
			)
			UPDATE job_lanes AS l SET unfinished = l.unfinished - 1 FROM j WHERE l.lane = j.lane
			RETURNING l.unfinished`, state, lastErr, finishedAt, j.ID, workerID, j.Attempt).Scan(&left).Error; err != nil {
			return err
		}
		if len(left) == 0 {
			return ErrLeaseLost
		}
		if left[0] == 0 {
			return nil
		}
		var err error
		next, promoted, err = q.advanceLane(ctx, j.Lane, now, workerID, cont)
		return err
	})
	if errors.Is(err, ErrLeaseLost) {
		return "lease_lost", nil, false, nil
	}
	if err != nil {
		return "", nil, false, fmt.Errorf("finish job %d: %w", j.ID, err)
	}
	return outcome, next, promoted, nil
}

// advanceLane gives the lane's turn to its next waiting job: claimed for
// workerID when claim holds, the job is due and its kind is registered
// here (returned), else made pending.
func (q *Queue) advanceLane(ctx context.Context, lane string, now time.Time, workerID string, claim bool) (*Job, bool, error) {
	kinds, leases := q.kinds()
	var rows []claimedRow
	err := q.db.Conn(ctx).Raw(`
		UPDATE jobs AS j SET
			state = CASE WHEN @claim AND j.run_at <= @now AND j.kind IN @kinds THEN 'running' ELSE 'pending' END,
			attempt = CASE WHEN @claim AND j.run_at <= @now AND j.kind IN @kinds THEN j.attempt + 1 ELSE j.attempt END,
			locked_by = CASE WHEN @claim AND j.run_at <= @now AND j.kind IN @kinds THEN @worker END,
			locked_until = CASE WHEN @claim AND j.run_at <= @now AND j.kind IN @kinds
				THEN CAST(@now AS timestamptz) + make_interval(secs => (CAST(@leases AS jsonb) ->> j.kind)::float8) END,
			run_at = greatest(j.run_at, @now)
		WHERE j.id = (SELECT id FROM jobs WHERE lane = @lane AND state = 'waiting' ORDER BY lane_seq LIMIT 1)
		RETURNING j.id, j.kind, j.payload, j.attempt, j.max_attempts, j.lane, j.created_at, j.run_at, j.state`,
		map[string]any{"claim": claim, "now": now, "kinds": kinds, "worker": workerID, "leases": leases, "lane": lane}).
		Scan(&rows).Error
	if err != nil || len(rows) == 0 {
		return nil, false, err
	}
	if rows[0].State != "running" {
		return nil, true, nil
	}
	return rows[0].job(), false, nil
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
