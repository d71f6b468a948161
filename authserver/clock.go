package authserver

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oauthd/oauthd/internal/database"
)

// dbClock reads the database's clock from this instance's, so that the
// time in a token's jti and the time revoke-tokens records
// (tokens_valid_after, the database's now()) come from one clock.
//
// Were the jti stamped with the instance's own clock, an instance running d
// ahead of the database would stamp a token issued up to d before a
// revoke-tokens with a later time than the revocation, and the token would
// survive it everywhere; one running behind would refuse tokens issued
// after it. So the instance measures the offset of the database's clock
// from its own: it reads its clock, asks the database for
// clock_timestamp(), and reads its clock again. The database read its
// clock somewhere between the two local readings, so the offset is at
// least (database time - second reading); that lower bound is used. A
// stamp is then never later than the database's clock at the moment of
// issue, and a token issued before a revoke-tokens always compares as
// older than it. The price is one round trip of slack the other way: a
// token issued within it after a revoke-tokens may be refused (the client
// gets another). What the bound does not cover is a step of either clock
// since the last measurement, which is repeated every clockRefresh.
type dbClock struct {
	db    *database.DB
	local func() time.Time

	offset   atomic.Int64 // nanoseconds to add to the local clock
	measured atomic.Int64 // local Unix nanoseconds of the last try; 0: never
	first    sync.Mutex   // the first measurement, which stamps wait for
	busy     atomic.Bool  // a refresh is running
}

const (
	clockRefresh = 10 * time.Second
	clockTimeout = time.Second
)

// Now is the database's time, as this instance can tell it. The first call
// measures (a database that cannot be reached leaves the local clock in
// use until the next try); later ones start a refresh in the background
// when the last measurement is older than clockRefresh.
func (c *dbClock) Now() time.Time {
	if c.measured.Load() == 0 {
		c.first.Lock()
		if c.measured.Load() == 0 {
			c.measure()
		}
		c.first.Unlock()
	}
	now := c.local()
	if now.UnixNano()-c.measured.Load() > int64(clockRefresh) && c.busy.CompareAndSwap(false, true) {
		go func() {
			defer c.busy.Store(false)
			c.measure()
		}()
	}
	return now.Add(time.Duration(c.offset.Load()))
}

func (c *dbClock) measure() {
	ctx, cancel := context.WithTimeout(context.Background(), clockTimeout)
	defer cancel()
	before := c.local()
	var db time.Time
	err := c.db.Conn(ctx).Raw(`SELECT clock_timestamp()`).Row().Scan(&db)
	after := c.local()
	if err == nil {
		c.offset.Store(int64(db.Sub(after)))
	}
	c.measured.Store(max(before.UnixNano(), 1))
}
