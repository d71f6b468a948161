package apitest

import (
	"testing"
	"time"
)

// Eventually calls check until it returns nil, and fails t with check's
// last error when it still fails after within. It is the one way tests wait
// for something that happens in the background (a change reaching another
// instance, a log line written after its response, a server starting)
// instead of sleeping: it returns as soon as the condition holds, and
// within is the promise under test or a generous bound, never a guess of
// how long the work takes. The pause between tries grows from 5 ms to
// 100 ms. check runs on the caller's goroutine, so it may call t.Fatal to
// stop at once on an answer that can never turn good.
func Eventually(t testing.TB, within time.Duration, check func() error) {
	t.Helper()
	deadline := time.Now().Add(within)
	pause := 5 * time.Millisecond
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after %v: %v", within, err)
		}
		time.Sleep(pause)
		pause = min(2*pause, 100*time.Millisecond)
	}
}
