package apitest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Received is one webhook delivery a Receiver got.
type Received struct {
	Header http.Header
	Body   []byte
	// Event is Body decoded.
	Event map[string]any
	At    time.Time
}

// EventID is the delivered event's id.
func (r Received) EventID() string { s, _ := r.Event["id"].(string); return s }

// Type is the delivered event's type.
func (r Received) Type() string { s, _ := r.Event["type"].(string); return s }

// Receiver is a webhook endpoint for tests: it records every delivery and
// answers what Respond says (200 by default).
type Receiver struct {
	Server  *httptest.Server
	mu      sync.Mutex
	got     []Received
	respond func(r *http.Request, n int) int
	// inFlight counts deliveries being answered; overlaps counts those that
	// arrived while another was.
	inFlight, overlaps int
}

// NewReceiver starts a receiver, closed when t ends.
func NewReceiver(t testing.TB) *Receiver {
	rc := &Receiver{respond: func(*http.Request, int) int { return http.StatusOK }}
	rc.Server = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.Server.Close)
	return rc
}

func (rc *Receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var ev map[string]any
	_ = json.Unmarshal(body, &ev)
	rc.mu.Lock()
	rc.got = append(rc.got, Received{Header: r.Header.Clone(), Body: body, Event: ev, At: time.Now()})
	n := len(rc.got)
	rc.inFlight++
	if rc.inFlight > 1 {
		rc.overlaps++
	}
	respond := rc.respond
	rc.mu.Unlock()
	status := respond(r, n)
	rc.mu.Lock()
	rc.inFlight--
	rc.mu.Unlock()
	w.WriteHeader(status)
}

// URL is where the receiver listens.
func (rc *Receiver) URL() string { return rc.Server.URL + "/hooks" }

// Respond sets the answer to the nth delivery (from 1); the function may
// block (until r's context ends) to play a receiver that times out.
func (rc *Receiver) Respond(fn func(r *http.Request, n int) int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.respond = fn
}

// Received returns the deliveries so far.
func (rc *Receiver) Received() []Received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Received(nil), rc.got...)
}

// Overlaps is how many deliveries arrived while another was in progress.
func (rc *Receiver) Overlaps() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.overlaps
}

// WaitFor waits until the receiver has at least n deliveries and returns
// them.
func (rc *Receiver) WaitFor(t testing.TB, n int) []Received {
	t.Helper()
	Eventually(t, 60*time.Second, func() error {
		if got := len(rc.Received()); got < n {
			return fmt.Errorf("the receiver has %d deliveries, want %d", got, n)
		}
		return nil
	})
	return rc.Received()
}

// QuietJobs runs what is due now (periodic jobs included, which an instance
// otherwise enqueues at its first poll) and waits until no background job
// is running or due, so a test can compare what is stored without the
// queue's work moving it meanwhile.
func (e *Env) QuietJobs(t testing.TB) {
	t.Helper()
	Eventually(t, 60*time.Second, func() error {
		if _, err := e.App.Jobs.RunDue(context.Background()); err != nil {
			t.Fatalf("run due jobs: %v", err)
		}
		// A due schedule is one a worker has claimed and not yet
		// committed its run of (RunDue skips the locked row): wait for it.
		var n int
		err := e.App.DB.SQL().QueryRow(`SELECT (SELECT count(*) FROM jobs WHERE state = 'running' OR (state = 'pending' AND run_at <= $1))
			+ (SELECT count(*) FROM job_schedules WHERE next_run_at <= $1)`,
			e.App.Jobs.Clock().Now()).Scan(&n)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%d jobs or schedules are running or due", n)
		}
		return nil
	})
}
