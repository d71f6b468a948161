package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"
)

// RunOptions tune an instance's workers; zero values take the defaults.
type RunOptions struct {
	// Concurrency is how many jobs this instance runs at once (default 10).
	Concurrency int
	// PollInterval is how often the workers look for due jobs without a
	// NOTIFY (retries and delayed jobs fall due without one; default 1 s).
	PollInterval time.Duration
	// StopGrace is how long Run waits, once ctx ends, for running jobs to
	// finish before cancelling them (default 10 s). A cancelled job is put
	// back, due at once, for another instance.
	StopGrace time.Duration
}

func (o *RunOptions) withDefaults() {
	if o.Concurrency <= 0 {
		o.Concurrency = 10
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.StopGrace <= 0 {
		o.StopGrace = 10 * time.Second
	}
}

// workerID names this process in locked_by (for operators reading the
// table, and so a run whose lease was taken over cannot record an outcome).
func workerID() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Run claims and runs due jobs until ctx ends, then stops claiming and
// waits up to StopGrace for running jobs (see RunOptions). Every instance
// runs it; SKIP LOCKED shares the work out.
func (q *Queue) Run(ctx context.Context, o RunOptions) {
	o.withDefaults()
	w := &worker{q: q, id: workerID(), opts: o}
	w.loop(ctx)
}

type worker struct {
	q    *Queue
	id   string
	opts RunOptions
}

func (w *worker) loop(ctx context.Context) {
	// Runs get their own context so that stopping lets them finish first.
	runCtx, cancelRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRuns()
	finished := make(chan finish, w.opts.Concurrency)
	running := 0
	// Bulk kinds (Handler.Bulk) take at most half the workers.
	bulkCap, bulkRunning := max(1, w.opts.Concurrency/2), 0
	poll := time.NewTicker(w.opts.PollInterval)
	defer poll.Stop()
	more := true      // whether a claim may find something now
	schedules := true // whether to look at the periodic jobs (each poll)
	for {
		if schedules {
			schedules = false
			w.q.enqueueDueSchedules(ctx, w.id)
		}
		if more && running < w.opts.Concurrency {
			n := w.opts.Concurrency - running
			claimed, err := w.q.claimKinds(ctx, w.id, n, w.q.kindsBy(false))
			if err != nil && ctx.Err() == nil {
				w.q.log.Warn("jobs: claim failed", "err", err)
			}
			full := len(claimed) == n
			bulk := []*Job(nil)
			if m := min(n-len(claimed), bulkCap-bulkRunning); m > 0 {
				bulk, err = w.q.claimKinds(ctx, w.id, m, w.q.kindsBy(true))
				if err != nil && ctx.Err() == nil {
					w.q.log.Warn("jobs: claim failed", "err", err)
				}
				full = full || len(bulk) == m
			}
			for _, j := range claimed {
				running++
				go func() { finished <- finish{promoted: w.runLane(runCtx, ctx, j)} }()
			}
			for _, j := range bulk {
				running++
				bulkRunning++
				go func() { finished <- finish{promoted: w.runLane(runCtx, ctx, j), bulk: true} }()
			}
			// A full batch suggests more is due: claim again as slots free.
			more = full
			if more && running < w.opts.Concurrency {
				continue
			}
		}
		select {
		case <-ctx.Done():
			w.drain(running, finished, cancelRuns)
			return
		case <-w.q.wake:
			more = true
		case <-poll.C:
			more, schedules = true, true
		case f := <-finished:
			running--
			if f.bulk {
				bulkRunning--
				more = true // a bulk slot is free again
			}
			more = more || f.promoted
		}
	}
}

// finish is a run's end as the loop hears it: promoted when a lane's next
// job became due for any worker; bulk when the run held a bulk slot.
type finish struct{ promoted, bulk bool }

// runLane runs j and then, while the worker is not stopping, the next job
// of j's lane that finishing it handed over (claimed in the same
// transaction): a lane's jobs run back to back on one goroutine without a
// claim or a wake-up between them. It reports whether a lane's next job
// was left pending for any worker.
func (w *worker) runLane(runCtx, loopCtx context.Context, j *Job) bool {
	for {
		next, promoted := w.q.execute(runCtx, w.id, j, loopCtx.Err() == nil)
		if next == nil {
			return promoted
		}
		j = next
	}
}

// drain waits for the running jobs, cancelling them after StopGrace.
func (w *worker) drain(running int, finished chan finish, cancelRuns context.CancelFunc) {
	grace := time.NewTimer(w.opts.StopGrace)
	defer grace.Stop()
	for running > 0 {
		select {
		case <-finished:
			running--
		case <-grace.C:
			w.q.log.Warn("jobs: cancelling runs still going at shutdown", "running", running)
			cancelRuns()
		}
	}
}

// RunDue claims and runs, one after another, every job due now (by the
// queue's clock) including those that become due as lanes advance, after
// enqueuing due periodic jobs. It returns how many runs it made. Tests
// drive the queue with it; Run is the same work on a loop.
func (q *Queue) RunDue(ctx context.Context) (int, error) {
	id := workerID()
	runs := 0
	for {
		q.enqueueDueSchedules(ctx, id)
		claimed, err := q.claim(ctx, id, 1)
		if err != nil {
			return runs, err
		}
		if len(claimed) == 0 {
			return runs, nil
		}
		for j := claimed[0]; j != nil; runs++ {
			j, _ = q.execute(ctx, id, j, true)
		}
	}
}

// execute runs one claimed job and records its outcome. When the job
// finished its lane's turn, the lane's next job is claimed for this worker
// and returned if cont holds and it is due now; else promoted says whether
// it was made pending for any worker.
func (q *Queue) execute(ctx context.Context, workerID string, j *Job, cont bool) (next *Job, promoted bool) {
	h, ok := q.handler(j.Kind)
	if !ok { // claims only take registered kinds
		return nil, false
	}
	if j.Attempt > j.MaxAttempts {
		// Its earlier runs died with their workers (the lease ran out each time).
		return q.recordOutcome(ctx, workerID, j, h, Cancel(errors.New("lease ran out on every attempt")), 0, cont)
	}
	runCtx, cancel := context.WithTimeout(ctx, h.Timeout)
	start := time.Now()
	err := safeRun(runCtx, h, j)
	elapsed := time.Since(start)
	if err != nil && errors.Is(err, context.DeadlineExceeded) && runCtx.Err() != nil && ctx.Err() == nil {
		err = fmt.Errorf("timed out after %s: %w", h.Timeout, err)
	}
	cancel()
	if err != nil && ctx.Err() != nil {
		// Cancelled at shutdown: put it back for another instance.
		q.release(workerID, j)
		q.metrics.observe(j.Kind, "interrupted", elapsed)
		return nil, false
	}
	return q.recordOutcome(ctx, workerID, j, h, err, elapsed, cont)
}

// safeRun turns a handler's panic into an error, so one bad job cannot
// take the instance down.
func safeRun(ctx context.Context, h *Handler, j *Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return h.Run(ctx, j)
}

func (q *Queue) recordOutcome(ctx context.Context, workerID string, j *Job, h *Handler, runErr error, elapsed time.Duration, cont bool) (*Job, bool) {
	outcome, next, promoted, err := q.finish(context.WithoutCancel(ctx), workerID, j, h, runErr, cont && ctx.Err() == nil)
	if err != nil {
		q.log.Error("jobs: recording outcome failed; the lease will run out and the job run again",
			"kind", j.Kind, "job", j.ID, "err", err)
		return nil, false
	}
	q.metrics.observe(j.Kind, outcome, elapsed)
	if runErr != nil {
		q.log.Warn("jobs: run failed", "kind", j.Kind, "job", j.ID, "attempt", j.Attempt, "outcome", outcome, "err", runErr)
	}
	return next, promoted
}
