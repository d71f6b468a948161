// Package flight shares work in flight: concurrent callers that need the
// same thing done (a credential loaded, a secret checked with bcrypt, a
// last-use time written) wait for one of them to do it and all take its
// result, so a burst of identical misses costs one query or one hash.
// It is golang.org/x/sync/singleflight with typed keys and values, so the
// hot paths build no string key per call.
package flight

import "sync"

// Group runs at most one fn per key at a time.
type Group[K comparable, V any] struct {
	mu    sync.Mutex
	calls map[K]*call[V]
}

type call[V any] struct {
	done chan struct{}
	v    V
	err  error
}

// Do runs fn for k unless a call for k is already running, in which case
// it waits for that call and returns its result; shared reports that the
// result came from another caller's fn. Once fn returns, the next Do of k
// runs fn again: callers cache what should last (and fn may look in that
// cache first, for the caller that missed the cache just before the
// running call filled it and ended).
func (g *Group[K, V]) Do(k K, fn func() (V, error)) (v V, err error, shared bool) {
	g.mu.Lock()
	if g.calls == nil {
		g.calls = map[K]*call[V]{}
	}
	if c, ok := g.calls[k]; ok {
		g.mu.Unlock()
		<-c.done
		return c.v, c.err, true
	}
	c := &call[V]{done: make(chan struct{})}
	g.calls[k] = c
	g.mu.Unlock()

	defer func() {
		g.mu.Lock()
		delete(g.calls, k)
		g.mu.Unlock()
		close(c.done)
	}()
	c.v, c.err = fn()
	return c.v, c.err, false
}
