// Package budget keeps the budgets of failed attempts that stop guessing
// (wrong client secrets, passwords, device user codes), in one store that
// every instance shares: Postgres, or Redis when one is configured. A
// budget is a token bucket: Burst failures, refilled evenly over Window.
//
// An attempt reserves one failure from each of its budgets before the slow
// check (bcrypt) runs, in one atomic step per budget, and gives them back
// when the check succeeds. So concurrent attempts cannot all pass a check
// of the budget and then all be judged, and N instances do not give an
// attacker N budgets.
package budget

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Limit is one kind of budget.
type Limit struct {
	Burst  int
	Window time.Duration
}

func (l Limit) perSecond() float64 { return float64(l.Burst) / l.Window.Seconds() }

// Address is the budget of every failure from one address, whatever it
// tried (a client secret, a sign-in, a device code, a current password):
// every page and endpoint that checks a guessable secret spends from it
// as well as from its own, under AddressKey.
var Address = Limit{Burst: 30, Window: time.Minute}

// AddressKey is the key of address's budget of failures of any kind.
func AddressKey(address string) string { return "address|" + address }

// Charge is one budget an attempt spends from: its key (any text; stores
// keep only a digest) and its limit.
type Charge struct {
	Key   string
	Limit Limit
}

// Store spends and refunds failures, one decision for all instances.
type Store interface {
	// Reserve takes one failure from every charge's budget. When one has
	// none left it takes nothing and says how long until it has (wait>0).
	Reserve(ctx context.Context, charges []Charge) (wait time.Duration, err error)
	// Refund gives back what a successful attempt reserved.
	Refund(ctx context.Context, charges []Charge) error
	// Check spends nothing: it says whether every charge's budget has a
	// failure left (wait 0), else how long until it has. An attempt that
	// needs no slow check (a secret this instance verified before) asks
	// this instead of reserving, so that a spent budget still refuses it.
	Check(ctx context.Context, charges []Charge) (wait time.Duration, err error)
}

// digest is the key a store keeps for a charge.
func digest(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// waitFor is how long a bucket with tokens (below 1) refilling at
// perSecond needs for its next token.
func waitFor(tokens, perSecond float64) time.Duration { return seconds((1 - tokens) / perSecond) }

// seconds is s as a wait: whole seconds, at least one (Retry-After).
func seconds(s float64) time.Duration {
	return max(time.Duration(s*float64(time.Second)).Round(time.Second), time.Second)
}
