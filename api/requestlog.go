package api

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// summarizedRoutes are the routes whose successful requests are logged as
// one summary line a second rather than a line each: the token endpoint
// and introspection, which machines call thousands of times a second and
// whose line per request cost more than a quarter of a token's CPU time.
// Their errors and every other status are logged a line each, as every
// request of any other route is.
var summarizedRoutes = []string{"/oauth/token", "/oauth/introspect"}

// summaryWindow is how often a summary line is written while requests come.
const summaryWindow = time.Second

// routeSummary counts one route's successful requests between summary
// lines. The first request of a window arms a timer that writes the line
// and empties the counts, so a quiet route writes nothing and costs no
// goroutine.
type routeSummary struct {
	log    *slog.Logger
	method string
	route  string

	armed    atomic.Bool
	count    atomic.Int64
	micros   atomic.Int64 // durations, summed
	maxMicro atomic.Int64
	bytesOut atomic.Int64
}

// record counts one successful request.
func (s *routeSummary) record(took time.Duration, bytesOut int64) {
	us := took.Microseconds()
	// Counted before the timer is looked at: a flush that has already
	// disarmed it either takes this request or a new timer will.
	s.count.Add(1)
	s.micros.Add(us)
	s.bytesOut.Add(bytesOut)
	for {
		m := s.maxMicro.Load()
		if us <= m || s.maxMicro.CompareAndSwap(m, us) {
			break
		}
	}
	if !s.armed.Load() && s.armed.CompareAndSwap(false, true) {
		time.AfterFunc(summaryWindow, s.flush)
	}
}

// flush writes the window's line; nothing when it counted nothing.
func (s *routeSummary) flush() {
	s.armed.Store(false)
	n := s.count.Swap(0)
	us := s.micros.Swap(0)
	maxUS := s.maxMicro.Swap(0)
	out := s.bytesOut.Swap(0)
	if n == 0 {
		return
	}
	s.log.LogAttrs(context.Background(), slog.LevelInfo, "requests",
		slog.String("method", s.method), slog.String("route", s.route), slog.String("status", "2xx"),
		slog.Int64("count", n), slog.Float64("window_s", summaryWindow.Seconds()),
		slog.Float64("duration_ms_mean", float64(us)/float64(n)/1000), slog.Float64("duration_ms_max", float64(maxUS)/1000),
		slog.Int64("bytes_out", out))
}

// summaries are the summarized routes' counters, by route pattern.
type summaries map[string]*routeSummary

func newSummaries(log *slog.Logger) summaries {
	out := summaries{}
	for _, r := range summarizedRoutes {
		out[r] = &routeSummary{log: log, method: "POST", route: r}
	}
	return out
}

// take counts a request in its route's summary when it is one to
// summarize: a successful POST to a summarized route, while info is the
// level logged (at debug every request keeps its line).
func (s summaries) take(ctx context.Context, log *slog.Logger, method, route string, status int, took time.Duration, bytesOut int64) bool {
	if status < 200 || status >= 300 || method != "POST" {
		return false
	}
	sum, ok := s[route]
	if !ok || log.Enabled(ctx, slog.LevelDebug) {
		return false
	}
	sum.record(took, bytesOut)
	return true
}
