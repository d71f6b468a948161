package budget

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/purge"
)

// Postgres keeps budgets in the failure_budgets table.
type Postgres struct {
	db *sql.DB
	// now is the time buckets refill by; nil is the database's now(),
	// one clock for every instance.
	now func() time.Time
}

// NewPostgres uses db (the service's pool).
func NewPostgres(db *sql.DB) *Postgres { return &Postgres{db: db} }

// WithClock makes buckets refill by now instead of the database's clock:
// tests that stop time make a burst's outcome independent of how long
// the requests took. nil keeps the database's clock.
func (p *Postgres) WithClock(now func() time.Time) *Postgres {
	p.now = now
	return p
}

// at is the time parameter of the statements below: NULL for the
// database's now().
func (p *Postgres) at() any {
	if p.now == nil {
		return nil
	}
	return p.now().UTC()
}

// reserveSQL spends one token from each key's bucket when it has one. The
// bucket refills by the time since its last update, capped at its burst;
// ON CONFLICT DO UPDATE locks the row, so concurrent reservations on any
// instance queue and each sees the one before it. taken says whether a
// token was spent (a refused reservation spends nothing). Rows are taken
// in key order, as refundSQL takes them: two attempts on the same two
// budgets (a client's and its address's) must not lock them in opposite
// orders, or Postgres aborts one as a deadlock.
const reserveSQL = `
INSERT INTO failure_budgets AS b (key, burst, per_second, tokens, taken, updated_at)
SELECT k, burst, rate, burst - 1, true, coalesce($4::timestamptz, now()) FROM unnest($1::text[], $2::float8[], $3::float8[]) AS u(k, burst, rate)
ORDER BY k
ON CONFLICT (key) DO UPDATE SET
    burst = EXCLUDED.burst, per_second = EXCLUDED.per_second, updated_at = coalesce($4::timestamptz, now()),
    taken = LEAST(EXCLUDED.burst, b.tokens + EXTRACT(EPOCH FROM coalesce($4::timestamptz, now()) - b.updated_at) * EXCLUDED.per_second) >= 1,
    tokens = LEAST(EXCLUDED.burst, b.tokens + EXTRACT(EPOCH FROM coalesce($4::timestamptz, now()) - b.updated_at) * EXCLUDED.per_second)
        - CASE WHEN LEAST(EXCLUDED.burst, b.tokens + EXTRACT(EPOCH FROM coalesce($4::timestamptz, now()) - b.updated_at) * EXCLUDED.per_second) >= 1
               THEN 1 ELSE 0 END
RETURNING key, taken, tokens, per_second`

// reserveNotifySQL is reserveSQL telling every instance that a budget was
// spent from (see Watched): pg_notify is sent when the statement commits.
const reserveNotifySQL = `WITH r AS (` + reserveSQL + `)
SELECT r.key, r.taken, r.tokens, r.per_second FROM r CROSS JOIN (SELECT pg_notify('` + Channel + `', '')) AS n`

// checkSQL is the seconds until the emptiest of the keys' buckets holds a
// whole token again (0: every one has one), spending nothing. A key with
// no row is a full bucket.
const checkSQL = `SELECT coalesce(max((1 - t) / per_second) FILTER (WHERE t < 1), 0) FROM (
    SELECT LEAST(burst, tokens + EXTRACT(EPOCH FROM coalesce($2::timestamptz, now()) - updated_at) * per_second) AS t, per_second
    FROM failure_budgets WHERE key = ANY($1::text[])) AS b`

// refundSQL gives one token back to each key's bucket, locking the rows in
// key order first (see reserveSQL).
const refundSQL = `UPDATE failure_budgets b SET tokens = LEAST(b.burst, b.tokens + 1)
FROM (SELECT key FROM failure_budgets WHERE key = ANY($1::text[]) ORDER BY key FOR UPDATE) AS locked
WHERE b.key = locked.key`

// Reserve implements Store.
func (p *Postgres) Reserve(ctx context.Context, charges []Charge) (time.Duration, error) {
	keys := make([]string, len(charges))
	bursts := make([]float64, len(charges))
	rates := make([]float64, len(charges))
	for i, c := range charges {
		keys[i], bursts[i], rates[i] = digest(c.Key), float64(c.Limit.Burst), c.Limit.perSecond()
	}
	var taken []string
	var wait time.Duration
	err := retryContention(func() error {
		taken, wait = taken[:0], 0
		rows, err := p.db.QueryContext(ctx, reserveNotifySQL, keys, bursts, rates, p.at())
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		for rows.Next() {
			var key string
			var ok bool
			var tokens, rate float64
			if err := rows.Scan(&key, &ok, &tokens, &rate); err != nil {
				return err
			}
			if ok {
				taken = append(taken, key)
			} else {
				wait = max(wait, waitFor(tokens, rate))
			}
		}
		return rows.Err()
	})
	if err != nil {
		return 0, fmt.Errorf("reserve failure budget: %w", err)
	}
	if wait > 0 && len(taken) > 0 { // refused: give back what was taken
		if err := p.refund(ctx, taken); err != nil {
			return 0, err
		}
	}
	return wait, nil
}

// retryContention runs one statement of this store, and once more when
// Postgres aborted it to break a deadlock or a serialization conflict.
// Each statement is its own transaction and locks its rows in key order,
// so two of this store's statements cannot deadlock each other; another
// writer of failure_budgets still could, and an aborted statement changed
// nothing, so running it again is safe. A second abort is returned (the
// API answers it 503 with Retry-After, never 500).
func retryContention(run func() error) error {
	err := run()
	if database.IsContention(err) {
		err = run()
	}
	return err
}

func (p *Postgres) refund(ctx context.Context, keys []string) error {
	err := retryContention(func() error {
		_, err := p.db.ExecContext(ctx, refundSQL, keys)
		return err
	})
	if err != nil {
		return fmt.Errorf("refund failure budget: %w", err)
	}
	return nil
}

// Refund implements Store.
func (p *Postgres) Refund(ctx context.Context, charges []Charge) error {
	keys := make([]string, len(charges))
	for i, c := range charges {
		keys[i] = digest(c.Key)
	}
	return p.refund(ctx, keys)
}

// Check implements Store.
func (p *Postgres) Check(ctx context.Context, charges []Charge) (time.Duration, error) {
	keys := make([]string, len(charges))
	for i, c := range charges {
		keys[i] = digest(c.Key)
	}
	var secs float64
	if err := p.db.QueryRowContext(ctx, checkSQL, keys, p.at()).Scan(&secs); err != nil {
		return 0, fmt.Errorf("check failure budget: %w", err)
	}
	if secs <= 0 {
		return 0, nil
	}
	return seconds(secs), nil
}

// PurgeTarget is the housekeeping of the Postgres budgets: a budget
// untouched for an hour is full again, and its row goes (a periodic job,
// whichever store keeps the budgets).
func PurgeTarget() purge.Target {
	return purge.Target{Name: "failure_budgets", Table: "failure_budgets", Key: "key", Column: "updated_at", After: time.Hour}
}
