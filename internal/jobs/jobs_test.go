package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/internal/changes"
	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/jobs"
	"github.com/oauthd/oauthd/internal/testdb"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type env struct {
	url   string
	db    *database.DB
	clock *jobs.ManualClock
}

func newEnv(t *testing.T) *env {
	t.Helper()
	url := testdb.New(t)
	db, err := database.Open(url, database.Options{MaxOpenConns: 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return &env{url: url, db: db, clock: jobs.NewManualClock(t0)}
}

// queue is one instance's queue on the shared database and clock.
func (e *env) queue(handlers ...jobs.Handler) (*jobs.Queue, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	q := jobs.New(e.db, jobs.Options{Clock: e.clock, Registry: reg})
	for _, h := range handlers {
		q.Register(h)
	}
	return q, reg
}

func (e *env) count(t *testing.T, where string, args ...any) int {
	t.Helper()
	var n int64
	if err := e.db.Conn(context.Background()).Raw("SELECT count(*) FROM jobs WHERE kind <> 'jobs.purge' AND "+where, args...).
		Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return int(n)
}

type payload struct{ N int }

func enqueue(t *testing.T, q *jobs.Queue, s jobs.Spec) bool {
	t.Helper()
	ok, err := q.Enqueue(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// waitFor polls cond until it holds; the bound only keeps a broken test
// from hanging (it asserts nothing about speed).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	apitest.Eventually(t, 60*time.Second, func() error {
		if !cond() {
			return errors.New("waiting for " + what)
		}
		return nil
	})
}

func runDue(t *testing.T, q *jobs.Queue) int {
	t.Helper()
	n, err := q.RunDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTwoWorkersRacingRunEachJobOnce(t *testing.T) {
	e := newEnv(t)
	const total = 300
	var mu sync.Mutex
	runs := map[int]int{}
	h := jobs.Handler{Kind: "count", Run: func(_ context.Context, j *jobs.Job) error {
		var p payload
		if err := j.Decode(&p); err != nil {
			return err
		}
		mu.Lock()
		runs[p.N]++
		mu.Unlock()
		return nil
	}}
	a, _ := e.queue(h)
	b, _ := e.queue(h)
	for i := range total {
		enqueue(t, a, jobs.Spec{Kind: "count", Payload: payload{i}})
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, q := range []*jobs.Queue{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q.Run(ctx, jobs.RunOptions{Concurrency: 4, PollInterval: 5 * time.Millisecond})
		}()
	}
	waitFor(t, "every job done", func() bool { return e.count(t, "state = 'done'") == total })
	cancel()
	wg.Wait()
	if len(runs) != total {
		t.Fatalf("%d distinct jobs ran, want %d", len(runs), total)
	}
	for n, c := range runs {
		if c != 1 {
			t.Errorf("job %d ran %d times", n, c)
		}
	}
}

func TestJobOfADeadWorkerRunsAgainAfterItsLease(t *testing.T) {
	e := newEnv(t)
	var runs atomic.Int32
	block := make(chan struct{})
	h := jobs.Handler{Kind: "work", Timeout: time.Minute, Run: func(ctx context.Context, j *jobs.Job) error {
		if runs.Add(1) == 1 {
			<-block // the first worker "dies" mid-run: it never records an outcome
			return nil
		}
		return nil
	}}
	dying, _ := e.queue(h)
	survivor, _ := e.queue(h)
	enqueue(t, dying, jobs.Spec{Kind: "work"})
	lateRunEnded := make(chan struct{})
	go func() { _, _ = dying.RunDue(context.Background()); close(lateRunEnded) }()
	waitFor(t, "the first run to start", func() bool { return runs.Load() == 1 })

	if n := runDue(t, survivor); n != 0 {
		t.Fatalf("a leased job ran again before its lease ran out (%d runs)", n)
	}
	e.clock.Advance(time.Minute + jobs.LeaseGrace - time.Second)
	if n := runDue(t, survivor); n != 0 {
		t.Fatalf("ran %d jobs a second before the lease ran out", n)
	}
	e.clock.Advance(time.Second)
	if n := runDue(t, survivor); n != 1 {
		t.Fatalf("after the lease: %d runs, want 1", n)
	}
	if got := e.count(t, "state = 'done' AND attempt = 2"); got != 1 {
		t.Fatalf("the job is not done on its second attempt")
	}
	// The dead worker's late outcome must not overwrite the survivor's.
	close(block)
	<-lateRunEnded
	if got := e.count(t, "state = 'done' AND attempt = 2"); got != 1 {
		t.Fatalf("the late outcome changed the job")
	}
}

func TestRetriesFollowTheBackoffThenSucceed(t *testing.T) {
	e := newEnv(t)
	var attempts []int
	h := jobs.Handler{Kind: "flaky", MaxAttempts: 5,
		Backoff: func(attempt int) time.Duration { return time.Duration(attempt) * time.Minute },
		Run: func(_ context.Context, j *jobs.Job) error {
			attempts = append(attempts, j.Attempt)
			if j.Attempt < 3 {
				return errors.New("receiver down")
			}
			return nil
		}}
	q, reg := e.queue(h)
	enqueue(t, q, jobs.Spec{Kind: "flaky"})
	if runDue(t, q) != 1 {
		t.Fatal("first attempt did not run")
	}
	// Backoff after attempt 1 is 1 minute: not due before, due at it.
	e.clock.Advance(59 * time.Second)
	if runDue(t, q) != 0 {
		t.Fatal("retried before its backoff")
	}
	e.clock.Advance(time.Second)
	if runDue(t, q) != 1 {
		t.Fatal("not retried after its backoff")
	}
	e.clock.Advance(2*time.Minute - time.Second)
	if runDue(t, q) != 0 {
		t.Fatal("second retry came before its (longer) backoff")
	}
	e.clock.Advance(time.Second)
	if runDue(t, q) != 1 {
		t.Fatal("second retry did not run")
	}
	if fmt.Sprint(attempts) != "[1 2 3]" {
		t.Fatalf("attempts %v", attempts)
	}
	if e.count(t, "state = 'done' AND attempt = 3 AND last_error IS NULL") != 1 {
		t.Fatal("job not done after the third attempt")
	}
	if got := runsMetric(t, reg, "flaky", "retry"); got != 2 {
		t.Fatalf("retry metric %v, want 2", got)
	}
	if got := runsMetric(t, reg, "flaky", "done"); got != 1 {
		t.Fatalf("done metric %v, want 1", got)
	}
}

// runsMetric reads oauthd_jobs_runs_total for a kind and outcome.
func runsMetric(t *testing.T, reg *prometheus.Registry, kind, outcome string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "oauthd_jobs_runs_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["kind"] == kind && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestFinalErrorsAttemptLimitsRetryAtAndTimeouts(t *testing.T) {
	e := newEnv(t)
	retryAt := t0.Add(42 * time.Minute)
	q, _ := e.queue(
		jobs.Handler{Kind: "cancel", Run: func(context.Context, *jobs.Job) error { return jobs.Cancel(errors.New("webhook gone")) }},
		jobs.Handler{Kind: "always-fails", MaxAttempts: 2, Backoff: func(int) time.Duration { return time.Second },
			Run: func(context.Context, *jobs.Job) error { return errors.New("nope") }},
		jobs.Handler{Kind: "retry-at", Run: func(context.Context, *jobs.Job) error {
			return jobs.RetryAt(retryAt, errors.New("429 with Retry-After"))
		}},
		jobs.Handler{Kind: "slow", Timeout: 20 * time.Millisecond, Run: func(ctx context.Context, _ *jobs.Job) error {
			<-ctx.Done()
			return ctx.Err()
		}},
		jobs.Handler{Kind: "panics", Run: func(context.Context, *jobs.Job) error { panic("boom") }},
	)
	for _, k := range []string{"cancel", "always-fails", "retry-at", "slow", "panics"} {
		enqueue(t, q, jobs.Spec{Kind: k})
	}
	runDue(t, q)
	if e.count(t, "kind = 'cancel' AND state = 'failed' AND attempt = 1 AND last_error = 'webhook gone'") != 1 {
		t.Error("a Cancel error did not fail the job at once")
	}
	if e.count(t, "kind = 'retry-at' AND state = 'pending' AND run_at = ?", retryAt) != 1 {
		t.Error("RetryAt's time was not kept")
	}
	if e.count(t, "kind = 'slow' AND state = 'pending' AND last_error LIKE 'timed out after 20ms%'") != 1 {
		t.Error("a run past its timeout was not cut and retried")
	}
	if e.count(t, "kind = 'panics' AND state = 'pending' AND last_error = 'panic: boom'") != 1 {
		t.Error("a panicking handler was not turned into a retry")
	}
	e.clock.Advance(time.Second)
	runDue(t, q)
	if e.count(t, "kind = 'always-fails' AND state = 'failed' AND attempt = 2 AND finished_at IS NOT NULL") != 1 {
		t.Error("a job was not failed after MaxAttempts")
	}
}

func TestRolledBackEnqueueLeavesNothing(t *testing.T) {
	e := newEnv(t)
	q, _ := e.queue(jobs.Handler{Kind: "outbox", Run: func(context.Context, *jobs.Job) error { return nil }})
	ctx := context.Background()
	errRollback := errors.New("the change failed")
	err := e.db.InTx(ctx, func(ctx context.Context) error {
		for _, lane := range []string{"", "lane-1"} {
			if _, err := q.Enqueue(ctx, jobs.Spec{Kind: "outbox", Lane: lane}); err != nil {
				return err
			}
		}
		if _, err := q.Enqueue(ctx, jobs.Spec{Kind: "outbox", UniqueKey: "k"}); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	if n := e.count(t, "true"); n != 0 {
		t.Fatalf("%d jobs survived the rollback", n)
	}
	if runDue(t, q) != 0 {
		t.Fatal("something ran")
	}
	// The lane's counter rolled back too: a committed job of the lane is its head.
	if err := e.db.InTx(ctx, func(ctx context.Context) error {
		_, err := q.Enqueue(ctx, jobs.Spec{Kind: "outbox", Lane: "lane-1"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if runDue(t, q) != 1 {
		t.Fatal("the committed job did not run")
	}
}

func TestUniqueKeySkipsAPendingDuplicate(t *testing.T) {
	e := newEnv(t)
	q, _ := e.queue(jobs.Handler{Kind: "refresh", Run: func(context.Context, *jobs.Job) error { return nil }})
	if !enqueue(t, q, jobs.Spec{Kind: "refresh", UniqueKey: "conn-1"}) {
		t.Fatal("first enqueue skipped")
	}
	if enqueue(t, q, jobs.Spec{Kind: "refresh", UniqueKey: "conn-1"}) {
		t.Fatal("a pending duplicate was queued")
	}
	if !enqueue(t, q, jobs.Spec{Kind: "refresh", UniqueKey: "conn-2"}) {
		t.Fatal("another key was skipped")
	}
	if runDue(t, q) != 2 {
		t.Fatal("want two runs")
	}
	if !enqueue(t, q, jobs.Spec{Kind: "refresh", UniqueKey: "conn-1"}) {
		t.Fatal("the key stayed taken after its job finished")
	}
	if _, err := q.Enqueue(context.Background(), jobs.Spec{Kind: "nobody"}); !errors.Is(err, jobs.ErrUnknownKind) {
		t.Fatalf("unknown kind: %v", err)
	}
	if _, err := q.Enqueue(context.Background(), jobs.Spec{Kind: "refresh", UniqueKey: "a", Lane: "b"}); err == nil {
		t.Fatal("a unique key with a lane was accepted")
	}
}

func TestPeriodicJobRunsOnceAcrossInstances(t *testing.T) {
	e := newEnv(t)
	var runs atomic.Int32
	h := jobs.Handler{Kind: "sweep", Run: func(context.Context, *jobs.Job) error { runs.Add(1); return nil }}
	var instances []*jobs.Queue
	for range 4 {
		q, _ := e.queue(h)
		q.Every(jobs.Schedule{Name: "sweep", Kind: "sweep", Every: time.Hour})
		instances = append(instances, q)
	}
	race := func() {
		var wg sync.WaitGroup
		for _, q := range instances {
			for range 3 {
				wg.Add(1)
				go func() { defer wg.Done(); _, _ = q.RunDue(context.Background()) }()
			}
		}
		wg.Wait()
	}
	race()
	if got := runs.Load(); got != 1 {
		t.Fatalf("first period: %d runs, want 1", got)
	}
	e.clock.Advance(59 * time.Minute)
	race()
	if got := runs.Load(); got != 1 {
		t.Fatalf("ran again before the period was over (%d runs)", got)
	}
	e.clock.Advance(time.Minute)
	race()
	if got := runs.Load(); got != 2 {
		t.Fatalf("second period: %d runs, want 2", got)
	}
}

func TestLaneRunsOneAtATimeInCommitOrder(t *testing.T) {
	e := newEnv(t)
	const producers, perProducer = 8, 10
	var mu sync.Mutex
	order := map[string][]int{}
	var inFlight, overlaps atomic.Int32
	h := jobs.Handler{Kind: "deliver", Run: func(_ context.Context, j *jobs.Job) error {
		if inFlight.Add(1) > 1 {
			overlaps.Add(1)
		}
		defer inFlight.Add(-1)
		var p payload
		if err := j.Decode(&p); err != nil {
			return err
		}
		time.Sleep(time.Millisecond) // widen the window an overlap would need
		mu.Lock()
		order[j.Lane] = append(order[j.Lane], p.N)
		mu.Unlock()
		return nil
	}}
	a, _ := e.queue(h)
	b, _ := e.queue(h)
	// Producers race to enqueue into one lane; each commit takes the next
	// sequence number, which a trigger-free read of lane_seq shows.
	var wg sync.WaitGroup
	var seq atomic.Int32
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perProducer {
				n := p*perProducer + i
				err := e.db.InTx(context.Background(), func(ctx context.Context) error {
					_, err := a.Enqueue(ctx, jobs.Spec{Kind: "deliver", Lane: "webhook-1", Payload: payload{n}})
					return err
				})
				if err != nil {
					t.Error(err)
				}
				seq.Add(1)
			}
		}()
	}
	wg.Wait()
	ctx, cancel := context.WithCancel(context.Background())
	var workers sync.WaitGroup
	for _, q := range []*jobs.Queue{a, b} {
		workers.Add(1)
		go func() {
			defer workers.Done()
			q.Run(ctx, jobs.RunOptions{Concurrency: 4, PollInterval: 5 * time.Millisecond})
		}()
	}
	total := producers * perProducer
	waitFor(t, "the lane to drain", func() bool { return e.count(t, "state = 'done'") == total })
	cancel()
	workers.Wait()
	if overlaps.Load() != 0 {
		t.Fatalf("%d runs overlapped within one lane", overlaps.Load())
	}
	var want []int
	if err := e.db.Conn(context.Background()).Raw(`SELECT (payload->>'N')::int FROM jobs WHERE lane = 'webhook-1' ORDER BY lane_seq`).
		Scan(&want).Error; err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(order["webhook-1"]) != fmt.Sprint(want) || len(want) != total {
		t.Fatalf("ran in order %v, enqueued in %v", order["webhook-1"], want)
	}
}

func TestFailingHeadHoldsItsLaneButNotOthers(t *testing.T) {
	e := newEnv(t)
	var ran []string
	fail := true
	q, _ := e.queue(jobs.Handler{Kind: "deliver", Backoff: func(int) time.Duration { return time.Minute },
		Run: func(_ context.Context, j *jobs.Job) error {
			var p payload
			_ = j.Decode(&p)
			if j.Lane == "down" && p.N == 1 && fail {
				return errors.New("500")
			}
			ran = append(ran, fmt.Sprintf("%s/%d", j.Lane, p.N))
			return nil
		}})
	for n := 1; n <= 2; n++ {
		enqueue(t, q, jobs.Spec{Kind: "deliver", Lane: "down", Payload: payload{n}})
		enqueue(t, q, jobs.Spec{Kind: "deliver", Lane: "up", Payload: payload{n}})
	}
	runDue(t, q)
	if fmt.Sprint(ran) != "[up/1 up/2]" {
		t.Fatalf("while down/1 fails: ran %v", ran)
	}
	fail = false
	e.clock.Advance(time.Minute)
	runDue(t, q)
	if fmt.Sprint(ran) != "[up/1 up/2 down/1 down/2]" {
		t.Fatalf("after recovery: ran %v", ran)
	}
	// A lane whose head failed for good moves on.
	q2, _ := e.queue(jobs.Handler{Kind: "deliver", Run: func(_ context.Context, j *jobs.Job) error {
		var p payload
		_ = j.Decode(&p)
		if p.N == 1 {
			return jobs.Cancel(errors.New("gone"))
		}
		ran = append(ran, fmt.Sprintf("%s/%d", j.Lane, p.N))
		return nil
	}})
	enqueue(t, q2, jobs.Spec{Kind: "deliver", Lane: "x", Payload: payload{1}})
	enqueue(t, q2, jobs.Spec{Kind: "deliver", Lane: "x", Payload: payload{2}})
	runDue(t, q2)
	if !strings.HasSuffix(fmt.Sprint(ran), "x/2]") {
		t.Fatalf("the lane stalled behind a failed job: %v", ran)
	}
}

func TestNotifyWakesWorkersWithoutPolling(t *testing.T) {
	e := newEnv(t)
	done := make(chan struct{})
	q, _ := e.queue(jobs.Handler{Kind: "ping", Run: func(context.Context, *jobs.Job) error { close(done); return nil }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	listening := make(chan struct{}, 1)
	handlers := changes.Handlers{jobs.Channel: q.Wake, "oauthd_test_ready": func() {}}
	handlers["oauthd_test_ready"] = func() {
		select {
		case listening <- struct{}{}:
		default:
		}
	}
	go changes.Listen(ctx, e.url, discard(), handlers)
	<-listening // Listen calls every handler once it is listening
	go q.Run(ctx, jobs.RunOptions{PollInterval: time.Hour})
	// Let the worker's first (empty) claim pass so only a NOTIFY can wake it.
	time.Sleep(50 * time.Millisecond)
	enqueue(t, q, jobs.Spec{Kind: "ping"})
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the job did not run: the NOTIFY did not wake the worker (poll is an hour)")
	}
}

func TestStopLetsRunsFinishAndPutsBackTheCancelled(t *testing.T) {
	e := newEnv(t)
	started := make(chan struct{}, 2)
	q, _ := e.queue(
		jobs.Handler{Kind: "quick", Run: func(context.Context, *jobs.Job) error {
			started <- struct{}{}
			time.Sleep(20 * time.Millisecond)
			return nil
		}},
		jobs.Handler{Kind: "endless", Timeout: time.Hour, Run: func(ctx context.Context, _ *jobs.Job) error {
			started <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		}},
	)
	enqueue(t, q, jobs.Spec{Kind: "quick"})
	enqueue(t, q, jobs.Spec{Kind: "endless"})
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { q.Run(ctx, jobs.RunOptions{StopGrace: 100 * time.Millisecond}); close(stopped) }()
	<-started
	<-started
	cancel()
	<-stopped
	if e.count(t, "kind = 'quick' AND state = 'done'") != 1 {
		t.Error("a run in progress at stop was not allowed to finish")
	}
	if e.count(t, "kind = 'endless' AND state = 'pending' AND attempt = 0 AND run_at = ?", t0) != 1 {
		t.Error("a run cancelled at stop was not put back, due now, uncounted")
	}
}

func TestPurgeDeletesFinishedJobsAfterRetention(t *testing.T) {
	e := newEnv(t)
	q, _ := e.queue(jobs.Handler{Kind: "k", Run: func(context.Context, *jobs.Job) error { return nil }})
	enqueue(t, q, jobs.Spec{Kind: "k"})
	runDue(t, q)
	e.clock.Advance(jobs.FinishedRetention - time.Hour)
	runDue(t, q)
	if e.count(t, "kind = 'k'") != 1 {
		t.Fatal("purged too early")
	}
	e.clock.Advance(2 * time.Hour)
	runDue(t, q)
	if e.count(t, "kind = 'k'") != 0 {
		t.Fatal("finished job kept past the retention")
	}
}

func TestOnlyIfGuardsTheEnqueueInItsStatement(t *testing.T) {
	e := newEnv(t)
	q, _ := e.queue(jobs.Handler{Kind: "k", Run: func(context.Context, *jobs.Job) error { return nil }})
	for _, lane := range []string{"", "lane-x"} {
		if enqueue(t, q, jobs.Spec{Kind: "k", Lane: lane, OnlyIf: "? > 1", OnlyIfArgs: []any{1}}) {
			t.Fatalf("lane %q: enqueued although the condition was false", lane)
		}
		if !enqueue(t, q, jobs.Spec{Kind: "k", Lane: lane, OnlyIf: "? > 1", OnlyIfArgs: []any{2}}) {
			t.Fatalf("lane %q: not enqueued although the condition held", lane)
		}
	}
	var unfinished int
	if err := e.db.Conn(context.Background()).Raw(`SELECT unfinished FROM job_lanes WHERE lane = 'lane-x'`).Scan(&unfinished).Error; err != nil {
		t.Fatal(err)
	}
	if unfinished != 1 || e.count(t, "true") != 2 {
		t.Fatalf("lane counts %d unfinished, %d jobs stored; want 1 and 2", unfinished, e.count(t, "true"))
	}
}

// A backlog of slow bulk jobs (webhook deliveries to receivers that hang,
// in many lanes) takes at most half of an instance's workers: the other
// kinds, enqueued behind it, still run while every bulk run is stuck.
func TestBulkJobsLeaveWorkersForTheOtherKinds(t *testing.T) {
	e := newEnv(t)
	release := make(chan struct{})
	var stuck, most atomic.Int32
	quickDone := make(chan struct{})
	q, _ := e.queue(
		jobs.Handler{Kind: "slow", Bulk: true, Timeout: time.Hour, Run: func(ctx context.Context, _ *jobs.Job) error {
			now := stuck.Add(1)
			for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
			}
			defer stuck.Add(-1)
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		}},
		jobs.Handler{Kind: "quick", Run: func(context.Context, *jobs.Job) error { close(quickDone); return nil }},
	)
	for i := range 12 {
		enqueue(t, q, jobs.Spec{Kind: "slow", Lane: fmt.Sprintf("hook:%d", i), Payload: payload{N: i}})
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		q.Run(ctx, jobs.RunOptions{Concurrency: 4, PollInterval: 10 * time.Millisecond})
		close(stopped)
	}()
	defer func() { cancel(); <-stopped }()
	waitFor(t, "two slow runs", func() bool { return stuck.Load() == 2 })
	enqueue(t, q, jobs.Spec{Kind: "quick"})
	q.Wake()
	select {
	case <-quickDone:
	case <-time.After(60 * time.Second):
		t.Fatalf("the quick job did not run while %d slow runs held the workers", stuck.Load())
	}
	close(release)
	waitFor(t, "every slow job", func() bool { return e.count(t, "kind = 'slow' AND state = 'done'") == 12 })
	if m := most.Load(); m > 2 {
		t.Errorf("%d bulk runs at once on 4 workers; at most 2 may run", m)
	}
}
