package tenants

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/bounded"
	"github.com/oauthd/oauthd/internal/changes"
	"github.com/oauthd/oauthd/internal/credential"
	"github.com/oauthd/oauthd/internal/flight"
)

// Basic auth (email:apikey) is on every management call, so an instance
// keeps what it read for a key — the key, its user and the user's
// membership of the tenant asked for, read together in one query — for at
// most keyCacheTTL. Every transaction this service commits empties the
// cache at once (Options.Changes); a change committed on another instance
// or by the admin commands (a deleted key, a changed or deleted user, a
// membership that ends or begins) empties it within the NOTIFY's
// milliseconds (migrations 00012 and 00064), and keyCacheTTL bounds the
// staleness should a notification be lost: within the second in which
// the design wants a revocation to reach every instance. Entries are
// keyed by the key's digest, never the key. An unknown key is not
// cached; a wrong email is judged on every request.
const (
	keyCacheTTL  = 500 * time.Millisecond
	keyCacheSize = 10000
)

// keyAuthKey is a cached basic-auth caller: a key's digest and the tenant
// asked for (uuid.Nil for none).
type keyAuthKey struct {
	digest [sha256.Size]byte
	tenant uuid.UUID
}

// keyAuth is what one query reads for a key.
type keyAuth struct {
	user      User
	emailKey  string // emailKey(user.Email), computed once
	keyID     uuid.UUID
	keyUsedAt *time.Time
	member    bool // of the tenant asked for
}

// keyCache is the service's cache of basic-auth callers and its shared
// last_used_at writes.
type keyCache struct {
	entries *changes.Cache[keyAuthKey, keyAuth]
	// touches are the last_used_at writes of this instance (bounded: when
	// it empties itself, a key is written once more).
	touches *bounded.Map[uuid.UUID, time.Time]
	flights flight.Group[uuid.UUID, struct{}]
}

func newKeyCache(feed *changes.Feed) *keyCache {
	return &keyCache{entries: changes.NewCache[keyAuthKey, keyAuth](feed, keyCacheTTL, keyCacheSize),
		touches: bounded.New[uuid.UUID, time.Time](keyCacheSize * 10)}
}

// Authenticate returns the user whose email and API key these are. A wrong
// email and a wrong key are the same error after the same work.
func (s *Service) Authenticate(ctx context.Context, email, key string) (*User, error) {
	u, _, err := s.AuthenticateIn(ctx, email, key, uuid.Nil)
	return u, err
}

// AuthenticateIn is Authenticate for a request on tenant tenantID: it also
// reports whether the user is a member of it, read in the same query as
// the key and the user (or from this instance's cache, see keyCacheTTL).
// A wrong email and a wrong key are the same error after the same work.
func (s *Service) AuthenticateIn(ctx context.Context, email, key string, tenantID uuid.UUID) (*User, bool, error) {
	digest := credential.DigestOf(key)
	k := keyAuthKey{tenant: tenantID}
	copy(k.digest[:], digest)
	a, err := s.keys.entries.Load(ctx, k, func(ctx context.Context) (keyAuth, error) {
		a, err := s.store.keyAuth(ctx, digest, tenantID)
		if err != nil {
			return keyAuth{}, err
		}
		a.emailKey = emailKey(a.user.Email)
		return a, nil
	})
	if err != nil {
		return nil, false, err
	}
	// The key names the user; the email must be theirs as emailKey
	// compares emails (computed from u.Email, so a user left without a
	// stored key by migration 00090 still signs in with their keys).
	if subtle.ConstantTimeCompare([]byte(a.emailKey), []byte(emailKey(email))) != 1 {
		return nil, false, ErrUnauthenticated
	}
	if err := s.touchKey(ctx, a.keyID, a.keyUsedAt); err != nil {
		return nil, false, fmt.Errorf("authenticate: %w", err)
	}
	u := a.user
	return &u, a.member, nil
}

// touchKey records a key's use at most once per apiKeyTouchInterval: the
// loaded value (perhaps cached) and this instance's own writes say whether
// a write is due, and concurrent requests that find one due share it.
func (s *Service) touchKey(ctx context.Context, id uuid.UUID, usedAt *time.Time) error {
	due := func() bool {
		if last, ok := s.keys.touches.Get(id); ok && time.Since(last) <= apiKeyTouchInterval {
			return false
		}
		return usedAt == nil || time.Since(*usedAt) > apiKeyTouchInterval
	}
	if !due() {
		return nil
	}
	_, err, shared := s.keys.flights.Do(id, func() (struct{}, error) {
		if !due() {
			return struct{}{}, nil // written by the call that just ended
		}
		if err := s.store.touchAPIKey(ctx, id); err != nil {
			return struct{}{}, err
		}
		s.keys.touches.Put(id, time.Now())
		return struct{}{}, nil
	})
	if shared {
		// Another request's write (perhaps ended with its own context):
		// its failure is its own, and the write stays due.
		return nil
	}
	return err
}

// Caches are this instance's caches by name, for the metrics.
func (s *Service) Caches() map[string]*bounded.Stats {
	return map[string]*bounded.Stats{"api_keys": s.keys.entries.Stats()}
}
