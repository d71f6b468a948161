// Package apitest runs the whole oauthd HTTP stack against a fresh real
// PostgreSQL database for one test, and checks every response against
// openapi.yaml. Tests talk to it over real HTTP, as users do.
package apitest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/oauthd/oauthd/audit"
	"github.com/oauthd/oauthd/internal/app"
	"github.com/oauthd/oauthd/internal/budget"
	"github.com/oauthd/oauthd/internal/jobs"
	"github.com/oauthd/oauthd/internal/keyring"
	"github.com/oauthd/oauthd/internal/outbound"
	"github.com/oauthd/oauthd/internal/testdb"
	"github.com/oauthd/oauthd/webhooks"
)

// Creds are basic-auth credentials: email and API key.
type Creds struct {
	UserID string
	Email  string
	Key    string
}

// Env is one running oauthd with its own database.
//
// An Env reports the problems of its requests (a response that does not
// match openapi.yaml, a request that could not be sent) to one test: the
// one that made it, or the one For names. A subtest takes its own view
// with e := e.For(t), so its failures are charged to it; a goroutine gets
// its reporter from Race or Go. An Env never stops a test (no FailNow):
// a request that could not be sent is reported and answers status 0, which
// the caller's own checks then reject, so an Env is safe in any goroutine.
type Env struct {
	t           testing.TB
	App         *app.App
	Server      *httptest.Server
	DatabaseURL string
	Super       Creds
	Logs        *LockedBuffer
	spec        *spec
}

// Option changes how New builds the environment.
type Option func(*options)

type options struct {
	databaseURL     string
	issuer          string
	trustedProxies  []*net.IPNet
	budgets         budget.Store
	logLevel        *slog.Level
	dbTimeout       time.Duration
	maxDBConns      int
	providerTimeout time.Duration
	allowPrivate    bool
	lookup          outbound.Lookup
	clock           jobs.Clock
	webhooks        webhooks.DispatcherOptions
	noWorkers       bool
	masterKeys      [][]byte
	auditReads      audit.BatchOptions
}

// WithMasterKeys runs the instance with this master key, and the previous
// ones (OAUTHD_MASTER_KEY, OAUTHD_PREVIOUS_MASTER_KEYS), instead of
// TestMasterKey: for a master key's rotation.
func WithMasterKeys(current []byte, previous ...[]byte) Option {
	return func(o *options) { o.masterKeys = append([][]byte{current}, previous...) }
}

// WithAuditBatch tunes the batch writer of the audit events of reads
// (a long Interval keeps them queued until the instance closes).
func WithAuditBatch(o audit.BatchOptions) Option { return func(opts *options) { opts.auditReads = o } }

// WithOutboundAllowPrivate lets the instance call providers and webhooks on
// loopback and private addresses (OAUTHD_OUTBOUND_ALLOW_PRIVATE), as tests
// whose fake providers and receivers listen on 127.0.0.1 need.
func WithOutboundAllowPrivate() Option { return func(o *options) { o.allowPrivate = true } }

// WithProviderTimeout bounds each call the instance makes to a provider.
func WithProviderTimeout(d time.Duration) Option { return func(o *options) { o.providerTimeout = d } }

// WithOutboundLookup resolves the host names of URLs being checked (webhook
// URLs) with lookup instead of the system resolver.
func WithOutboundLookup(lookup outbound.Lookup) Option { return func(o *options) { o.lookup = lookup } }

// WithoutJobWorkers starts an instance that runs no background jobs
// (OAUTHD_JOB_WORKERS=0); jobs it enqueues wait for an instance that does.
func WithoutJobWorkers() Option { return func(o *options) { o.noWorkers = true } }

// WithClock gives the background jobs (deliveries, warnings) and the
// failure budgets' refill (the Postgres store's) a clock the test moves.
func WithClock(c jobs.Clock) Option { return func(o *options) { o.clock = c } }

// WithWebhooks tunes webhook deliveries (a short timeout, for instance).
func WithWebhooks(w webhooks.DispatcherOptions) Option { return func(o *options) { o.webhooks = w } }

// WithIssuer makes the instance sign and accept tokens as issuer instead of
// its own URL: instances behind one load balancer share OAUTHD_ISSUER, so a
// second instance of a test is started with the first one's issuer.
func WithIssuer(issuer string) Option { return func(o *options) { o.issuer = issuer } }

// WithDatabaseURL serves from an existing database instead of a fresh one
// (for tests that control their own Postgres, or run two instances).
func WithDatabaseURL(url string) Option { return func(o *options) { o.databaseURL = url } }

// WithDBTimeout bounds each request's database work (OAUTHD_DB_TIMEOUT).
func WithDBTimeout(d time.Duration) Option { return func(o *options) { o.dbTimeout = d } }

// WithLogLevel logs at level instead of debug (info is a deployment's
// default: OAUTHD_LOG_LEVEL).
func WithLogLevel(level slog.Level) Option { return func(o *options) { o.logLevel = &level } }

// WithBudgets keeps the failure budgets in store (OAUTHD_REDIS_URL's
// Redis) instead of the instance's database.
func WithBudgets(store budget.Store) Option { return func(o *options) { o.budgets = store } }

// WithMaxDBConns sizes the instance's database pool (default 50).
func WithMaxDBConns(n int) Option { return func(o *options) { o.maxDBConns = n } }

// WithTrustedProxies starts the instance behind these load balancers
// (OAUTHD_TRUSTED_PROXIES).
func WithTrustedProxies(nets ...*net.IPNet) Option {
	return func(o *options) { o.trustedProxies = nets }
}

// TestMasterKey is the keyring key test environments use.
var TestMasterKey = bytes.Repeat([]byte{7}, keyring.KeySize)

// New starts oauthd for t with a bootstrap superuser.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	if o.databaseURL == "" {
		o.databaseURL = testdb.New(t)
	}
	if o.maxDBConns == 0 {
		o.maxDBConns = 50
	}
	if o.masterKeys == nil {
		o.masterKeys = [][]byte{TestMasterKey}
	}
	kr, err := keyring.New(o.masterKeys[0], o.masterKeys[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	logs := &LockedBuffer{}
	level := slog.LevelDebug
	if o.logLevel != nil {
		level = *o.logLevel
	}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: level}))
	ctx, cancel := context.WithCancel(context.Background())
	// The issuer is the server's own URL, known once it listens.
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	if o.issuer != "" {
		issuer = o.issuer
	}
	a, err := app.New(ctx, app.Options{DatabaseURL: o.databaseURL, Keyring: kr, Log: log, MaxDBConns: o.maxDBConns, Issuer: issuer,
		BcryptCost:     bcrypt.MinCost,
		TrustedProxies: o.trustedProxies, ProviderTimeout: o.providerTimeout, Budgets: o.budgets, DBTimeout: o.dbTimeout,
		OutboundAllowPrivate: o.allowPrivate, OutboundLookup: o.lookup,
		Clock: o.clock, Webhooks: o.webhooks, Jobs: jobs.RunOptions{PollInterval: 100 * time.Millisecond}, NoJobWorkers: o.noWorkers,
		AuditReads: o.auditReads})
	if err != nil {
		cancel()
		srv.Close()
		t.Fatalf("start oauthd: %v", err)
	}
	maintained := make(chan struct{})
	go func() { a.Maintain(ctx); close(maintained) }()
	srv.Config.Handler = a.Server.Handler()
	srv.Start()
	e := &Env{t: t, App: a, Server: srv, DatabaseURL: o.databaseURL, Logs: logs, spec: loadSpec(t)}
	t.Cleanup(func() {
		srv.Close()
		cancel()
		<-maintained
		_ = a.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	key := "bootstrap_" + strings.Repeat("k", 30) + randomSuffix()
	u, err := a.Tenants.EnsureSuperuser(ctx, "root@oauthd.test", key)
	if err != nil {
		t.Fatalf("bootstrap superuser: %v", err)
	}
	e.Super = Creds{UserID: u.ID.String(), Email: u.Email, Key: key}
	return e
}

// randomSuffix is 12 random hex digits for unique names and keys.
func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// For is a view of the same running oauthd that reports to t: a subtest's
// or a goroutine's own reporter. The server, database and logs are shared.
func (e *Env) For(t testing.TB) *Env {
	view := *e
	view.t = t
	return &view
}

// URL is the server's base URL joined with path.
func (e *Env) URL(path string) string { return e.Server.URL + path }

// Request describes one call; Do fills in the defaults.
type Request struct {
	Method string
	Path   string
	// Body is sent as is when it is a string or []byte, else as JSON.
	Body    any
	Auth    *Creds
	Header  http.Header
	NoCheck bool // skip the OpenAPI check (for deliberately malformed traffic that the router rejects)
}

// Response is what came back.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends r and checks the response against openapi.yaml. A request that
// cannot be sent or read is reported to the Env's test and answers status
// 0 with the error as its body.
func (e *Env) Do(r Request) *Response {
	e.t.Helper()
	var body io.Reader
	var raw []byte
	switch b := r.Body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			return e.failed("encode body", err)
		}
	}
	if raw != nil {
		body = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(r.Method, e.URL(r.Path), body)
	if err != nil {
		return e.failed("build request", err)
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/vnd.api+json")
	}
	for k, vs := range r.Header {
		req.Header.Del(k)
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if r.Auth != nil {
		req.SetBasicAuth(r.Auth.Email, r.Auth.Key)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		return e.failed(r.Method+" "+r.Path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return e.failed("read response of "+r.Method+" "+r.Path, err)
	}
	res := &Response{Status: resp.StatusCode, Header: resp.Header, Body: out}
	if !r.NoCheck {
		checkReq, _ := http.NewRequest(r.Method, e.URL(r.Path), bytes.NewReader(raw))
		checkReq.Header = req.Header.Clone()
		if err := e.spec.check(checkReq, res); err != nil {
			e.t.Errorf("%s %s → %d does not match openapi.yaml: %v\nbody: %s", r.Method, r.Path, res.Status, err, truncate(out))
		}
	}
	return res
}

// failed reports a request that got no answer and returns the status-0
// response that stands for it.
func (e *Env) failed(what string, err error) *Response {
	e.t.Helper()
	e.t.Errorf("%s: %v", what, err)
	return &Response{Header: http.Header{}, Body: []byte(err.Error())}
}

func truncate(b []byte) string {
	if len(b) > 2000 {
		return string(b[:2000]) + "…"
	}
	return string(b)
}

// noRedirects returns a redirect as the response, so it is checked against
// the spec as the server sent it (and a redirect to a client's external URI
// is not followed).
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// Get, Post, Patch and Delete are shorthands for Do with auth.
func (e *Env) Get(path string, auth *Creds) *Response {
	e.t.Helper()
	return e.Do(Request{Method: http.MethodGet, Path: path, Auth: auth})
}

// Post sends body as JSON:API.
func (e *Env) Post(path string, auth *Creds, body any) *Response {
	e.t.Helper()
	return e.Do(Request{Method: http.MethodPost, Path: path, Auth: auth, Body: body})
}

// Patch sends body as JSON:API.
func (e *Env) Patch(path string, auth *Creds, body any) *Response {
	e.t.Helper()
	return e.Do(Request{Method: http.MethodPatch, Path: path, Auth: auth, Body: body})
}

// Delete sends a DELETE.
func (e *Env) Delete(path string, auth *Creds) *Response {
	e.t.Helper()
	return e.Do(Request{Method: http.MethodDelete, Path: path, Auth: auth})
}

// Doc decodes the body as JSON.
func (r *Response) Doc(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("response is not JSON (%d): %v\n%s", r.Status, err, r.Body)
	}
	return m
}

// Data is the primary data object of a single-resource document.
func (r *Response) Data(t testing.TB) map[string]any {
	t.Helper()
	d, ok := r.Doc(t)["data"].(map[string]any)
	if !ok {
		t.Fatalf("response has no data object (%d): %s", r.Status, r.Body)
	}
	return d
}

// List is the primary data array of a list document.
func (r *Response) List(t testing.TB) []map[string]any {
	t.Helper()
	items, ok := r.Doc(t)["data"].([]any)
	if !ok {
		t.Fatalf("response has no data array (%d): %s", r.Status, r.Body)
	}
	out := make([]map[string]any, len(items))
	for i, it := range items {
		out[i], _ = it.(map[string]any)
	}
	return out
}

// ID is data.id.
func (r *Response) ID(t testing.TB) string {
	t.Helper()
	id, _ := r.Data(t)["id"].(string)
	return id
}

// Attr is data.attributes[name].
func (r *Response) Attr(t testing.TB, name string) any {
	t.Helper()
	attrs, _ := r.Data(t)["attributes"].(map[string]any)
	return attrs[name]
}

// Errors are the error objects of an error document.
func (r *Response) Errors(t testing.TB) []map[string]any {
	t.Helper()
	list, ok := r.Doc(t)["errors"].([]any)
	if !ok {
		t.Fatalf("response has no errors array (%d): %s", r.Status, r.Body)
	}
	out := make([]map[string]any, len(list))
	for i, it := range list {
		out[i], _ = it.(map[string]any)
	}
	return out
}

// ExpectStatus fails the test unless the status is want.
func (r *Response) ExpectStatus(t testing.TB, want int) *Response {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %d, want %d; body: %s", r.Status, want, truncate(r.Body))
	}
	return r
}

// BasicAuth is the Authorization header value for creds.
func BasicAuth(c Creds) string { return BasicOf(c.Email, c.Key) }

// BasicOf is the Authorization header value of basic auth with this user
// and password as given (client_secret_basic with a client id and secret;
// no form encoding).
func BasicOf(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// LockedBuffer is a concurrency-safe log sink.
type LockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *LockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Metrics scrapes the instance's metrics as the metrics listener serves
// them (they are not on the API's listener).
func (e *Env) Metrics() string {
	e.t.Helper()
	rec := httptest.NewRecorder()
	e.App.Metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		e.t.Errorf("metrics: status %d: %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}
