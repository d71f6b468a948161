package oauth2

import (
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// failureLimiter limits failures per key: failed client authentications
// per client id and client address, failed sign-ins per email and
// address, wrong device user codes per user and per address. A key has a
// burst of `burst` failures, refilled over `window`. Only failures spend
// tokens; once they are spent, the key is refused (even with the right
// secret) until one refills, which is what stops guessing.
//
// The address is the client's as the server sees it (see
// OAUTHD_TRUSTED_PROXIES and api.clientIPExtractor). Keyed by client id and address, a guesser on
// one address cannot lock a client out for everyone elsewhere.
// It is per instance (behind a load balancer the effective limit is the
// instance count times this); that bounds online guessing well enough
// against 256-bit secrets and 20^8 user codes.
type failureLimiter struct {
	mu      sync.Mutex
	burst   int
	every   rate.Limit
	entries map[string]*limiterEntry
	swept   time.Time
}

type limiterEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

func newFailureLimiter(burst int, window time.Duration) *failureLimiter {
	return &failureLimiter{burst: burst, every: rate.Every(window / time.Duration(burst)), entries: map[string]*limiterEntry{}}
}

func (l *failureLimiter) entry(key string) *rate.Limiter {
	now := time.Now()
	if now.Sub(l.swept) > time.Minute {
		for k, e := range l.entries {
			if now.Sub(e.seen) > 10*time.Minute {
				delete(l.entries, k)
			}
		}
		l.swept = now
	}
	e, ok := l.entries[key]
	if !ok {
		e = &limiterEntry{lim: rate.NewLimiter(l.every, l.burst)}
		l.entries[key] = e
	}
	e.seen = now
	return e.lim
}

// wait is how many seconds key must wait before its next try (the
// Retry-After): 0 while it has failures left, else at least 1.
func (l *failureLimiter) wait(key string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.entries[key]
	if !ok {
		return 0
	}
	if tokens := e.lim.Tokens(); tokens < 1 {
		return max(int(math.Ceil((1-tokens)/float64(l.every))), 1)
	}
	return 0
}

// fail spends one failure for key.
func (l *failureLimiter) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.entry(key).Allow()
}
