package apitest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a testing.TB that keeps what a helper reports, so the
// helpers' own reporting can be checked without failing the real test.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
	fatal  bool
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Error(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }

func (r *recorder) Fail() { r.Errorf("failed") }

// Fatalf records a fatal failure and unwinds the caller, as testing.T's
// FailNow does (here with a panic the test recovers).
func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.fatal = true
	r.mu.Unlock()
	r.Errorf(format, args...)
	panic(fatalStop{})
}

type fatalStop struct{}

// A racer's Fatal is charged to the test under the racer's name and ends
// that racer alone: the others run to the end, and the test's own FailNow
// is never called from a racer.
func TestRaceFatalEndsOnlyItsRacer(t *testing.T) {
	rec := &recorder{TB: t}
	var mu sync.Mutex
	finished := map[int]bool{}
	Race(rec, 5, func(i int, t testing.TB) {
		if i == 3 {
			t.Fatalf("boom %d", i)
		}
		mu.Lock()
		finished[i] = true
		mu.Unlock()
	})
	if len(finished) != 4 || finished[3] {
		t.Errorf("finished racers %v, want all but 3", finished)
	}
	if len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "racer 3") || !strings.Contains(rec.errors[0], "boom 3") {
		t.Errorf("reported %q, want one error naming racer 3", rec.errors)
	}
	if rec.fatal {
		t.Error("the racer's Fatal reached the test's own Fatal")
	}
}

// A goroutine's Skip is a failure that stops the goroutine.
func TestGoSkipIsAFailure(t *testing.T) {
	rec := &recorder{TB: t}
	reached := false
	Go(rec, "worker", func(t testing.TB) {
		t.Skip("no")
		reached = true
	})()
	if reached || len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "worker") {
		t.Errorf("after Skip: reached %v, reported %q", reached, rec.errors)
	}
}

func TestEventually(t *testing.T) {
	t.Run("returns once the check holds", func(t *testing.T) {
		tries := 0
		Eventually(t, time.Minute, func() error {
			if tries++; tries < 3 {
				return errors.New("not yet")
			}
			return nil
		})
		if tries != 3 {
			t.Errorf("%d tries, want 3", tries)
		}
	})
	t.Run("fails with the last error", func(t *testing.T) {
		rec := &recorder{TB: t}
		func() {
			defer func() {
				if p := recover(); p != nil && p != (fatalStop{}) {
					panic(p)
				}
			}()
			n := 0
			Eventually(rec, 30*time.Millisecond, func() error { n++; return fmt.Errorf("attempt %d", n) })
		}()
		if !rec.fatal || len(rec.errors) != 1 || !strings.Contains(rec.errors[0], "attempt") {
			t.Errorf("reported %q (fatal %v)", rec.errors, rec.fatal)
		}
	})
}
