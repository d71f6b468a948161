package connections

import (
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/bounded"
	"github.com/oauthd/oauthd/internal/changes"
)

// The token cache. access-token is the platform's hot path and reads the
// same few connections over and over; an instance keeps each connection
// it read for access-token (sealed, as stored: the token is opened per
// answer) for at most tokenCacheTTL, so that a burst of reads costs one
// database read per connection and second instead of one per call. Every
// transaction this service commits empties this instance's cache at once;
// a change committed on another instance (a refresh, a reconnect, a
// delete, the OAuth client deleted) is seen here within tokenCacheTTL,
// the bound oauthd keeps for revocations everywhere. A cached token is
// handed out only while it lives MinValidity more, like a stored one, and
// every answer is audited, cached or not.
const (
	tokenCacheTTL  = time.Second
	tokenCacheSize = 10000
)

type tokenKey struct{ tenantID, id uuid.UUID }

func newTokenCache() (*changes.Cache[tokenKey, *Connection], *changes.Feed) {
	feed := changes.NewFeed()
	return changes.NewCache[tokenKey, *Connection](feed, tokenCacheTTL, tokenCacheSize), feed
}

// Caches are the service's caches, for the metrics.
func (s *Service) Caches() map[string]*bounded.Stats {
	return map[string]*bounded.Stats{"connection_tokens": s.tokens.Stats()}
}
