// Package oauth2 serves the OAuth 2.0 protocol endpoints: token (RFC 6749),
// device authorization (RFC 8628), revocation (RFC 7009), introspection
// (RFC 7662), server metadata (RFC 8414), the JWKS, and the sign-in,
// consent and device pages. Errors here follow RFC 6749 §5.2, not JSON:API.
//
// The endpoints are written on go-jose rather than zitadel/oidc's op
// package: op's token responses are fixed types (no room for Encore's
// "actor"), are always JSON (Cloud 66 asks for form-encoded ones), and its
// request decoders do not read Cloud 66's redirect_url or comma-separated
// scopes; replacing every endpoint through its Server interface would leave
// little of the library in use.
package oauth2

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/authserver"
	"github.com/oauthd/oauthd/internal/budget"
)

// Clients is what the endpoints ask of the API clients service.
type Clients interface {
	ByClientID(ctx context.Context, clientID string) (*apiclients.Client, error)
	Authenticate(ctx context.Context, clientID, secret string) (*apiclients.Client, error)
	// AuthenticateFast authenticates the right secret when that costs no
	// bcrypt; ok false means nothing was judged: go on to Authenticate.
	AuthenticateFast(ctx context.Context, clientID, secret string) (*apiclients.Client, bool, error)
}

// Scopes checks scope strings against the permission policy.
type Scopes interface {
	ScopeAllows(scopes []string, perm string) bool
	PermissionsOf(scope string) []string
	Covers(allowed []string, scope string) bool
}

// Tokens parses access tokens (the signing keys).
type Tokens interface {
	ParseAccessToken(ctx context.Context, token, issuer string) (*authserver.AccessClaims, error)
}

// Deps are what the endpoints need.
type Deps struct {
	Clients Clients
	Grants  *authserver.Grants
	Tokens  Tokens
	Scopes  Scopes
	Issuer  string
	Log     *slog.Logger

	// For the sign-in, consent and device pages.
	Accounts    Accounts
	ClientsByPK ClientsByPK
	// SessionKey (32 bytes, the same on every instance) signs session
	// cookies and CSRF tokens.
	SessionKey []byte
	// Budgets keeps the failure budgets that stop guessing, shared by
	// every instance.
	Budgets budget.Store

	// Connections runs the connection pages' dance.
	Connections Connections
	// Metrics counts tokens issued and failed authentications; nil
	// counts nothing.
	Metrics Metrics
}

// Metrics is what the endpoints record for the operator.
type Metrics interface {
	TokenIssued(grantType string)
	AuthFailed(method string)
}

// noMetrics records nothing.
type noMetrics struct{}

func (noMetrics) TokenIssued(string) {}
func (noMetrics) AuthFailed(string)  {}

// Handler serves the protocol endpoints.
type Handler struct {
	d     Deps
	pages *pageState
	// macs are HMAC-SHA256 states under the session key, reused: a state
	// costs two hashed key blocks to make, and every page request checks
	// a session cookie or a CSRF token.
	macs sync.Pool
}

// New builds the handler.
func New(d Deps) *Handler {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Metrics == nil {
		d.Metrics = noMetrics{}
	}
	return &Handler{d: d, pages: newPageState()}
}

// toGrantClient is what the grant layer needs of an API client.
func toGrantClient(c *apiclients.Client) authserver.Client {
	gc := authserver.Client{TenantID: c.TenantID, PK: c.ID, ClientID: c.ClientID}
	if c.AccessTokenTTL != nil {
		gc.AccessTTL = time.Duration(*c.AccessTokenTTL) * time.Second
	}
	if c.RefreshTokenTTL != nil {
		gc.RefreshTTL = time.Duration(*c.RefreshTokenTTL) * time.Second
	}
	return gc
}
