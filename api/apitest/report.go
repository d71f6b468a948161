package apitest

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// goroutineT is the reporter of one goroutine that a test started. The
// testing package allows Error and Log from any goroutine but FailNow (and
// so Fatal and Skip) only from the test's own: here they record the
// failure on the test and end this goroutine alone, whose deferred calls
// (a WaitGroup's Done) still run.
type goroutineT struct {
	testing.TB
	name string
}

func (g goroutineT) Error(args ...any) {
	g.Helper()
	g.TB.Error(append([]any{g.name + ":"}, args...)...)
}

func (g goroutineT) Errorf(format string, args ...any) {
	g.Helper()
	g.TB.Errorf("%s: %s", g.name, fmt.Sprintf(format, args...))
}

func (g goroutineT) Fatal(args ...any) {
	g.Helper()
	g.Error(args...)
	runtime.Goexit()
}

func (g goroutineT) Fatalf(format string, args ...any) {
	g.Helper()
	g.Errorf(format, args...)
	runtime.Goexit()
}

func (g goroutineT) FailNow() {
	g.Fail()
	runtime.Goexit()
}

func (g goroutineT) Skip(args ...any) {
	g.Helper()
	g.Fatal(append([]any{"cannot skip from a goroutine:"}, args...)...)
}

func (g goroutineT) Skipf(format string, args ...any) {
	g.Helper()
	g.Fatalf("cannot skip from a goroutine: "+format, args...)
}

func (g goroutineT) SkipNow() { g.Fatal("cannot skip from a goroutine") }

// Go runs fn in a new goroutine with its own reporter (see Race) and
// returns a function that waits for it.
func Go(t testing.TB, name string, fn func(t testing.TB)) (wait func()) {
	var done sync.WaitGroup
	done.Go(func() { fn(goroutineT{TB: t, name: name}) })
	return done.Wait
}

// Race runs fn(i) for i in [0, n) in n goroutines released together from
// one barrier, and returns when all are done. Each gets its own reporter:
// a failure names its racer and is charged to t, and Fatal ends only that
// racer. Requests inside fn go through e.For(t) with the racer's t.
func Race(t testing.TB, n int, fn func(i int, t testing.TB)) {
	t.Helper()
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	for i := range n {
		done.Go(func() {
			ready.Done()
			<-start
			fn(i, goroutineT{TB: t, name: fmt.Sprintf("racer %d", i)})
		})
	}
	ready.Wait()
	close(start)
	done.Wait()
}
