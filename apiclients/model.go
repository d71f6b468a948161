// Package apiclients owns API clients: the OAuth clients that call this
// platform's own API with tokens from /oauth/token. The platform generates
// each client's id and secrets; a secret is shown once and only its
// SHA-256 digest is kept (bcrypt hashes stored before keep verifying), and
// several may be active at once so a secret can be rotated without
// downtime. A client carries the grant types, redirect
// URIs, roles (for client-credentials tokens), scopes (the most a user token
// may carry) and token lifetimes the authorization server applies.
package apiclients

import (
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/changes"
)

// Grant types a client may be allowed (RFC 6749, RFC 8628).
const (
	GrantClientCredentials = "client_credentials"
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
)

// grantTypes is the one list of the grant types oauthd implements: client
// validation, the token endpoint and the RFC 8414 metadata all read it.
var grantTypes = []string{GrantAuthorizationCode, GrantClientCredentials, GrantRefreshToken, GrantDeviceCode}

// GrantTypes are the grant types oauthd implements (a copy).
func GrantTypes() []string { return slices.Clone(grantTypes) }

// IsGrantType says whether oauthd implements grant type g.
func IsGrantType(g string) bool { return slices.Contains(grantTypes, g) }

// Client types (RFC 6749 §2.1).
const (
	// TypeConfidential clients hold a secret and authenticate with it.
	TypeConfidential = "confidential"
	// TypePublic clients (CLIs, native apps) cannot keep a secret; they
	// authenticate with nothing and must use PKCE.
	TypePublic = "public"
)

// Client is an API client of a tenant.
type Client struct {
	TenantID uuid.UUID
	ID       uuid.UUID
	// ClientID is the public identifier ("o2c_…"), unique across tenants.
	ClientID     string
	Name         string
	ClientType   string
	GrantTypes   []string `gorm:"serializer:json"`
	RedirectURIs []string `gorm:"column:redirect_uris;serializer:json"`
	Roles        []string `gorm:"serializer:json"`
	Scopes       []string `gorm:"serializer:json"`
	RequirePKCE  bool     `gorm:"column:require_pkce"`
	// Lifetimes in seconds; nil means the deployment's default.
	AccessTokenTTL  *int `gorm:"column:access_token_ttl_seconds"`
	RefreshTokenTTL *int `gorm:"column:refresh_token_ttl_seconds"`
	// Template is the template the client was created from, "" if none.
	Template string
	// CreatedBy is the user who created the client; the client outlives them.
	CreatedBy *uuid.UUID
	// TokensValidAfter is moved forward by RevokeTokens: a token issued
	// before it is no longer valid.
	TokensValidAfter time.Time
	LastUsedAt       *time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// TableName is api_clients.
func (Client) TableName() string { return "api_clients" }

// Allows reports whether the client may use grantType.
func (c *Client) Allows(grantType string) bool { return slices.Contains(c.GrantTypes, grantType) }

// Public reports whether the client is public (holds no secret).
func (c *Client) Public() bool { return c.ClientType == TypePublic }

// PKCERequired reports whether the client must send a PKCE challenge:
// public clients always (docs/DESIGN.md), confidential ones when they ask to.
func (c *Client) PKCERequired() bool { return c.Public() || c.RequirePKCE }

// RedirectURIAllowed reports whether uri is one of the client's redirect
// URIs, compared as exact strings. The one exception is RFC 8252 §7.3: for
// a registered http loopback IP URI (127.0.0.1 or [::1]) the port is the
// native app's choice at request time, so only the port may differ.
func (c *Client) RedirectURIAllowed(uri string) bool {
	if uri == "" {
		return false
	}
	for _, r := range c.RedirectURIs {
		if r == uri || sameLoopbackIgnoringPort(r, uri) {
			return true
		}
	}
	return false
}

// Secret is one of a confidential client's secrets, without the secret.
type Secret struct {
	TenantID   uuid.UUID
	ClientPK   uuid.UUID
	ID         uuid.UUID
	Hint       string // the last 4 characters
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	CreatedAt  time.Time
}

// secretRow is a secret as stored, with its hash (a "$sha256$" digest, or
// bcrypt's for a secret stored before digests) and its keyed fingerprint
// (see fingerprint).
type secretRow struct {
	Secret
	Hash        string
	Fingerprint []byte
}

func (secretRow) TableName() string { return "api_client_secrets" }

// NewClient is the input for creating a client, as the caller wrote it. A
// nil list is "not given" (a template's value applies); an empty one is an
// explicit empty list.
type NewClient struct {
	Name            string
	ClientType      string
	GrantTypes      []string
	RedirectURIs    []string
	Roles           []string
	Scopes          []string
	RequirePKCE     bool
	AccessTokenTTL  *int
	RefreshTokenTTL *int
	Template        string
}

// Patch changes the fields that are set. For the lifetimes, a non-nil
// outer pointer sets the field and a nil inner one returns it to the
// deployment's default.
type Patch struct {
	Name            *string
	GrantTypes      *[]string
	RedirectURIs    *[]string
	Roles           *[]string
	Scopes          *[]string
	RequirePKCE     *bool
	AccessTokenTTL  **int
	RefreshTokenTTL **int
}

// Bounds are the deployment's limits for per-client token lifetimes.
type Bounds struct {
	MinAccessTTL  time.Duration
	MaxAccessTTL  time.Duration
	MinRefreshTTL time.Duration
	MaxRefreshTTL time.Duration
}

// Options tune the service.
type Options struct {
	Bounds Bounds
	// Changes, when set, lets this instance cache credentials for a moment:
	// it is bumped after every committed change here and on NOTIFY from
	// other instances. Nil disables the cache.
	Changes *changes.Feed
	// FingerprintKey keys the fingerprints that recognise a deleted or
	// expired secret when it is presented (api_client.secret_rejected).
	FingerprintKey []byte
	// UnusedAfter is how long a client may go without a token before it
	// counts as unused (OAUTHD_UNUSED_AFTER; default 90 days).
	UnusedAfter time.Duration
	// Now is the time for the lifecycle rules (default time.Now); tests
	// move it.
	Now func() time.Time
}
