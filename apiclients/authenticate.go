package apiclients

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Authenticate checks a client's credentials as the token endpoint receives
// them: a confidential client presents one of its active secrets, a public
// client presents none. Every failure is ErrInvalidClient; other errors
// mean the database failed.
//
// bcrypt is deliberately slow, so a secret verified once is remembered by
// this instance (see verifiedCache) and later requests skip bcrypt. The
// client and its active secrets are loaded on every call, so a deleted,
// expired or rotated-out secret fails at once everywhere.
func (s *Service) Authenticate(ctx context.Context, clientID, secret string) (*Client, error) {
	if clientID == "" || len(clientID) > 200 || len(secret) > maxPresentedSecret {
		return nil, ErrInvalidClient
	}
	c, secrets, err := s.store.credentials(ctx, clientID)
	if errors.Is(err, ErrNotFound) {
		if secret != "" {
			compareSecret(s.dummyHash(), secret) // an unknown client costs what a wrong secret does
		}
		return nil, ErrInvalidClient
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate api client: %w", err)
	}
	if c.Public() {
		if secret != "" {
			return nil, ErrInvalidClient
		}
		return s.touched(ctx, c, nil)
	}
	if secret == "" {
		return nil, ErrInvalidClient
	}
	matched := s.match(secrets, secret)
	if matched == nil {
		return nil, ErrInvalidClient
	}
	return s.touched(ctx, c, matched)
}

// match finds the active secret row that secret is, from the cache when it
// has been verified before, else with bcrypt (then remembering it).
func (s *Service) match(rows []secretRow, secret string) *secretRow {
	for i := range rows {
		if s.verified.has(s.verified.digest(rows[i].ID, secret, rows[i].Hash)) {
			return &rows[i]
		}
	}
	for i := range rows {
		if compareSecret(rows[i].Hash, secret) {
			s.verified.add(s.verified.digest(rows[i].ID, secret, rows[i].Hash))
			return &rows[i]
		}
	}
	return nil
}

// touched records the use of the client and secret, at most once a minute
// each (the loaded values say whether a write is due), and returns c.
func (s *Service) touched(ctx context.Context, c *Client, secret *secretRow) (*Client, error) {
	due := func(t *time.Time) bool { return t == nil || time.Since(*t) > touchInterval }
	if due(c.LastUsedAt) {
		if err := s.store.touchClient(ctx, c.TenantID, c.ID); err != nil {
			return nil, fmt.Errorf("authenticate api client: %w", err)
		}
	}
	if secret != nil && due(secret.LastUsedAt) {
		if err := s.store.touchSecret(ctx, secret.TenantID, secret.ID); err != nil {
			return nil, fmt.Errorf("authenticate api client: %w", err)
		}
	}
	return c, nil
}
