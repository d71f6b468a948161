package budget_test

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthd/oauthd/internal/budget"
	"github.com/oauthd/oauthd/internal/changes"
	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/testdb"
)

// Check spends nothing, in both stores: a full budget says 0 however often
// it is asked (an untouched key too), a spent one says how long until it
// has a failure again, on either instance.
func TestCheckSpendsNothing(t *testing.T) {
	for _, kind := range []string{"postgres", "redis"} {
		t.Run(kind, func(t *testing.T) {
			a, b := stores(t, kind)
			ctx := context.Background()
			charges := []budget.Charge{{Key: "client|y|203.0.113.8", Limit: tenAMinute}, {Key: "address|203.0.113.8", Limit: budget.Limit{Burst: 30, Window: time.Minute}}}
			for i := 0; i < 25; i++ {
				if wait, err := a.Check(ctx, charges); err != nil || wait != 0 {
					t.Fatalf("check %d of an untouched budget: %v %v", i, wait, err)
				}
			}
			for i := 0; i < 10; i++ {
				if wait, err := b.Reserve(ctx, charges); err != nil || wait != 0 {
					t.Fatalf("reservation %d after the checks: %v %v", i+1, wait, err)
				}
				if wait, err := a.Check(ctx, charges); err != nil || (i < 9) != (wait == 0) {
					t.Fatalf("check after %d reservations: %v %v", i+1, wait, err)
				}
			}
			for _, s := range []budget.Store{a, b} {
				if wait, err := s.Check(ctx, charges); err != nil || wait < time.Second || wait > 6*time.Second {
					t.Fatalf("check of the spent budget: %v %v, want the seconds until it refills one (6 s at most)", wait, err)
				}
			}
			// A refund makes it usable again; the address's own budget alone is not spent.
			if err := a.Refund(ctx, charges); err != nil {
				t.Fatal(err)
			}
			if wait, err := b.Check(ctx, charges); err != nil || wait != 0 {
				t.Fatalf("check after a refund: %v %v", wait, err)
			}
		})
	}
}

// countingStore counts the checks that reach the store.
type countingStore struct {
	budget.Store
	checks atomic.Int64
}

func (c *countingStore) Check(ctx context.Context, charges []budget.Charge) (time.Duration, error) {
	c.checks.Add(1)
	return c.Store.Check(ctx, charges)
}

// budget.Watched answers a budget with failures left from memory while
// nothing is reserved; a reservation on another instance reaches it by
// NOTIFY and it reads again, so a budget spent there is spent here.
func TestWatchedHearsOtherInstances(t *testing.T) {
	url := testdb.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	open := func() *countingStore {
		db, err := database.Open(url, database.Options{MaxOpenConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		if _, err := database.Migrate(ctx, db); err != nil {
			t.Fatal(err)
		}
		return &countingStore{Store: budget.NewPostgres(db.SQL())}
	}
	onA, onB := open(), open()
	a, b := budget.NewWatched(onA), budget.NewWatched(onB)
	heard := make(chan struct{}, 100)
	listening := changes.Handlers{budget.Channel: func() {
		b.Handlers()[budget.Channel]()
		heard <- struct{}{}
	}}
	go changes.Listen(ctx, url, slog.New(slog.NewTextHandler(io.Discard, nil)), listening)
	wait := func(what string) {
		t.Helper()
		select {
		case <-heard:
		case <-time.After(30 * time.Second):
			t.Fatalf("instance b never heard %s", what)
		}
	}
	wait("its listener connect") // Listen calls every handler once connected

	charges := []budget.Charge{{Key: "client|z|198.51.100.9", Limit: tenAMinute}}
	for i := 0; i < 20; i++ {
		if w, err := b.Check(ctx, charges); err != nil || w != 0 {
			t.Fatalf("check %d: %v %v", i, w, err)
		}
	}
	if n := onB.checks.Load(); n != 1 {
		t.Fatalf("20 checks of a budget nobody spent from read the database %d times, want once", n)
	}
	for i := 0; i < 10; i++ {
		if w, err := a.Reserve(ctx, charges); err != nil || w != 0 {
			t.Fatalf("reservation %d on a: %v %v", i+1, w, err)
		}
	}
	wait("a's reservations")
	w, err := b.Check(ctx, charges)
	if err != nil || w == 0 {
		t.Fatalf("b's check after a spent the budget: %v %v, want a wait", w, err)
	}
	// A spent budget is read every time, never remembered.
	before := onB.checks.Load()
	if w, _ := b.Check(ctx, charges); w == 0 || onB.checks.Load() != before+1 {
		t.Fatalf("second check of the spent budget: wait %v, %d reads", w, onB.checks.Load()-before)
	}
	// The instance that reserves forgets at once, without waiting to hear itself.
	other := []budget.Charge{{Key: "client|w|198.51.100.9", Limit: tenAMinute}}
	if w, err := a.Check(ctx, other); err != nil || w != 0 {
		t.Fatal(w, err)
	}
	for i := 0; i < 10; i++ {
		if _, err := a.Reserve(ctx, other); err != nil {
			t.Fatal(err)
		}
	}
	if w, err := a.Check(ctx, other); err != nil || w == 0 {
		t.Fatalf("a's own check after spending: %v %v", w, err)
	}
}
