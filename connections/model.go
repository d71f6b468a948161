// Package connections connects tenants' accounts at third-party providers
// through the tenant's OAuth client for a component (Nango's connections,
// elastic.io's auth secrets): the browser dance (state and PKCE S256),
// the code exchange, tokens sealed at rest, and fresh access tokens on
// demand, refreshed once at a time per connection across every instance.
// It also assembles a component's OAuth configuration for a tenant, the
// legacy envVars link included.
package connections

import (
	"time"

	"github.com/google/uuid"
)

// The states of a connection.
const (
	StatePending = "pending" // created; waiting for the account's owner to authorize at the provider
	StateReady   = "ready"   // tokens are held
	StateError   = "error"   // unusable until reconnected; ErrorCode says why
)

// States lists every state (filter[state] takes these).
var States = []string{StatePending, StateReady, StateError}

// Error codes a connection carries. Those of state error need a reconnect;
// refresh_failed sits on a ready connection in backoff.
const (
	CodeAccessDenied        = "access_denied"         // the account's owner (or the provider) refused at the callback
	CodeAuthorizationFailed = "authorization_failed"  // the provider's callback or code exchange failed
	CodeRefreshTokenMissing = "refresh_token_missing" // the provider gave no refresh token
	CodeReconnectRequired   = "reconnect_required"    // the provider refused the refresh token or the client (invalid_grant, invalid_client)
	CodeOAuthClientDeleted  = "oauth_client_deleted"  // the tenant's OAuth client for the component is gone
	CodeComponentDeleted    = "component_deleted"     // the component is gone, or no longer says how to reach the provider
	CodeRefreshFailed       = "refresh_failed"        // a transient failure; retried after retry_at
)

// Connection is a tenant's account at a provider. Token fields hold
// ciphertext; they never leave this package in clear except through
// AccessToken.
type Connection struct {
	TenantID        uuid.UUID
	ID              uuid.UUID
	Name            string
	ComponentID     uuid.UUID
	State           string
	ErrorCode       *string
	ErrorDetail     *string
	ErrorAt         *time.Time
	Scopes          []string `gorm:"serializer:json"`
	TokenKeyID      *string
	AccessToken     []byte
	RefreshToken    []byte
	TokenType       *string
	ExpiresAt       *time.Time
	RefreshFailures int
	RetryAt         *time.Time
	RefreshedAt     *time.Time
	ConnectedAt     *time.Time
	LinkDigest      []byte
	LinkExpiresAt   *time.Time
	StateDigest     []byte
	BrowserDigest   []byte
	Verifier        []byte
	VerifierKeyID   *string
	StateExpiresAt  *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time

	// OAuthClientID is the row id of the tenant's current OAuth client for
	// the component (nil when it has none), read with the connection.
	OAuthClientID *uuid.UUID `gorm:"column:oauth_client_id;->;-:migration"`

	// AuthorizeURL is the capability that starts the browser dance. Only its
	// digest is stored, so it is set only on the value that created it
	// (create and reconnect).
	AuthorizeURL string `gorm:"-"`
}

// TableName is connections.
func (Connection) TableName() string { return "connections" }

// validFor reports whether the access token is held and lives at least d
// more after now (a token without an expiry lives until refused).
func (c *Connection) validFor(now time.Time, d time.Duration) bool {
	if c.AccessToken == nil {
		return false
	}
	return c.ExpiresAt == nil || c.ExpiresAt.After(now.Add(d))
}

// NewConnection is the input for creating a connection, as the caller wrote it.
type NewConnection struct {
	Name        string
	ComponentID string
}

// Filter narrows a listing.
type Filter struct {
	ComponentID *uuid.UUID
	State       string
}

// Token is an access token handed to a caller.
type Token struct {
	ConnectionID uuid.UUID
	AccessToken  string
	TokenType    string
	ExpiresAt    *time.Time
	Scope        string
}

// OAuthConfig is what the platform needs to run a component for a tenant:
// the tenant's OAuth client, the provider's endpoints, and the declared
// envVars the legacy link fills.
type OAuthConfig struct {
	ComponentID     uuid.UUID
	ClientID        string
	ClientSecret    string
	AuthURI         string
	TokenURI        string
	RefreshTokenURI string
	Scopes          []string
	ClientAuth      string
	Env             map[string]string
}
