package connections

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/oauth2"
)

// The browser dance. authorize_url (/connect/<capability>) needs no oauthd
// sign-in: whoever holds it may connect an account, once, within LinkTTL.
// Opening it spends it and sends the browser to the provider with a fresh
// state and a PKCE S256 challenge; the browser also gets a cookie whose
// digest is stored beside the state, so the provider's answer is accepted
// only in the browser that started the dance (the answer cannot be
// planted into someone else's browser, RFC 9700 §4.7). The answer
// (/connect/callback) spends the state.

// maxCallbackValue bounds the code, state and error texts a callback may carry.
const maxCallbackValue = 2048

// Begin spends an authorize_url capability and returns where to send the
// browser: the provider's auth_uri with response_type=code, the tenant's
// client_id, redirect_uri, scope, state and code_challenge.
// browserNonce is the random value of the cookie the page sets.
func (s *Service) Begin(ctx context.Context, capability, browserNonce string) (string, error) {
	if capability == "" || len(capability) > maxCallbackValue {
		return "", ErrLinkInvalid
	}
	var target string
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		c, err := s.store.byLink(ctx, digest(capability), s.now())
		if err != nil {
			return err
		}
		p, err := s.providerFor(ctx, c.TenantID, c.ComponentID)
		if err != nil {
			// Not spent: the tenant may fix its client and the owner retry.
			return reachProblem(err, c.TenantID, c.ComponentID)
		}
		state, verifier := randomToken(), oauth2.GenerateVerifier()
		exp := s.now().Add(s.opts.LinkTTL)
		sealed, keyID := s.sealer.Seal([]byte(verifier), aad(c, "verifier"))
		c.LinkDigest, c.LinkExpiresAt = nil, nil
		c.StateDigest, c.BrowserDigest, c.Verifier, c.VerifierKeyID, c.StateExpiresAt = digest(state), digest(browserNonce), sealed, &keyID, &exp
		c.UpdatedAt = s.now()
		if err := s.store.save(ctx, c); err != nil {
			return err
		}
		target = p.config(s.redirectURI(), p.block.TokenURI).AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("begin connection: %w", err)
	}
	return target, nil
}

// Callback is the provider's answer as the browser brought it.
type Callback struct {
	State, Code, Error, ErrorDescription string
	BrowserNonce                         string
}

// Complete takes the provider's answer: it spends the state, exchanges the
// code at token_uri (PKCE verifier, the descriptor's client authentication)
// and stores the sealed tokens. The connection comes back whatever
// happened at the provider; ErrorCode says whether it failed and why.
// Only a state that is unknown, spent, expired or from another browser
// is an error, and then nothing is stored.
func (s *Service) Complete(ctx context.Context, cb Callback) (*Connection, error) {
	if cb.State == "" || len(cb.State) > maxCallbackValue {
		return nil, ErrStateInvalid
	}
	// The exchange calls the provider inside the transaction: a turn of
	// the connection's tenant first (slots.go), found without a lock.
	tenantID, err := s.store.tenantByState(ctx, digest(cb.State), s.now())
	if err != nil {
		return nil, fmt.Errorf("complete connection: %w", err)
	}
	done, err := s.slots.acquire(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("complete connection: %w", err)
	}
	defer done()
	var c *Connection
	var exchanged *tokenResult
	var exchangeErr error
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if c, err = s.store.byState(ctx, digest(cb.State), s.now()); err != nil {
			return err
		}
		if subtle.ConstantTimeCompare(c.BrowserDigest, digest(cb.BrowserNonce)) != 1 || cb.BrowserNonce == "" {
			return ErrWrongBrowser
		}
		verifier, err := s.openVerifier(c)
		if err != nil {
			return err
		}
		c.StateDigest, c.BrowserDigest, c.Verifier, c.VerifierKeyID, c.StateExpiresAt = nil, nil, nil, nil, nil
		switch {
		case cb.Error != "":
			code := CodeAuthorizationFailed
			if cb.Error == "access_denied" {
				code = CodeAccessDenied
			}
			s.authorizationFailed(c, code, providerText(cb.Error, cb.ErrorDescription))
		case cb.Code == "" || len(cb.Code) > maxCallbackValue:
			s.authorizationFailed(c, CodeAuthorizationFailed, "the provider sent the browser back without an authorization code")
		default:
			// A retried transaction must not present the code twice: the
			// provider would see a replay (and oauthd, for one, revokes).
			if exchanged == nil && exchangeErr == nil {
				exchanged, exchangeErr = s.exchange(ctx, c, cb.Code, verifier)
			}
			if exchangeErr != nil && !providerOutcome(exchangeErr) {
				return exchangeErr // the database or the keyring: nothing spent, nothing stored
			}
			s.applyExchange(c, exchanged, exchangeErr)
		}
		if err := s.store.save(ctx, c); err != nil {
			return err
		}
		if c.State == StateReady && c.ErrorCode == nil {
			return s.record(ctx, c, ActionConnected, map[string]any{"scopes": c.Scopes})
		}
		return s.record(ctx, c, ActionAuthorizationFailed, map[string]any{"code": deref(c.ErrorCode), "detail": deref(c.ErrorDetail)})
	})
	if err != nil {
		return nil, fmt.Errorf("complete connection: %w", err)
	}
	return c, nil
}

func (s *Service) openVerifier(c *Connection) (string, error) {
	if c.Verifier == nil || c.VerifierKeyID == nil {
		return "", ErrStateInvalid
	}
	v, err := s.sealer.Open(c.Verifier, *c.VerifierKeyID, aad(c, "verifier"))
	if err != nil {
		return "", fmt.Errorf("open verifier: %w", err)
	}
	return string(v), nil
}

// exchange redeems the code at the provider's token_uri.
func (s *Service) exchange(ctx context.Context, c *Connection, code, verifier string) (*tokenResult, error) {
	p, err := s.providerFor(ctx, c.TenantID, c.ComponentID)
	if err != nil {
		return nil, err
	}
	cfg := p.config(s.redirectURI(), p.block.TokenURI)
	return s.callToken(ctx, func(ctx context.Context) (*oauth2.Token, error) {
		return cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	})
}

// applyExchange records the outcome of the code exchange on c.
func (s *Service) applyExchange(c *Connection, r *tokenResult, err error) {
	switch {
	case errors.Is(err, errNoClient):
		s.authorizationFailed(c, CodeOAuthClientDeleted, "the tenant's OAuth client for the component was deleted during the authorization")
	case errors.Is(err, errNoComponent):
		s.authorizationFailed(c, CodeComponentDeleted, "the component was deleted, or no longer says how to reach the provider, during the authorization")
	case err != nil:
		var pe *providerError
		if !errors.As(err, &pe) {
			pe = classify(err)
		}
		s.authorizationFailed(c, CodeAuthorizationFailed, "the code exchange failed: "+pe.text)
	case r.refresh == "":
		// elastic.io: "A refresh_token is required for every OAuth 2.0 key".
		s.fail(c, CodeRefreshTokenMissing, "the provider issued no refresh token, so the connection could not be kept fresh; "+
			"ask for offline access (many providers need a scope such as offline_access) and reconnect")
	default:
		s.storeTokens(c, r)
		now := s.now()
		c.State, c.ConnectedAt = StateReady, &now
	}
}

// authorizationFailed records a failed authorization. A connection that
// holds working tokens (a reconnect that went wrong) keeps them and stays
// ready, with the failure in its error; any other goes to state error.
func (s *Service) authorizationFailed(c *Connection, code, detail string) {
	if c.State == StateReady && c.AccessToken != nil {
		now := s.now()
		c.ErrorCode, c.ErrorDetail, c.ErrorAt, c.UpdatedAt = &code, &detail, &now, now
		return
	}
	s.fail(c, code, detail)
}

// storeTokens seals a token answer into c: the refresh token the provider
// rotated, or the one c holds when the answer brought none; the error and
// backoff are cleared.
func (s *Service) storeTokens(c *Connection, r *tokenResult) {
	refresh := r.refresh
	if refresh == "" {
		refresh = r.previousRefresh
	}
	// Both are sealed again, together, with the current key: one key id
	// describes the pair.
	access, keyID := s.sealer.Seal([]byte(r.access), aad(c, "access"))
	c.RefreshToken, _ = s.sealer.Seal([]byte(refresh), aad(c, "refresh"))
	now := s.now()
	c.AccessToken, c.TokenKeyID, c.TokenType, c.ExpiresAt = access, &keyID, &r.tokenType, r.expiresAt
	if r.scope != "" {
		c.Scopes = strings.Fields(r.scope)
	}
	c.ErrorCode, c.ErrorDetail, c.ErrorAt, c.RetryAt, c.RefreshFailures = nil, nil, nil, nil, 0
	c.RefreshedAt, c.UpdatedAt = &now, now
}

// providerText is a provider's error and description as may be shown.
func providerText(code, description string) string {
	t := "the provider answered " + printable(code)
	if description != "" {
		t += ": " + printable(description)
	}
	return clip(t)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
