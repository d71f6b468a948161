package connections

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/oauthd/oauthd/internal/fault"
)

// Refreshing. One refresh at a time per connection, across every
// instance: the refresh reads, calls the provider and stores while holding
// the connection's row lock, so a provider that rotates refresh tokens and
// revokes the family on reuse (oauthd itself, Hydra, Google) never sees
// one twice. Whoever waited for the lock finds the winner's result and
// uses it instead of refreshing again. Within one instance, concurrent
// callers share one waiter (singleflight), so a burst does not hold a pool
// connection each. The new refresh token is committed before the new
// access token leaves.

// MinValidity is how long a token handed out must still live; a token
// that expires sooner is refreshed first.
const MinValidity = 5 * time.Minute

// Backoff after transient failures: 30 s, doubling, at most 1 h.
const (
	firstBackoff = 30 * time.Second
	maxBackoff   = time.Hour
)

func backoff(failures int) time.Duration {
	if failures < 1 {
		failures = 1
	}
	d := firstBackoff * time.Duration(math.Pow(2, float64(min(failures-1, 20))))
	return min(d, maxBackoff)
}

// refreshMode says when a refresh is needed.
type refreshMode int

const (
	// ifStale: only when the token lives less than MinValidity (access-token).
	ifStale refreshMode = iota
	// always: unless a refresh completed after the caller asked (refresh).
	always
	// ahead: when the token lives less than RefreshAhead (the background job).
	ahead
)

// isProblem reports whether err is an answer for the caller (a
// fault.Problem), not a failure of oauthd.
func isProblem(err error) bool {
	_, ok := fault.List(err)
	return ok
}

// usable refuses connections that cannot give tokens without a reconnect.
func usable(c *Connection) error {
	switch c.State {
	case StateReady:
		return nil
	case StatePending:
		return ErrNotReady
	}
	return ErrNeedsReconnect.With(fmt.Sprintf("the connection is in state error (%s: %s); POST .../reconnect and open the new authorize_url",
		deref(c.ErrorCode), deref(c.ErrorDetail)))
}

// AccessToken returns a token that lives at least MinValidity more,
// refreshing first when needed. Every read is audited: the read is queued
// for the audit trail's batch writer before the token leaves (see
// audit.Batcher for what that may lose, and when).
func (s *Service) AccessToken(ctx context.Context, tenantID, id uuid.UUID) (*Token, error) {
	// The cached path: the connection as this instance read it less than
	// tokenCacheTTL ago (cache.go), else one read, and no transaction.
	key := tokenKey{tenantID, id}
	c, cached := s.tokens.Get(key)
	if !cached || !c.validFor(s.now(), MinValidity) {
		gen := s.tokens.Generation()
		var err error
		if c, err = s.store.tokenRow(ctx, tenantID, id); err != nil {
			return nil, fmt.Errorf("access token: %w", err)
		}
		if err := usable(c); err != nil {
			return nil, err
		}
		if c.validFor(s.now(), MinValidity) {
			s.tokens.Put(key, c, gen)
		} else if c, err = s.shared(ctx, tenantID, id, ifStale); err != nil {
			return nil, err
		}
	}
	tok, err := s.token(c)
	if err != nil {
		return nil, err
	}
	if err := s.recordRead(ctx, c); err != nil {
		return nil, fmt.Errorf("access token: %w", err)
	}
	return tok, nil
}

// Refresh refreshes now (or takes a refresh that completed after the call
// began) and returns the connection.
func (s *Service) Refresh(ctx context.Context, tenantID, id uuid.UUID) (*Connection, error) {
	c, err := s.store.get(ctx, tenantID, id, false)
	if err != nil {
		return nil, err
	}
	if err := usable(c); err != nil {
		return nil, err
	}
	return s.shared(ctx, tenantID, id, always)
}

// shared runs one refresh for this instance's concurrent callers of the
// same connection and mode.
func (s *Service) shared(ctx context.Context, tenantID, id uuid.UUID, mode refreshMode) (*Connection, error) {
	asked := s.now()
	key := fmt.Sprintf("%s/%s/%d", tenantID, id, mode)
	ch := s.flights.DoChan(key, func() (any, error) {
		// Shared by callers who may go away: it runs to its end on its own
		// clock, bounded by the provider timeout (and the lock wait).
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*s.opts.ProviderTimeout+30*time.Second)
		defer cancel()
		return s.refreshLocked(ctx, tenantID, id, mode, asked)
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*Connection), nil
	}
}

// refreshLocked is the refresh under the row lock.
func (s *Service) refreshLocked(ctx context.Context, tenantID, id uuid.UUID, mode refreshMode, asked time.Time) (*Connection, error) {
	// A turn first, then the database connection the lock needs.
	done, err := s.slots.acquire(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("refresh connection: %w", err)
	}
	defer done()
	var c *Connection
	var outcome error
	var fetched *tokenResult
	var fetchErr error
	called := false
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		outcome = nil
		var err error
		if c, err = s.store.get(ctx, tenantID, id, true); err != nil {
			return err
		}
		if err := usable(c); err != nil {
			outcome = err
			return nil
		}
		now := s.now()
		// The winner's result, for those who waited.
		if mode == ifStale && c.validFor(now, MinValidity) || mode == ahead && c.validFor(now, RefreshAhead) ||
			mode == always && c.RefreshedAt != nil && c.RefreshedAt.After(asked) {
			return nil
		}
		if c.RetryAt != nil && now.Before(*c.RetryAt) {
			outcome = s.inBackoff(c, now, mode)
			return nil
		}
		// A transaction run again after a deadlock must not present the
		// same refresh token twice: it reuses what the first run fetched.
		if !called {
			called = true
			fetched, fetchErr = s.fetchRefresh(ctx, c)
		}
		if fetchErr != nil && !providerOutcome(fetchErr) {
			return fetchErr // the database or the keyring: nothing to record
		}
		failing := c.ErrorCode != nil
		outcome = s.applyRefresh(c, fetched, fetchErr, mode)
		if err := s.store.save(ctx, c); err != nil {
			return err
		}
		return s.recordRefresh(ctx, c, fetchErr, failing)
	})
	if err != nil {
		return nil, fmt.Errorf("refresh connection: %w", err)
	}
	if outcome != nil {
		return nil, outcome
	}
	return c, nil
}

// fetchRefresh presents the refresh token at the provider's refresh URI.
func (s *Service) fetchRefresh(ctx context.Context, c *Connection) (*tokenResult, error) {
	rt, err := s.open(c, c.RefreshToken, "refresh")
	if err != nil {
		return nil, err
	}
	if rt == "" {
		return nil, errNoRefreshToken
	}
	p, err := s.providerFor(ctx, c.TenantID, c.ComponentID)
	if err != nil {
		return nil, err
	}
	cfg := p.config(s.redirectURI(), p.block.RefreshURI())
	r, err := s.callToken(ctx, func(ctx context.Context) (*oauth2.Token, error) {
		// An access token already expired makes the token source refresh.
		return cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: rt, Expiry: time.Unix(1, 0)}).Token()
	})
	if err != nil {
		return nil, err
	}
	r.previousRefresh = rt
	return r, nil
}

var errNoRefreshToken = errors.New("no refresh token held")

// providerOutcome reports whether a refresh failure is the provider's (or
// the missing client's or component's) answer, which the connection records.
func providerOutcome(err error) bool {
	var pe *providerError
	return errors.As(err, &pe) || errors.Is(err, errNoClient) || errors.Is(err, errNoComponent) || errors.Is(err, errNoRefreshToken)
}

// applyRefresh records the outcome of a refresh on c and says what the
// caller gets: nil (c holds a usable token) or the error to answer.
func (s *Service) applyRefresh(c *Connection, r *tokenResult, err error, mode refreshMode) error {
	now := s.now()
	var pe *providerError
	switch {
	case err == nil:
		s.storeTokens(c, r)
		return nil
	case errors.Is(err, errNoClient):
		s.fail(c, CodeOAuthClientDeleted, "the tenant's OAuth client for the component is gone; define one and reconnect")
	case errors.Is(err, errNoComponent):
		s.fail(c, CodeComponentDeleted, "the component is gone, or its descriptor no longer says how to reach the provider")
	case errors.Is(err, errNoRefreshToken):
		s.fail(c, CodeRefreshTokenMissing, "the connection holds no refresh token; reconnect")
	case errors.As(err, &pe) && pe.permanent:
		s.fail(c, CodeReconnectRequired, "the provider refused the refresh: "+pe.text)
	case errors.As(err, &pe):
		c.RefreshFailures++
		retry := now.Add(backoff(c.RefreshFailures))
		code, detail := CodeRefreshFailed, pe.text
		c.ErrorCode, c.ErrorDetail, c.ErrorAt, c.RetryAt, c.UpdatedAt = &code, &detail, &now, &retry, now
		return s.inBackoff(c, now, mode)
	}
	return usable(c)
}

// inBackoff is the answer while no new attempt may be made: the current
// token while it is valid (access-token), else 503 with Retry-After.
func (s *Service) inBackoff(c *Connection, now time.Time, mode refreshMode) error {
	if mode == ifStale && c.validFor(now, 0) {
		return nil
	}
	wait := c.RetryAt.Sub(now)
	p := ErrRefreshBackoff.With(fmt.Sprintf("the provider failed to refresh the token (%s) and no valid token is left; the next attempt is at %s",
		deref(c.ErrorDetail), c.RetryAt.UTC().Format(time.RFC3339)))
	if mode == always {
		p = ErrRefreshBackoff.With(fmt.Sprintf("the provider failed to refresh the token (%s); the next attempt is at %s",
			deref(c.ErrorDetail), c.RetryAt.UTC().Format(time.RFC3339)))
	}
	p.RetryAfter = int(math.Ceil(wait.Seconds()))
	return p
}

// recordRefresh writes the audit events of a refresh attempt: refreshed,
// and recovered when it ends a run of failures; or refresh_failed.
func (s *Service) recordRefresh(ctx context.Context, c *Connection, fetchErr error, wasFailing bool) error {
	if fetchErr == nil {
		if err := s.record(ctx, c, ActionRefreshed, map[string]any{"expires_at": c.ExpiresAt}); err != nil {
			return err
		}
		if wasFailing {
			return s.record(ctx, c, ActionRecovered, nil)
		}
		return nil
	}
	details := map[string]any{"code": deref(c.ErrorCode), "detail": deref(c.ErrorDetail)}
	if c.RetryAt != nil {
		details["retry_at"] = c.RetryAt
		details["failures"] = c.RefreshFailures
	}
	return s.record(ctx, c, ActionRefreshFailed, details)
}

// open decrypts one sealed token of c ("" when none is held).
func (s *Service) open(c *Connection, sealed []byte, what string) (string, error) {
	if sealed == nil || c.TokenKeyID == nil {
		return "", nil
	}
	b, err := s.sealer.Open(sealed, *c.TokenKeyID, aad(c, what))
	if err != nil {
		return "", fmt.Errorf("open %s token: %w", what, err)
	}
	return string(b), nil
}

// token is c's access token as handed out.
func (s *Service) token(c *Connection) (*Token, error) {
	access, err := s.open(c, c.AccessToken, "access")
	if err != nil {
		return nil, err
	}
	if access == "" {
		return nil, ErrNotReady
	}
	return &Token{ConnectionID: c.ID, AccessToken: access, TokenType: deref(c.TokenType), ExpiresAt: c.ExpiresAt,
		Scope: strings.Join(c.Scopes, " ")}, nil
}
