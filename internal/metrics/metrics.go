// Package metrics holds oauthd's Prometheus series: the Go runtime and the
// process, the database pool, HTTP requests, tokens issued, failed
// authentications and cache lookups; the job queue registers its own
// (oauthd_jobs_*) in the same registry. They are served on a
// listener of their own (OAUTHD_METRICS_LISTEN), never on the public one:
// route names, error rates and pool sizes are for the operator, not for
// anyone who can reach the API.
package metrics

import (
	"database/sql"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/oauthd/oauthd/internal/bounded"
)

// Metrics is one instance's registry and the series the services record.
// A nil *Metrics records nothing, so code under test may go without one.
type Metrics struct {
	// Registry is what the metrics listener serves; the HTTP middleware
	// registers its series here too.
	Registry     *prometheus.Registry
	requests     *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	tokens       *prometheus.CounterVec
	authFailures *prometheus.CounterVec
	// series are the children of requests and duration already made, by
	// method, route pattern and status: a request finds its counter and
	// histogram in one map read, without building label values.
	series sync.Map // seriesKey -> *httpSeries
	// issued are tokens' children, by grant type.
	issued sync.Map // string -> prometheus.Counter
}

type seriesKey struct {
	method, route string
	status        int
}

type httpSeries struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// New returns a registry with the Go runtime and process collectors and
// oauthd's own series, all at zero until recorded.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oauthd_http_requests_total", Help: "HTTP requests by method, route and status.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "oauthd_http_request_duration_seconds", Help: "HTTP request latency by method and route.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"method", "route"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oauthd_tokens_issued_total",
			Help: "Access tokens issued by the token endpoint, by grant type.",
		}, []string{"grant_type"}),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oauthd_authentication_failures_total",
			Help: "Failed authentications by method: api_key (basic auth), bearer (access token), client (OAuth client authentication), sign_in (the browser pages).",
		}, []string{"method"}),
	}
	m.Registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration, m.tokens, m.authFailures,
	)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// WatchDB exports the database pool's statistics (open, in use and idle
// connections, waits and their duration) as go_sql_* series.
func (m *Metrics) WatchDB(db *sql.DB) {
	m.Registry.MustRegister(collectors.NewDBStatsCollector(db, "oauthd"))
}

// WatchCaches exports each named cache's lookups as
// oauthd_cache_lookups_total{cache, result="hit"|"miss"}; the hit ratio is
// rate(hits) / rate(all lookups). oauthd_cache_loads_total{cache} counts
// the work behind the misses, which concurrent misses share.
func (m *Metrics) WatchCaches(caches map[string]*bounded.Stats) {
	for name, s := range caches {
		if s == nil {
			continue // a cache this deployment runs without
		}
		for result, read := range map[string]func() uint64{"hit": s.Hits, "miss": s.Misses} {
			m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name:        "oauthd_cache_lookups_total",
				Help:        "Lookups in this instance's caches by cache and result.",
				ConstLabels: prometheus.Labels{"cache": name, "result": result},
			}, func() float64 { return float64(read()) }))
		}
		m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "oauthd_cache_loads_total",
			Help:        "Loads behind this instance's caches by cache: a database read, or a bcrypt comparison for verified_client_secrets; concurrent misses of one key share one load.",
			ConstLabels: prometheus.Labels{"cache": name},
		}, func() float64 { return float64(s.Loads()) }))
	}
}

// Request records one HTTP request under its route pattern (never its
// path, so scanners cannot grow the number of series).
func (m *Metrics) Request(method, route string, status int, took time.Duration) {
	if m == nil {
		return
	}
	k := seriesKey{method: method, route: route, status: status}
	s, ok := m.series.Load(k)
	if !ok {
		// Routes are the router's patterns (one "unmatched" for the rest)
		// and methods and statuses few, so this map stays small.
		s, _ = m.series.LoadOrStore(k, &httpSeries{
			requests: m.requests.WithLabelValues(method, route, strconv.Itoa(status)),
			duration: m.duration.WithLabelValues(method, route),
		})
	}
	hs := s.(*httpSeries)
	hs.requests.Inc()
	hs.duration.Observe(took.Seconds())
}

// TokenIssued counts one successful token response.
func (m *Metrics) TokenIssued(grantType string) {
	if m == nil {
		return
	}
	c, ok := m.issued.Load(grantType)
	if !ok {
		c, _ = m.issued.LoadOrStore(grantType, m.tokens.WithLabelValues(grantType))
	}
	c.(prometheus.Counter).Inc()
}

// Authentication methods for AuthFailed.
const (
	AuthAPIKey = "api_key"
	AuthBearer = "bearer"
	AuthClient = "client"
	AuthSignIn = "sign_in"
)

// AuthFailed counts one refused authentication of the given method.
func (m *Metrics) AuthFailed(method string) {
	if m != nil {
		m.authFailures.WithLabelValues(method).Inc()
	}
}
