package changes_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthd/oauthd/internal/changes"
)

// A burst of concurrent misses of one key costs one load, whoever arrives
// when; after a change, the next burst costs one load again.
func TestLoadSharesMisses(t *testing.T) {
	feed := changes.NewFeed()
	c := changes.NewCache[string, int](feed, time.Hour, 100)
	var loads atomic.Int64
	burst := func() {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				v, err := c.Load(context.Background(), "k", func(context.Context) (int, error) { return int(loads.Add(1)), nil })
				if err != nil || v == 0 {
					t.Errorf("load: %d, %v", v, err)
				}
			}()
		}
		close(start)
		wg.Wait()
	}
	burst()
	if n := loads.Load(); n != 1 {
		t.Errorf("32 concurrent misses made %d loads, want 1", n)
	}
	feed.Bump()
	burst()
	if n := loads.Load(); n != 2 {
		t.Errorf("after a change, %d loads in all, want 2", n)
	}
	if got := c.Stats().Loads(); got != 2 {
		t.Errorf("the cache counted %d loads, want 2", got)
	}
}

// A caller that starts after a change does not take the result of a load
// that began before it.
func TestLoadAfterChangeDoesNotJoinOlderLoad(t *testing.T) {
	feed := changes.NewFeed()
	c := changes.NewCache[string, string](feed, time.Hour, 100)
	started, release := make(chan struct{}), make(chan struct{})
	old := make(chan string)
	go func() {
		v, _ := c.Load(context.Background(), "k", func(context.Context) (string, error) {
			close(started)
			<-release
			return "before the change", nil
		})
		old <- v
	}()
	<-started
	feed.Bump()
	v, err := c.Load(context.Background(), "k", func(context.Context) (string, error) { return "after the change", nil })
	if err != nil || v != "after the change" {
		t.Errorf("a load after the change got %q, %v", v, err)
	}
	close(release)
	if v := <-old; v != "before the change" {
		t.Errorf("the first caller got %q", v)
	}
	// What was read before the change is not cached over what was read after.
	if v, ok := c.Get("k"); !ok || v != "after the change" {
		t.Errorf("cached %q (%v), want what was read after the change", v, ok)
	}
}
