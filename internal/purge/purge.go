// Package purge deletes rows that have outlived their use (expired codes
// and device codes, refresh tokens, grants, revoked-token records, old
// change-log entries, audit events past their retention) as periodic jobs
// on the durable queue. Each run happens on one instance, whichever claims
// it; it deletes in batches of BatchSize rows, each batch its own short
// statement (no long transaction, no long lock), chosen through an index
// on the column that says when a row may go. The domains declare what
// expires (their Targets); the application registers them.
package purge

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/jobs"
)

// Target is one kind of row that may go once a timestamp has passed.
type Target struct {
	// Name names the periodic job (purge.<Name>) and labels the metric.
	Name string
	// Table holds the rows; Key lists its primary key's columns
	// ("tenant_id, digest"), by which each batch is chosen.
	Table, Key string
	// Column is the timestamp a row may go after (plus After); it must be
	// indexed.
	Column string
	After  time.Duration
	// Every is how often the purge runs (default DefaultEvery).
	Every time.Duration
}

const (
	// DefaultEvery is how often a target is purged unless it says.
	DefaultEvery = 5 * time.Minute
	// BatchSize is how many rows one statement deletes.
	BatchSize = 1000
	// runBudget bounds one run; what is left waits for the next.
	runBudget = time.Minute
)

var identifiers = regexp.MustCompile(`^[a-z_][a-z0-9_]*(, [a-z_][a-z0-9_]*)*$`)

// Register adds each target's purge to q as a periodic job, with a
// counter of the rows it deleted in reg (when not nil). A target whose
// names are not plain identifiers is a programming error: it panics.
func Register(q *jobs.Queue, db *database.DB, reg prometheus.Registerer, targets ...Target) {
	purged := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "oauthd_purged_rows_total", Help: "Rows deleted by the housekeeping jobs, by target.",
	}, []string{"target"})
	if reg != nil {
		reg.MustRegister(purged)
	}
	for _, t := range targets {
		for _, s := range []string{t.Name, t.Table, t.Key, t.Column} {
			if !identifiers.MatchString(s) {
				panic(fmt.Sprintf("purge: %q is not a list of identifiers", s))
			}
		}
		if t.Every <= 0 {
			t.Every = DefaultEvery
		}
		kind := "purge." + t.Name
		rows := purged.WithLabelValues(t.Name)
		q.Register(jobs.Handler{Kind: kind, MaxAttempts: 3, Timeout: runBudget + 30*time.Second,
			Run: func(ctx context.Context, _ *jobs.Job) error {
				n, err := t.run(ctx, db, q.Clock().Now().Add(-t.After))
				rows.Add(float64(n))
				return err
			}})
		q.Every(jobs.Schedule{Name: kind, Kind: kind, Every: t.Every})
	}
}

// statement deletes one batch of rows whose Column is before its one
// parameter, the cutoff. It locks the batch first and skips rows a live
// request holds: housekeeping never waits for a request, so it cannot
// deadlock with one that locks two of its rows in another order (a failed
// attempt's two budget rows, say), and a row changed since the batch was
// chosen is judged again on its new Column (a budget just spent stays).
// A skipped row goes in a later run.
func (t Target) statement() string {
	return fmt.Sprintf(`DELETE FROM %s WHERE (%s) IN (SELECT %s FROM %s WHERE %s < ? LIMIT %d FOR UPDATE SKIP LOCKED)`,
		t.Table, t.Key, t.Key, t.Table, t.Column, BatchSize)
}

// run deletes the target's rows whose Column is before cutoff, a batch at
// a time, until none are left or the run's budget is spent.
func (t Target) run(ctx context.Context, db *database.DB, cutoff time.Time) (int64, error) {
	query := t.statement()
	deadline := time.Now().Add(runBudget)
	var total int64
	for {
		res := db.Conn(ctx).Exec(query, cutoff)
		if res.Error != nil {
			return total, fmt.Errorf("purge %s: %w", t.Name, res.Error)
		}
		total += res.RowsAffected
		if res.RowsAffected < BatchSize || time.Now().After(deadline) || ctx.Err() != nil {
			return total, nil
		}
	}
}
