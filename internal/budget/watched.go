package budget

import (
	"context"
	"strings"
	"time"

	"github.com/oauthd/oauthd/internal/changes"
)

// Channel is the NOTIFY channel a reservation in the Postgres store sends
// on when it commits.
const Channel = "oauthd_budgets"

// Watched is a Postgres store whose Check is answered from memory while
// nothing was reserved since it last read the budgets: a budget only
// shrinks when a failure is reserved, and every reservation, on any
// instance, tells every instance (Channel; give Handlers to
// changes.Listen), which forgets what it read. An answer read from the
// database is kept for at most checkTTL, the bound should a notification
// be lost (the same second as the caches of clients and grants). Only
// "a failure left" is kept; a spent budget is read again each time.
//
// So a client that authenticates with a secret this instance verified
// before costs no database round trip for its budgets, while a guesser's
// first failure anywhere makes every instance read them again, long before
// the budget is spent.
type Watched struct {
	Store
	feed  *changes.Feed
	clear *changes.Cache[string, struct{}]
}

const (
	checkTTL       = time.Second
	checkCacheSize = 10000
)

// NewWatched wraps a store whose reservations notify on Channel when they
// commit (the Postgres store does).
func NewWatched(p Store) *Watched {
	feed := changes.NewFeed()
	return &Watched{Store: p, feed: feed, clear: changes.NewCache[string, struct{}](feed, checkTTL, checkCacheSize)}
}

// Handlers forget every remembered answer when any instance reserves.
func (w *Watched) Handlers() changes.Handlers { return changes.Handlers{Channel: w.feed.Bump} }

// Reserve implements Store; this instance forgets at once, before the
// notification comes back.
func (w *Watched) Reserve(ctx context.Context, charges []Charge) (time.Duration, error) {
	w.feed.Bump()
	wait, err := w.Store.Reserve(ctx, charges)
	w.feed.Bump()
	return wait, err
}

// Check implements Store.
func (w *Watched) Check(ctx context.Context, charges []Charge) (time.Duration, error) {
	key := chargesKey(charges)
	if _, ok := w.clear.Get(key); ok {
		return 0, nil
	}
	gen := w.clear.Generation()
	wait, err := w.Store.Check(ctx, charges)
	if err == nil && wait == 0 {
		w.clear.Put(key, struct{}{}, gen)
	}
	return wait, err
}

func chargesKey(charges []Charge) string {
	if len(charges) == 1 {
		return charges[0].Key
	}
	var b strings.Builder
	for i, c := range charges {
		if i > 0 {
			b.WriteByte(0)
		}
		b.WriteString(c.Key)
	}
	return b.String()
}
