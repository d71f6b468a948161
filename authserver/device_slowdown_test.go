package authserver_test

// RFC 8628 §3.5: every slow_down adds 5 seconds to the interval, for that
// poll and all later ones. The database's clock decides, and the grown
// interval is stored, so every instance agrees. Elapsed time is simulated
// by moving last_polled_at back in the database.

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/authserver"
)

// deviceState is what a device code's row says about polling.
type deviceState struct {
	interval   int
	lastPolled *time.Time
}

func (g *grantsEnv) deviceState(t *testing.T, deviceCode string) deviceState {
	t.Helper()
	var s deviceState
	if err := g.in.db.SQL().QueryRow(`SELECT poll_interval, last_polled_at FROM device_codes WHERE digest = $1`,
		tokenDigest(deviceCode)).Scan(&s.interval, &s.lastPolled); err != nil {
		t.Fatal(err)
	}
	return s
}

// pollAgo moves the device code's last poll back by secs seconds.
func (g *grantsEnv) pollAgo(t *testing.T, deviceCode string, secs int) {
	t.Helper()
	exec(t, g.in.db, `UPDATE device_codes SET last_polled_at = now() - make_interval(secs => $1) WHERE digest = $2`,
		secs, tokenDigest(deviceCode))
}

func TestDeviceSlowDownGrowsInterval(t *testing.T) {
	g := newGrantsEnv(t)
	c := g.client(t)
	ctx := context.Background()
	start, err := g.grants.StartDevice(ctx, c, []string{"tenants.flows.get"})
	if err != nil {
		t.Fatal(err)
	}
	dc := start.DeviceCode
	poll := func() error { _, err := g.grants.PollDevice(ctx, c, dc, true); return err }
	expect := func(step string, want error, interval int) {
		t.Helper()
		if err := poll(); !errors.Is(err, want) {
			t.Fatalf("%s: %v, want %v", step, err, want)
		}
		if got := g.deviceState(t, dc).interval; got != interval {
			t.Fatalf("%s: stored interval %d, want %d", step, got, interval)
		}
	}
	if start.Interval != 5 {
		t.Fatalf("start interval %d", start.Interval)
	}
	expect("first poll", authserver.ErrAuthorizationPending, 5)
	expect("poll at once", authserver.ErrSlowDown, 10)
	// Past the old 5 s but not the new 10 s: still too fast, and it grows again.
	g.pollAgo(t, dc, 7)
	expect("poll after the old interval", authserver.ErrSlowDown, 15)
	g.pollAgo(t, dc, 14)
	expect("poll a second short of the new interval", authserver.ErrSlowDown, 20)
	// Waiting the whole grown interval is fine, and the interval stays grown.
	g.pollAgo(t, dc, 20)
	expect("poll after the new interval", authserver.ErrAuthorizationPending, 20)
	g.pollAgo(t, dc, 5)
	expect("poll after the first interval only", authserver.ErrSlowDown, 25)

	// Another client, or the same client pk named under another tenant,
	// neither polls the code nor touches its interval or poll time.
	before := g.deviceState(t, dc)
	for name, other := range map[string]authserver.Client{
		"other client": g.client(t),
		"other tenant": {TenantID: uuid.New(), PK: c.PK, ClientID: c.ClientID},
	} {
		if _, err := g.grants.PollDevice(ctx, other, dc, true); !errors.Is(err, authserver.ErrInvalidGrant) {
			t.Fatalf("%s: %v", name, err)
		}
		if after := g.deviceState(t, dc); after.interval != before.interval || !after.lastPolled.Equal(*before.lastPolled) {
			t.Fatalf("%s changed the row: %+v -> %+v", name, before, after)
		}
	}

	// Approved after slow_downs: the next poll, however soon, gets the
	// tokens (slow_down is an answer to a pending code only), once.
	user := g.member(t)
	if err := g.grants.DecideDevice(ctx, start.UserCode, user, true); err != nil {
		t.Fatal(err)
	}
	ts, err := g.grants.PollDevice(ctx, c, dc, true)
	if err != nil {
		t.Fatalf("approved poll after slow_down: %v", err)
	}
	if cl := g.parse(t, ts.AccessToken); cl.UserID != user.String() || ts.RefreshToken == "" {
		t.Fatalf("issued %+v claims %+v", ts, cl)
	}
	if got := g.deviceState(t, dc).interval; got != 25 {
		t.Fatalf("interval %d after the approved poll, want 25", got)
	}
	expect("poll after redeeming", authserver.ErrInvalidGrant, 25)
}

// TestDeviceSlowDownUnderConcurrency races polls on one code: they queue
// on the row, so exactly one is first (pending) and every other one is a
// slow_down whose 5 s is added — none lost. The interval is made long
// first so that how long the race takes cannot matter.
func TestDeviceSlowDownUnderConcurrency(t *testing.T) {
	g := newGrantsEnv(t)
	c := g.client(t)
	ctx := context.Background()
	start, err := g.grants.StartDevice(ctx, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	const base, n = 3600, 10
	exec(t, g.in.db, `UPDATE device_codes SET poll_interval = $1 WHERE digest = $2`, base, tokenDigest(start.DeviceCode))
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = g.grants.PollDevice(ctx, c, start.DeviceCode, true) })
	}
	wg.Wait()
	pending, slow := 0, 0
	for i, err := range errs {
		switch {
		case errors.Is(err, authserver.ErrAuthorizationPending):
			pending++
		case errors.Is(err, authserver.ErrSlowDown):
			slow++
		default:
			t.Fatalf("poll %d: %v", i, err)
		}
	}
	if pending != 1 || slow != n-1 {
		t.Fatalf("%d pending, %d slow_down; want 1 and %d", pending, slow, n-1)
	}
	if got := g.deviceState(t, start.DeviceCode).interval; got != base+5*(n-1) {
		t.Fatalf("interval %d after %d slow_downs, want %d", got, n-1, base+5*(n-1))
	}
}
