package apiclients

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Authenticate checks a client's credentials as the token endpoint receives
// them: a confidential client presents one of its active secrets, a public
// client presents none. Every failure is ErrInvalidClient; other errors
// mean the database failed.
//
// Secrets are stored as SHA-256 digests, compared at once; a secret stored
// before that as a bcrypt hash is verified with bcrypt once and then
// remembered by this instance (see verifiedCache). The client and its
// active secrets come from a cache that any change to them empties (here
// at once, on other instances within the second), so a deleted, expired
// or rotated-out secret stops working; concurrent requests share one load
// and one bcrypt check.
func (s *Service) Authenticate(ctx context.Context, clientID, secret string) (*Client, error) {
	if !PlausibleClientID(clientID) || len(secret) > maxPresentedSecret {
		return nil, ErrInvalidClient
	}
	c, secrets, err := s.credentials(ctx, clientID)
	if errors.Is(err, ErrNotFound) {
		if secret != "" {
			compareSecret(s.dummyHash, secret) // an unknown client costs what a wrong secret does
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
		// Someone still using a deleted or expired secret is news to the
		// tenant (api_client.secret_rejected); the answer stays the same.
		if err := s.noteRejected(ctx, c, secret); err != nil {
			return nil, fmt.Errorf("authenticate api client: %w", err)
		}
		return nil, ErrInvalidClient
	}
	return s.touched(ctx, c, matched)
}

// AuthenticateFast is Authenticate when it needs no slow check: ok is
// true and the client returned when clientID is a confidential client and
// secret one of its active secrets, stored as a digest or, stored as a
// bcrypt hash before digests, verified by this instance before (see
// verifiedCache). Otherwise ok is false and nothing is judged: the caller
// goes on to Authenticate, with whatever guessing limits it applies
// before a check. No bcrypt runs here and nothing is recorded of a
// secret that does not match.
func (s *Service) AuthenticateFast(ctx context.Context, clientID, secret string) (client *Client, ok bool, err error) {
	if secret == "" || !PlausibleClientID(clientID) || len(secret) > maxPresentedSecret {
		return nil, false, nil
	}
	c, secrets, err := s.credentials(ctx, clientID)
	if errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("authenticate api client: %w", err)
	}
	if c.Public() {
		return nil, false, nil
	}
	matched := s.matchFast(s.live(secrets), secret)
	if matched == nil {
		return nil, false, nil
	}
	if c, err = s.touched(ctx, c, matched); err != nil {
		return nil, false, err
	}
	return c, true, nil
}

// maxClientIDLen bounds a presented client id: a generated one is 28
// characters (the prefix and 18 random bytes in URL-safe base64).
const maxClientIDLen = 64

// PlausibleClientID reports whether id could be a client id this server
// generated: the prefix, then URL-safe base64 only, of a sane length. What
// fails cannot name a client, so callers answer it as an unknown client
// without asking the database — and bytes Postgres refuses in text (NUL,
// invalid UTF-8) never reach it.
func PlausibleClientID(id string) bool {
	rest, ok := strings.CutPrefix(id, ClientIDPrefix)
	if !ok || rest == "" || len(id) > maxClientIDLen {
		return false
	}
	for i := 0; i < len(rest); i++ {
		switch c := rest[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// credentials loads a client and its active secrets, from this instance's
// short-lived cache when it can: the token endpoint and introspection would
// otherwise query them on every request. Any change to a client or its
// secrets, here or on another instance, empties the cache (see Options).
func (s *Service) credentials(ctx context.Context, clientID string) (*Client, []secretRow, error) {
	cr, err := s.creds.Load(ctx, clientID, func(ctx context.Context) (credentials, error) {
		c, secrets, err := s.store.credentials(ctx, clientID)
		if err != nil {
			return credentials{}, err
		}
		return credentials{client: *c, secrets: secrets}, nil
	})
	if err != nil {
		return nil, nil, err
	}
	c := cr.client
	return &c, cr.secrets, nil
}

// match finds the active secret row that secret is: a digest is compared
// at once, a bcrypt hash (a secret stored before digests) through the
// verified-secret cache.
func (s *Service) match(rows []secretRow, secret string) *secretRow {
	rows = s.live(rows)
	for i := range rows {
		if !slowHash(rows[i].Hash) && compareSecret(rows[i].Hash, secret) {
			return &rows[i]
		}
	}
	for i := range rows {
		if slowHash(rows[i].Hash) && s.verified.check(rows[i].ID, rows[i].Hash, secret) {
			return &rows[i]
		}
	}
	return nil
}

// live are the rows that have not expired. Rows may come from the cache:
// expiry is checked here, every time.
func (s *Service) live(rows []secretRow) []secretRow {
	now := time.Now()
	live := make([]secretRow, 0, len(rows))
	for _, r := range rows {
		if r.ExpiresAt == nil || r.ExpiresAt.After(now) {
			live = append(live, r)
		}
	}
	return live
}

// matchFast is match without bcrypt: a digest is compared, a bcrypt hash
// matches only when the verified-secret cache holds it (nil otherwise).
func (s *Service) matchFast(rows []secretRow, secret string) *secretRow {
	for i := range rows {
		if !slowHash(rows[i].Hash) && compareSecret(rows[i].Hash, secret) {
			return &rows[i]
		}
	}
	for i := range rows {
		if slowHash(rows[i].Hash) && s.verified.has(s.verified.digest(rows[i].ID, secret, rows[i].Hash)) {
			return &rows[i]
		}
	}
	return nil
}

// touched records the use of the client and secret, at most once a minute
// each (the loaded values say whether a write is due), and returns c.
func (s *Service) touched(ctx context.Context, c *Client, secret *secretRow) (*Client, error) {
	// The loaded value may come from the cache, so this instance also
	// remembers its own writes.
	due := func(id uuid.UUID, t *time.Time) bool {
		if last, ok := s.touches.Get(id); ok && time.Since(last) <= touchInterval {
			return false
		}
		return t == nil || time.Since(*t) > touchInterval
	}
	// Concurrent requests that find a write due share it.
	touch := func(id uuid.UUID, t *time.Time, write func() error) error {
		if !due(id, t) {
			return nil
		}
		_, err, shared := s.touchFlights.Do(id, func() (struct{}, error) {
			if !due(id, t) {
				return struct{}{}, nil // written by the call that just ended
			}
			if err := write(); err != nil {
				return struct{}{}, err
			}
			s.touches.Put(id, time.Now())
			return struct{}{}, nil
		})
		if shared {
			// Another request's write (perhaps ended with its own
			// context): its failure is its own, and the write stays due.
			return nil
		}
		return err
	}
	if err := touch(c.ID, c.LastUsedAt, func() error { return s.store.touchClient(ctx, c.TenantID, c.ID) }); err != nil {
		return nil, fmt.Errorf("authenticate api client: %w", err)
	}
	if secret != nil {
		if err := touch(secret.ID, secret.LastUsedAt, func() error { return s.store.touchSecret(ctx, secret.TenantID, secret.ID) }); err != nil {
			return nil, fmt.Errorf("authenticate api client: %w", err)
		}
	}
	return c, nil
}

// credentials is a cached client with its active secrets.
type credentials struct {
	client  Client
	secrets []secretRow
}

// How long and how many credentials stay cached. The TTL bounds staleness
// should a change notification be lost; it is well under the second in
// which the design (docs/DESIGN.md) wants a revocation to reach every instance.
const (
	credentialsTTL       = 500 * time.Millisecond
	credentialsCacheSize = 10000
)

// touchesSize bounds the remembered last_used_at writes.
const touchesSize = 100000
