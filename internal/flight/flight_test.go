package flight_test

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/oauthd/oauthd/internal/flight"
)

// Callers that arrive while a call for their key runs take its result;
// other keys run on their own; a later call runs again.
func TestDoShares(t *testing.T) {
	var g flight.Group[int, string]
	var runs atomic.Int64
	release := make(chan struct{})
	started := make(chan struct{})
	var wg sync.WaitGroup
	results := make([]string, 16)
	wg.Add(1)
	go func() {
		defer wg.Done()
		results[0], _, _ = g.Do(1, func() (string, error) {
			runs.Add(1)
			close(started)
			<-release
			return "one", nil
		})
	}()
	<-started
	var joined sync.WaitGroup
	for i := 1; i < 16; i++ {
		wg.Add(1)
		joined.Add(1)
		go func() {
			defer wg.Done()
			joined.Done()
			results[i], _, _ = g.Do(1, func() (string, error) { runs.Add(1); return "again", nil })
		}()
	}
	joined.Wait()
	other, _, shared := g.Do(2, func() (string, error) { return "two", nil })
	if other != "two" || shared {
		t.Errorf("another key: %q shared=%v", other, shared)
	}
	close(release)
	wg.Wait()
	// Callers that had not reached Do before the release may have run
	// their own call; every result is one of the two.
	for i, r := range results {
		if r != "one" && r != "again" {
			t.Errorf("caller %d got %q", i, r)
		}
	}
	if results[0] != "one" {
		t.Errorf("the first caller got %q", results[0])
	}
	if runs.Load() > 16 || runs.Load() < 1 {
		t.Errorf("%d runs", runs.Load())
	}
	boom := errors.New("boom")
	if _, err, _ := g.Do(1, func() (string, error) { return "", boom }); !errors.Is(err, boom) {
		t.Errorf("error not returned: %v", err)
	}
	if v, _, _ := g.Do(1, func() (string, error) { return "later", nil }); v != "later" {
		t.Errorf("a later call did not run: %q", v)
	}
}
