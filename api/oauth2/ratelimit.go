package oauth2

import (
	"context"
	"time"

	"github.com/oauthd/oauthd/internal/budget"
)

// The budgets of failures that stop guessing, kept in the store every
// instance shares (Postgres, or Redis when configured; see package
// budget). Each attempt that checks a secret or a password, or looks up a
// guessable code spends from two budgets at once: its own (per client id
// and address, per email and address, per user, per address for the
// connection pages) and its address's budget
// for failures of any kind, which unknown client ids and unknown emails
// spend too. A success gives both back. Once either is spent the attempt
// is refused, even with the right secret, with 429 and Retry-After, until
// it refills. The address is the client's as OAUTHD_TRUSTED_PROXIES
// defines it (see api.clientIPExtractor), so a guesser on one address
// cannot lock a client out for everyone elsewhere.
var (
	clientAuthBudget = budget.Limit{Burst: 10, Window: time.Minute}
	signInBudget     = budget.Limit{Burst: 10, Window: time.Minute}
	deviceUserBudget = budget.Limit{Burst: 10, Window: time.Minute}
	// connectBudget is bad, replayed or misdirected connection links and
	// provider answers (the /connect pages) per address.
	connectBudget = budget.Limit{Burst: 10, Window: time.Minute}
	// addressBudget is every failure from one address, whatever it tried
	// (the console's password form spends from it too).
	addressBudget = budget.Address
)

// attempt is a reservation of failures for one slow check: give it back
// with succeeded when the check passes; a failure keeps it spent.
type attempt struct {
	h       *Handler
	charges []budget.Charge
}

// reserve spends one failure from key's budget (of limit) and from the
// address's, before the check runs. wait > 0 means refused: the seconds
// to say in Retry-After.
func (h *Handler) reserve(ctx context.Context, address, key string, limit budget.Limit) (*attempt, int, error) {
	return h.reserveCharges(ctx, h.charges(address, key, limit))
}

// charges are key's budget (of limit) and the address's.
func (h *Handler) charges(address, key string, limit budget.Limit) []budget.Charge {
	return []budget.Charge{{Key: key, Limit: limit}, {Key: budget.AddressKey(address), Limit: addressBudget}}
}

// reserveCharges is reserve of charges made by h.charges.
func (h *Handler) reserveCharges(ctx context.Context, charges []budget.Charge) (*attempt, int, error) {
	a := &attempt{h: h, charges: charges}
	wait, err := h.d.Budgets.Reserve(ctx, a.charges)
	if err != nil {
		return nil, 0, err
	}
	if wait > 0 {
		return nil, waitSeconds(wait), nil
	}
	return a, 0, nil
}

// waitSeconds is a wait in whole seconds, rounded up (Retry-After).
func waitSeconds(wait time.Duration) int { return int((wait + time.Second - 1) / time.Second) }

// succeeded gives the reserved failures back.
func (a *attempt) succeeded(ctx context.Context) error {
	return a.h.d.Budgets.Refund(ctx, a.charges)
}
