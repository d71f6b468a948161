// Package bounded is a concurrency-safe map with a size limit, for the
// per-instance caches on the hot paths. When it is full it starts afresh
// rather than choosing victims: the entries still in use come back after
// one more load, and no add ever scans the map.
package bounded

import (
	"sync"
	"sync/atomic"
)

// Map holds at most limit entries.
type Map[K comparable, V any] struct {
	mu      sync.Mutex
	entries map[K]V
	limit   int
	stats   Stats
}

// Stats counts a cache's lookups, for the metrics. The cache records each
// lookup itself (Record), since only it knows whether an entry it found is
// still good.
type Stats struct{ hits, misses, loads atomic.Uint64 }

// Record counts one lookup.
func (s *Stats) Record(hit bool) {
	if hit {
		s.hits.Add(1)
	} else {
		s.misses.Add(1)
	}
}

// Hits is the number of lookups that found a good entry.
func (s *Stats) Hits() uint64 { return s.hits.Load() }

// Misses is the number of lookups that did not.
func (s *Stats) Misses() uint64 { return s.misses.Load() }

// RecordLoad counts one load: the work a miss costs (a database read, a
// bcrypt comparison), done once for all the misses that wait for it.
func (s *Stats) RecordLoad() { s.loads.Add(1) }

// Loads is the number of loads done.
func (s *Stats) Loads() uint64 {
	if s == nil {
		return 0
	}
	return s.loads.Load()
}

// Stats are the lookups recorded for this map.
func (m *Map[K, V]) Stats() *Stats { return &m.stats }

// New returns an empty map of at most limit entries.
func New[K comparable, V any](limit int) *Map[K, V] {
	return &Map[K, V]{entries: map[K]V{}, limit: limit}
}

// Get returns the value stored for k.
func (m *Map[K, V]) Get(k K) (V, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.entries[k]
	return v, ok
}

// Clear drops every entry.
func (m *Map[K, V]) Clear() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.entries)
}

// Put stores v for k.
func (m *Map[K, V]) Put(k K, v V) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.entries) >= m.limit {
		clear(m.entries)
	}
	m.entries[k] = v
}
