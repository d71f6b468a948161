package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// creds are basic-auth credentials (email:apikey, as elastic.io's API).
type creds struct {
	email, key string
}

func (c creds) header() string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(c.email+":"+c.key))
}

// client is a plain net/http client with one keep-alive connection per
// worker, as a real API consumer pool would hold.
func newHTTPClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        conns * 2,
			MaxIdleConnsPerHost: conns * 2,
			MaxConnsPerHost:     conns * 2,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
	}
}

// Media types the bench sends: JSON:API calls send JSON bodies as elastic.io's
// curl examples do; the OAuth endpoints take forms and answer JSON.
const (
	jsonAPI  = "application/vnd.api+json"
	jsonDoc  = "application/json"
	formType = "application/x-www-form-urlencoded"
)

// call sends one JSON:API request and reads the whole response body.
func call(hc *http.Client, method, url, auth string, body []byte) (int, []byte, error) {
	return callAs(hc, method, url, auth, jsonDoc, jsonAPI, body)
}

// callAs sends one request with the given body and Accept media types.
func callAs(hc *http.Client, method, url, auth, ctype, accept string, body []byte) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("Authorization", auth)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// worker is one concurrent caller. It keeps every latency sample that
// started and finished inside the measured window.
type worker struct {
	id      int
	hc      *http.Client
	rng     *rand.Rand
	auth    string
	base    string
	t       *target
	from    time.Time // measured window
	to      time.Time
	seq     int // requests this worker has started, for scenarios that walk a pool
	samples map[string][]time.Duration
	errors  map[string]map[string]int // op -> kind -> count
}

// do times one request and records it under op; it returns the status and
// body, with ok reporting whether the status was the expected one.
func (w *worker) do(op, method, url string, body []byte, want int) (int, []byte, bool) {
	return w.doAs(request{op: op, method: method, url: url, auth: w.auth, ctype: jsonDoc, accept: jsonAPI, body: body, want: want})
}

// request is one timed call; valid, when set, must also accept the body
// (a 200 that says the wrong thing is an error too).
type request struct {
	op, method, url     string
	auth, ctype, accept string
	body                []byte
	want                int
	valid               func(body []byte) bool
}

func (w *worker) doAs(r request) (int, []byte, bool) {
	op := r.op
	start := time.Now()
	status, out, err := callAs(w.hc, r.method, r.url, r.auth, r.ctype, r.accept, r.body)
	end := time.Now()
	ok := err == nil && status == r.want
	invalid := ok && r.valid != nil && !r.valid(out)
	ok = ok && !invalid
	if !start.Before(w.from) && !end.After(w.to) {
		w.samples[op] = append(w.samples[op], end.Sub(start))
		if !ok {
			kind := fmt.Sprintf("HTTP %d", status)
			if err != nil {
				kind = "transport: " + err.Error()
			}
			if invalid {
				kind = fmt.Sprintf("HTTP %d with an unexpected body", status)
			}
			if w.errors[op] == nil {
				w.errors[op] = map[string]int{}
			}
			w.errors[op][kind]++
		}
	}
	return status, out, ok
}

// scenario is one kind of traffic: iterate issues one iteration's requests.
type scenario struct {
	name        string
	about       string
	ops         []string // the operations it records, in report order
	concurrency int      // workers; 0 means the -c flag
	iterate     func(w *worker)
}

func clientsPath(w *worker) string {
	return w.base + "/v2/tenants/" + w.t.tenantID.String() + "/oauth-clients"
}

var scenarios = []scenario{
	{
		name: "list-filter", ops: []string{"list-filter"},
		about: "GET /v2/tenants/{tid}/oauth-clients?filter[component]={a random one of the tenant's components}",
		iterate: func(w *worker) {
			comp := w.t.components[w.rng.IntN(len(w.t.components))]
			w.do("list-filter", http.MethodGet, clientsPath(w)+"?filter%5Bcomponent%5D="+comp.String(), nil, http.StatusOK)
		},
	},
	{
		name: "list-page", ops: []string{"list-page"},
		about: "GET /v2/tenants/{tid}/oauth-clients?page[size]=20 (first page, default sort, meta.total counted)",
		iterate: func(w *worker) {
			w.do("list-page", http.MethodGet, clientsPath(w)+"?page%5Bsize%5D=20", nil, http.StatusOK)
		},
	},
	{
		name: "get", ops: []string{"get"},
		about: "GET /v2/tenants/{tid}/oauth-clients/{a random one of the tenant's clients}",
		iterate: func(w *worker) {
			id := w.t.clients[w.rng.IntN(len(w.t.clients))]
			w.do("get", http.MethodGet, clientsPath(w)+"/"+id.String(), nil, http.StatusOK)
		},
	},
	{
		name: "create-delete", ops: []string{"create", "delete"},
		about: "POST /v2/tenants/{tid}/oauth-clients (elastic.io's body) for a component without a client, then DELETE it; each worker cycles through its own spare components",
		iterate: func(w *worker) {
			// Worker i owns spares i, i+c, i+2c, ... so no two workers race for one.
			spares := w.ownSpares()
			comp := spares[w.rng.IntN(len(spares))]
			body := fmt.Sprintf(`{"data":{"type":"oauth-client","attributes":{"client_id":"bench-%s","client_secret":"s3cr3t-%08x-value"},`+
				`"relationships":{"component":{"data":{"id":"%s","type":"component"}}}}}`, comp, w.rng.Uint32(), comp)
			_, out, ok := w.do("create", http.MethodPost, clientsPath(w), []byte(body), http.StatusCreated)
			if !ok {
				return
			}
			var doc struct{ Data struct{ ID string } }
			if json.Unmarshal(out, &doc) != nil || doc.Data.ID == "" {
				return
			}
			w.do("delete", http.MethodDelete, clientsPath(w)+"/"+doc.Data.ID, nil, http.StatusNoContent)
		},
	},
}

// concurrency is set before the workers start; ownSpares reads it.
var workerCount int

func (w *worker) ownSpares() []uuid.UUID {
	var out []uuid.UUID
	for i := w.id; i < len(w.t.spares); i += workerCount {
		out = append(out, w.t.spares[i])
	}
	return out
}

// stats are the figures of one operation in one run.
type stats struct {
	Op          string
	Requests    int
	Errors      int
	ErrorKinds  map[string]int
	Elapsed     time.Duration
	RPS         float64
	P50, P90    time.Duration
	P99, Max    time.Duration
	Concurrency int
	// CPU is what the server and PostgreSQL spent in the measured
	// windows (zero when not measured).
	CPU cpuTimes
}

// runScenario drives c workers through warm-up and the measured window.
func runScenario(ctx context.Context, sc scenario, base, auth string, t *target, c int, warmup, duration time.Duration) ([]stats, error) {
	workers, c, _, err := drive(ctx, sc, base, auth, t, c, warmup, duration, nil)
	if err != nil {
		return nil, err
	}
	return summarize(sc, workers, c, duration), nil
}

// drive runs one scenario's workers and returns them with their samples,
// the concurrency it ran at, and, with a probe, the CPU time used in the
// measured window.
func drive(ctx context.Context, sc scenario, base, auth string, t *target, c int, warmup, duration time.Duration,
	probe *cpuProbe) ([]*worker, int, cpuTimes, error) {
	var used cpuTimes
	if sc.concurrency > 0 {
		c = sc.concurrency
	}
	if sc.name == "create-delete" && len(t.spares) < c {
		return nil, c, used, fmt.Errorf("create-delete needs at least %d spare components, have %d", c, len(t.spares))
	}
	workerCount = c
	hc := newHTTPClient(c)
	defer hc.CloseIdleConnections()

	// Preflight: one iteration outside any window must succeed, or the
	// figures would measure error pages.
	pre := &worker{id: 0, hc: hc, rng: rand.New(rand.NewPCG(1, 2)), auth: auth, base: base, t: t,
		samples: map[string][]time.Duration{}, errors: map[string]map[string]int{}}
	pre.from, pre.to = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	sc.iterate(pre)
	for op, kinds := range pre.errors {
		return nil, c, used, fmt.Errorf("%s preflight: %s failed: %v", sc.name, op, kinds)
	}

	start := time.Now()
	from, to := start.Add(warmup), start.Add(warmup+duration)
	workers := make([]*worker, c)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{id: i, hc: hc, rng: rand.New(rand.NewPCG(uint64(i)+1, uint64(start.UnixNano()))), auth: auth, base: base, t: t,
			from: from, to: to, samples: map[string][]time.Duration{}, errors: map[string]map[string]int{}}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil && time.Now().Before(to) {
				sc.iterate(w)
			}
		}()
	}
	if probe != nil {
		time.Sleep(time.Until(from))
		before := probe.sample()
		time.Sleep(time.Until(to))
		used = probe.sample().minus(before)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, c, used, err
	}
	return workers, c, used, nil
}

// summarize computes each operation's figures from the workers' samples
// over a measured time of duration (the sum of the windows they ran in).
func summarize(sc scenario, workers []*worker, c int, duration time.Duration) []stats {
	var out []stats
	for _, op := range sc.ops {
		var all []time.Duration
		kinds := map[string]int{}
		errs := 0
		for _, w := range workers {
			all = append(all, w.samples[op]...)
			for k, n := range w.errors[op] {
				kinds[k] += n
				errs += n
			}
		}
		slices.Sort(all)
		s := stats{Op: op, Requests: len(all), Errors: errs, ErrorKinds: kinds, Elapsed: duration, Concurrency: c,
			RPS: float64(len(all)) / duration.Seconds()}
		if len(all) > 0 {
			s.P50, s.P90, s.P99, s.Max = pct(all, 0.50), pct(all, 0.90), pct(all, 0.99), all[len(all)-1]
		}
		out = append(out, s)
	}
	return out
}

// pct is the nearest-rank percentile of sorted samples.
func pct(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func errorSummary(kinds map[string]int) string {
	if len(kinds) == 0 {
		return ""
	}
	keys := make([]string, 0, len(kinds))
	for k := range kinds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, kinds[k])
	}
	return strings.Join(parts, ", ")
}
