// Package changes tells an instance's caches that authorization data has
// changed. A generation number is bumped at once by this instance's own
// writes (after they commit) and, for other instances' writes, when
// Postgres delivers a NOTIFY on the oauthd_authz channel (sent by triggers
// on the tables that decide whether a credential or token is still good).
// Cached entries remember the generation they were loaded under and are
// dropped when it moves, and they never live longer than their TTL, which
// bounds staleness if a notification is lost while reconnecting.
package changes

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oauthd/oauthd/internal/bounded"
	"github.com/oauthd/oauthd/internal/flight"
)

// Channel is the NOTIFY channel the triggers of migration 00011 use.
const Channel = "oauthd_authz"

// Feed is the generation counter.
type Feed struct{ gen atomic.Uint64 }

// NewFeed returns a feed at generation 1.
func NewFeed() *Feed {
	f := &Feed{}
	f.gen.Store(1)
	return f
}

// Generation is the current generation.
func (f *Feed) Generation() uint64 { return f.gen.Load() }

// Bump invalidates every entry cached so far.
func (f *Feed) Bump() { f.gen.Add(1) }

// Transactor runs a function in one database transaction (database.DB).
type Transactor interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// BumpAfterCommit wraps tx so that every transaction it commits bumps f:
// this instance's own caches drop what a service changed at once, without
// waiting for the NOTIFY that reaches the other instances.
func BumpAfterCommit(tx Transactor, f *Feed) Transactor { return bumpingTx{tx, f} }

type bumpingTx struct {
	inner Transactor
	feed  *Feed
}

func (t bumpingTx) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	err := t.inner.InTx(ctx, fn)
	if err == nil {
		t.feed.Bump()
	}
	return err
}

// Handlers maps a NOTIFY channel to what to do when it fires.
type Handlers map[string]func()

// Handlers of the feed: a notification on Channel bumps the generation.
func (f *Feed) Handlers() Handlers { return Handlers{Channel: f.Bump} }

// Listen keeps one connection LISTENing on every channel of handlers and
// calls a channel's handler on each notification, and every handler after
// each (re)connection, since notifications may have been missed meanwhile.
// It reconnects after a second when the connection fails and returns when
// ctx ends.
func Listen(ctx context.Context, databaseURL string, log *slog.Logger, handlers Handlers) {
	for ctx.Err() == nil {
		if err := listen(ctx, databaseURL, handlers); err != nil && ctx.Err() == nil {
			log.Warn("change listener disconnected; retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

func listen(ctx context.Context, databaseURL string, handlers Handlers) error {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	for channel := range handlers {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
			return fmt.Errorf("listen %s: %w", channel, err)
		}
	}
	for _, h := range handlers {
		h()
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait: %w", err)
		}
		if h, ok := handlers[n.Channel]; ok {
			h()
		}
	}
}

// Cache holds values loaded under a generation, for at most ttl.
type Cache[K comparable, V any] struct {
	feed    *Feed
	ttl     time.Duration
	entries *bounded.Map[K, entry[V]]
	flights flight.Group[flightKey[K], V]
}

// flightKey is a load in flight: a key under a generation, so a caller
// that starts after a change never takes what was read before it.
type flightKey[K comparable] struct {
	k   K
	gen uint64
}

type entry[V any] struct {
	value V
	gen   uint64
	at    time.Time
}

// NewCache returns a cache of at most limit entries. A nil feed disables it.
func NewCache[K comparable, V any](feed *Feed, ttl time.Duration, limit int) *Cache[K, V] {
	return &Cache[K, V]{feed: feed, ttl: ttl, entries: bounded.New[K, entry[V]](limit)}
}

// Generation is the generation to load under: take it before reading the
// database, so a change committed during the read invalidates the result.
func (c *Cache[K, V]) Generation() uint64 {
	if c == nil || c.feed == nil {
		return 0
	}
	return c.feed.Generation()
}

// Get returns a value still good under the current generation.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	var zero V
	if c == nil || c.feed == nil {
		return zero, false
	}
	e, ok := c.entries.Get(k)
	ok = ok && e.gen == c.feed.Generation() && time.Since(e.at) < c.ttl
	c.entries.Stats().Record(ok)
	if !ok {
		return zero, false
	}
	return e.value, true
}

// Load returns k's value from the cache when it is still good, else from
// load, which concurrent callers of k share: a burst of misses (a cold
// start, an expiry, a change) costs one load, not one per caller. A load
// is shared only by callers that start under the same generation, so one
// that starts after a change (committed here, or heard of) loads afresh.
// A caller whose own context is still live does its own load when the
// shared one failed on its runner's context. load's value is cached
// under the generation taken before it ran. Without a feed nothing is
// cached, but concurrent loads are still shared; a nil cache just loads.
func (c *Cache[K, V]) Load(ctx context.Context, k K, load func(context.Context) (V, error)) (V, error) {
	if c == nil {
		return load(ctx)
	}
	if v, ok := c.Get(k); ok {
		return v, nil
	}
	gen := c.Generation()
	fetch := func() (V, error) {
		// A caller that missed just before the previous load filled the
		// entry and ended finds it here instead of loading again.
		if v, ok := c.peek(k, gen); ok {
			return v, nil
		}
		c.entries.Stats().RecordLoad()
		v, err := load(ctx)
		if err == nil {
			c.Put(k, v, gen)
		}
		return v, err
	}
	v, err, shared := c.flights.Do(flightKey[K]{k, gen}, fetch)
	if shared && err != nil && ctx.Err() == nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return fetch()
	}
	return v, err
}

// peek is Get without counting a lookup, under generation gen.
func (c *Cache[K, V]) peek(k K, gen uint64) (V, bool) {
	var zero V
	if c.feed == nil {
		return zero, false
	}
	e, ok := c.entries.Get(k)
	if !ok || e.gen != gen || gen != c.feed.Generation() || time.Since(e.at) >= c.ttl {
		return zero, false
	}
	return e.value, true
}

// Stats are the cache's lookups (nil when the cache is disabled).
func (c *Cache[K, V]) Stats() *bounded.Stats {
	if c == nil || c.feed == nil {
		return nil
	}
	return c.entries.Stats()
}

// Put stores a value loaded under generation gen.
func (c *Cache[K, V]) Put(k K, v V, gen uint64) {
	if c == nil || c.feed == nil || gen != c.feed.Generation() {
		return
	}
	c.entries.Put(k, entry[V]{value: v, gen: gen, at: time.Now()})
}
