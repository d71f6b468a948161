package budget_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oauthd/oauthd/internal/budget"
	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/testdb"
	"github.com/oauthd/oauthd/internal/testredis"
)

// stores are two stores on one backing store: two instances of oauthd.
func stores(t *testing.T, kind string) (budget.Store, budget.Store) {
	t.Helper()
	switch kind {
	case "postgres":
		url := testdb.New(t)
		open := func() budget.Store {
			db, err := database.Open(url, database.Options{MaxOpenConns: 20})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			if _, err := database.Migrate(context.Background(), db); err != nil {
				t.Fatal(err)
			}
			return budget.NewPostgres(db.SQL())
		}
		return open(), open()
	default:
		url := testredis.Start(t)
		open := func() budget.Store {
			r, err := budget.NewRedis(url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = r.Close() })
			return r
		}
		return open(), open()
	}
}

var tenAMinute = budget.Limit{Burst: 10, Window: time.Minute}

// Both stores: 60 concurrent reservations split over two instances get
// exactly the burst; a refund gives one back; a refusal of a reservation
// over two budgets takes from neither.
func TestStores(t *testing.T) {
	for _, kind := range []string{"postgres", "redis"} {
		t.Run(kind, func(t *testing.T) {
			a, b := stores(t, kind)
			ctx := context.Background()
			key := []budget.Charge{{Key: "client|x|203.0.113.7", Limit: tenAMinute}}
			var ok, refused atomic.Int64
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range 60 {
				s := []budget.Store{a, b}[i%2]
				wg.Go(func() {
					<-start
					wait, err := s.Reserve(ctx, key)
					switch {
					case err != nil:
						t.Error(err)
					case wait == 0:
						ok.Add(1)
					case wait >= time.Second:
						refused.Add(1)
					}
				})
			}
			close(start)
			wg.Wait()
			if ok.Load() < 10 || ok.Load() > 11 || ok.Load()+refused.Load() != 60 {
				t.Fatalf("%d reserved, %d refused; want the burst of 10", ok.Load(), refused.Load())
			}
			if err := a.Refund(ctx, key); err != nil {
				t.Fatal(err)
			}
			if wait, err := b.Reserve(ctx, key); err != nil || wait != 0 {
				t.Fatalf("after a refund: wait %v, %v", wait, err)
			}
			// Two budgets, one spent: refused, and the other keeps its token.
			other := budget.Charge{Key: "address|203.0.113.8", Limit: budget.Limit{Burst: 1, Window: time.Hour}}
			if wait, err := a.Reserve(ctx, append(key, other)); err != nil || wait == 0 {
				t.Fatalf("a reservation over a spent budget: wait %v, %v", wait, err)
			}
			if wait, err := b.Reserve(ctx, []budget.Charge{other}); err != nil || wait != 0 {
				t.Fatalf("the refused reservation took from the other budget: wait %v, %v", wait, err)
			}
		})
	}
}

// Attempts that succeed at once, as a client's token requests from one
// address do, reserve and refund the same two budgets concurrently on
// two instances: none may fail (each statement takes its rows' locks in
// one order, so none deadlocks), and every budget ends where it began.
func TestConcurrentAttemptsOnSharedBudgets(t *testing.T) {
	for _, kind := range []string{"postgres", "redis"} {
		t.Run(kind, func(t *testing.T) {
			a, b := stores(t, kind)
			ctx := context.Background()
			charges := []budget.Charge{{Key: "client|x|203.0.113.7", Limit: budget.Limit{Burst: 1000, Window: time.Minute}},
				{Key: "address|203.0.113.7", Limit: budget.Limit{Burst: 1000, Window: time.Minute}}}
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range 32 {
				s := []budget.Store{a, b}[i%2]
				wg.Go(func() {
					<-start
					for range 20 {
						if wait, err := s.Reserve(ctx, charges); err != nil || wait > 0 {
							t.Errorf("reserve: wait %v, %v", wait, err)
							return
						}
						if err := s.Refund(ctx, charges); err != nil {
							t.Errorf("refund: %v", err)
							return
						}
					}
				})
			}
			close(start)
			wg.Wait()
		})
	}
}

// A statement another writer of failure_budgets deadlocks with is run once
// more, not returned: here a transaction holds the later of two budgets'
// rows while Reserve, which has taken the earlier, waits for it, and then
// asks for the earlier. Postgres aborts Reserve's statement (the one that
// has waited longest checks first); Reserve runs it again and succeeds
// once the transaction ends.
func TestReserveRunsADeadlockVictimAgain(t *testing.T) {
	ctx := context.Background()
	url := testdb.New(t)
	db, err := database.Open(url, database.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	store := budget.NewPostgres(db.SQL())
	charges := []budget.Charge{{Key: "client|x|203.0.113.7", Limit: tenAMinute}, {Key: "address|203.0.113.7", Limit: budget.Address}}
	if _, err := store.Reserve(ctx, charges); err != nil { // the rows exist from here on
		t.Fatal(err)
	}
	digests := []string{digestOf(charges[0].Key), digestOf(charges[1].Key)}
	slices.Sort(digests)
	first, second := digests[0], digests[1]

	other, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Close(ctx) }()
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	// This transaction never checks for the deadlock itself in the test's
	// time, so Reserve's statement is the victim Postgres picks.
	if _, err := tx.Exec(ctx, "SET LOCAL deadlock_timeout = '10min'"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT 1 FROM failure_budgets WHERE key = $1 FOR UPDATE", second); err != nil {
		t.Fatal(err)
	}
	reserved := make(chan error, 1)
	go func() {
		wait, err := store.Reserve(ctx, charges)
		if err == nil && wait != 0 {
			err = fmt.Errorf("refused for %v", wait)
		}
		reserved <- err
	}()
	// Reserve holds the first row and waits for the second.
	for waiting := false; !waiting; {
		if err := db.SQL().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%INSERT INTO failure_budgets%')`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		runtime.Gosched()
	}
	// Asking for the first row closes the cycle; it is granted once
	// Postgres aborts Reserve's statement.
	if _, err := tx.Exec(ctx, "SELECT 1 FROM failure_budgets WHERE key = $1 FOR UPDATE", first); err != nil {
		t.Fatalf("the other transaction was the deadlock's victim: %v", err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-reserved; err != nil {
		t.Fatalf("Reserve after a deadlock: %v, want it run again and granted", err)
	}
}

func digestOf(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}
