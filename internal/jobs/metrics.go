package jobs

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics count runs per kind and outcome (done, retry, failed,
// interrupted, lease_lost) and time them per kind.
type metrics struct {
	runs     *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "oauthd_jobs_runs_total", Help: "Job runs by kind and outcome (done, retry, failed, interrupted, lease_lost).",
		}, []string{"kind", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "oauthd_jobs_run_duration_seconds", Help: "Time a job run took, by kind.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 10, 30, 60},
		}, []string{"kind"}),
	}
	if reg != nil {
		reg.MustRegister(m.runs, m.duration)
	}
	return m
}

func (m *metrics) observe(kind, outcome string, d time.Duration) {
	m.runs.WithLabelValues(kind, outcome).Inc()
	m.duration.WithLabelValues(kind).Observe(d.Seconds())
}
