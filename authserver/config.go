package authserver

import (
	"errors"
	"time"

	"github.com/google/uuid"
)

// Lifetimes are the deployment's token and code lifetimes.
type Lifetimes struct {
	// AccessTTL is for tokens issued without a refresh token (client
	// credentials): 1 h by default, as Encore's OAuth clients do.
	AccessTTL time.Duration
	// AccessTTLWithRefresh is for tokens that come with a refresh token:
	// 15 min by default, as Informer's OAuth client API.
	AccessTTLWithRefresh time.Duration
	RefreshTTL           time.Duration // 30 days by default
	CodeTTL              time.Duration // 60 s
	DeviceTTL            time.Duration // 10 min
	DevicePollInterval   time.Duration // 5 s
}

// DefaultLifetimes are the design's defaults.
func DefaultLifetimes() Lifetimes {
	return Lifetimes{
		AccessTTL: time.Hour, AccessTTLWithRefresh: 15 * time.Minute, RefreshTTL: 30 * 24 * time.Hour,
		CodeTTL: 60 * time.Second, DeviceTTL: 10 * time.Minute, DevicePollInterval: 5 * time.Second,
	}
}

// Client is what grants need to know about the API client they serve.
type Client struct {
	TenantID uuid.UUID
	PK       uuid.UUID // api_clients.id
	ClientID string    // the public o2c_ identifier
	// Per-client lifetimes; zero means the deployment's.
	AccessTTL  time.Duration
	RefreshTTL time.Duration
}

// Errors of the grant layer; the OAuth endpoints map them to RFC 6749 and
// RFC 8628 error codes.
var (
	ErrInvalidGrant         = errors.New("invalid_grant")
	ErrAuthorizationPending = errors.New("authorization_pending")
	ErrSlowDown             = errors.New("slow_down")
	ErrExpiredToken         = errors.New("expired_token")
	ErrAccessDenied         = errors.New("access_denied")
	ErrUnknownUserCode      = errors.New("unknown or expired user code")
)

// ErrInvalidScope means a request asked for more than it may.
var ErrInvalidScope = errors.New("invalid_scope")
