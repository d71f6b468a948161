package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/audit"
	"github.com/oauthd/oauthd/authserver"
	"github.com/oauthd/oauthd/internal/metrics"
	"github.com/oauthd/oauthd/policy"
	"github.com/oauthd/oauthd/tenants"
)

const (
	ctxPrincipal = "oauthd.principal"
	ctxTenant    = "oauthd.tenant"
	ctxUser      = "oauthd.user"
)

// principal is the authenticated caller: a user by basic auth, or an access
// token (a client's own, or one a user granted to a client).
type principal struct {
	User  *tenants.User // nil for a client-credentials token
	Token *tokenPrincipal
	// tenant is the tenant in the path when basic auth read the user's
	// membership of it with the key (member), else uuid.Nil.
	tenant uuid.UUID
	member bool
}

// tokenPrincipal is a validated bearer token.
type tokenPrincipal struct {
	Claims *authserver.AccessClaims
	State  *authserver.TokenState
	Scopes []string
}

// superuser reports superuser powers; tokens never carry them.
func (p *principal) superuser() bool { return p.Token == nil && p.User != nil && p.User.Superuser }

func principalOf(c echo.Context) *principal {
	p, _ := c.Get(ctxPrincipal).(*principal)
	return p
}

func tenantOf(c echo.Context) uuid.UUID {
	id, _ := c.Get(ctxTenant).(uuid.UUID)
	return id
}

func userParam(c echo.Context) uuid.UUID {
	id, _ := c.Get(ctxUser).(uuid.UUID)
	return id
}

const wwwAuthenticate = `Basic realm="oauthd", charset="UTF-8", Bearer realm="oauthd"`

func unauthorized(detail string) *apiError {
	e := newError(http.StatusUnauthorized, "unauthenticated", detail, &errorSource{Header: "Authorization"})
	e.headers = map[string]string{"WWW-Authenticate": wwwAuthenticate}
	return e
}

func invalidToken() *apiError {
	e := newError(http.StatusUnauthorized, "invalid_token",
		"the access token is malformed, expired or revoked; get a new one from /oauth/token", &errorSource{Header: "Authorization"})
	e.headers = map[string]string{"WWW-Authenticate": `Bearer realm="oauthd", error="invalid_token"`}
	return e
}

func tokenNotAllowed() *apiError {
	return newError(http.StatusForbidden, "token_not_allowed",
		"access tokens work on their own tenant's resources only; use basic auth with an API key for this", nil)
}

// authenticate accepts basic auth as email:apikey (elastic.io's OAuth clients management docs) and bearer
// access tokens issued by oauthd. An unknown email and a wrong key get the
// same answer.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get(echo.HeaderAuthorization)
		if h == "" {
			return unauthorized("this endpoint needs credentials: basic auth with your email and API key, or a bearer access token")
		}
		var p *principal
		var err error
		if scheme, tok, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
			p, err = s.bearer(c, strings.TrimSpace(tok))
		} else {
			p, err = s.basic(c)
		}
		if err != nil {
			return err
		}
		c.Set(ctxPrincipal, p)
		actor := audit.Actor{RemoteAddr: c.RealIP(), RequestID: requestID(c)}
		if p.User != nil {
			actor.UserID, actor.Email = &p.User.ID, p.User.Email
		}
		if p.Token != nil {
			actor.Client = p.Token.Claims.ClientID
		}
		c.SetRequest(c.Request().WithContext(audit.WithActor(c.Request().Context(), actor)))
		return next(c)
	}
}

func (s *Server) basic(c echo.Context) (*principal, error) {
	email, key, ok := c.Request().BasicAuth()
	if !ok {
		return nil, unauthorized("the Authorization header must be Basic with email:apikey, or Bearer with an access token")
	}
	// On a tenant's routes the membership is read with the key, in the
	// same query (tenantScope then asks nothing more).
	tid, _ := uuid.Parse(c.Param("tid"))
	u, member, err := s.deps.Tenants.AuthenticateIn(c.Request().Context(), email, key, tid)
	if errors.Is(err, tenants.ErrUnauthenticated) {
		s.deps.Metrics.AuthFailed(metrics.AuthAPIKey)
		return nil, unauthorized("the email or API key is wrong")
	}
	if err != nil {
		return nil, err
	}
	return &principal{User: u, tenant: tid, member: member && tid != uuid.Nil}, nil
}

// bearer validates an access token: signature and lifetime locally, then
// its revocation state (Grants.Check, cached for at most 500 ms and emptied
// on every change), so a revoked client, grant or token, or a user's token
// whose user left the tenant or was deleted, fails on every instance within
// a second. A user's token also loads its user, for the audit trail and the
// user's own rights.
func (s *Server) bearer(c echo.Context, raw string) (*principal, error) {
	ctx := c.Request().Context()
	claims, err := s.deps.Keys.ParseAccessToken(ctx, raw, s.deps.Issuer)
	if err != nil {
		s.deps.Metrics.AuthFailed(metrics.AuthBearer)
		return nil, invalidToken()
	}
	state, err := s.deps.Grants.Check(ctx, claims)
	if errors.Is(err, authserver.ErrRevoked) {
		s.deps.Metrics.AuthFailed(metrics.AuthBearer)
		return nil, invalidToken()
	}
	if err != nil {
		return nil, err
	}
	p := &principal{Token: &tokenPrincipal{Claims: claims, State: state, Scopes: strings.Fields(claims.Scope)}}
	if claims.UserID != "" {
		uid, err := uuid.Parse(claims.UserID)
		if err != nil {
			return nil, invalidToken()
		}
		u, err := s.deps.Tenants.User(ctx, uid)
		if errors.Is(err, tenants.ErrUserNotFound) {
			return nil, invalidToken() // the user is gone: so are their tokens
		}
		if err != nil {
			return nil, err
		}
		p.User = u
	}
	return p, nil
}

// actingOf is the caller as the identity service judges it.
func actingOf(c echo.Context) *tenants.Acting {
	p := principalOf(c)
	a := &tenants.Acting{Superuser: p.superuser(), Scoped: p.Token != nil}
	if p.User != nil {
		a.UserID = p.User.ID
	}
	return a
}

// superuserOnly guards the administration endpoints.
func superuserOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !principalOf(c).superuser() {
			return newError(http.StatusForbidden, "superuser_required", "only a superuser may do this", nil)
		}
		return next(c)
	}
}

// usersOnly keeps access tokens off the routes about users and the tenant
// list: tokens reach their own tenant's routes only.
func usersOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if principalOf(c).Token != nil {
			return tokenNotAllowed()
		}
		return next(c)
	}
}

// tenantScope resolves {tid}. A caller who is not a member (nor a
// superuser) gets the same 404 as for a tenant that does not exist, so a
// tenant's existence is not leaked. A token reaches its own tenant only,
// and a user's token only while the user is still a member: that is
// Grants.Check's rule (which bearer applied, from a cache emptied on every
// membership change), read here again uncached so that this instance
// refuses the token the moment a removal commits, with the same 401.
// Basic auth read the membership with the key (Tenants.AuthenticateIn,
// whose cache every committed change here empties at once).
func (s *Server) tenantScope(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := pathID(c, "tid", tenants.ErrTenantNotFound)
		if err != nil {
			return err
		}
		p := principalOf(c)
		ctx := c.Request().Context()
		switch {
		case p.Token != nil && p.Token.State.TenantID != id:
			return tenants.ErrTenantNotFound
		case p.superuser():
			if _, err := s.deps.Tenants.Tenant(ctx, id); err != nil {
				return err
			}
		case p.User != nil:
			member := p.member
			if p.Token != nil || p.tenant != id {
				var err error
				if member, err = s.deps.Tenants.IsMember(ctx, id, p.User.ID); err != nil {
					return err
				}
			}
			if !member && p.Token != nil {
				return invalidToken()
			}
			if !member {
				return tenants.ErrTenantNotFound
			}
		}
		c.Set(ctxTenant, id)
		return next(c)
	}
}

// allowed applies the design's rule (docs/DESIGN.md): a user's rights in the tenant; a token's
// rights are its scopes (within what its client may still grant) and, for a
// user's token, also the user's own rights.
func (s *Server) allowed(c echo.Context, perm string) (bool, error) {
	p := principalOf(c)
	if p.superuser() {
		return true, nil
	}
	if t := p.Token; t != nil {
		if !s.deps.Policy.ScopeAllows(t.Scopes, perm) {
			return false, nil
		}
		if p.User == nil {
			return s.deps.Policy.ScopeAllows(policy.RoleScopes(t.State.Roles), perm), nil
		}
		if !s.deps.Policy.ScopeAllows(t.State.Scopes, perm) {
			return false, nil
		}
	}
	return s.deps.Policy.Allowed(p.User.ID, tenantOf(c), perm)
}

// require guards a route with one permission in the current tenant.
func (s *Server) require(perm string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ok, err := s.allowed(c, perm)
			if err != nil {
				return err
			}
			if !ok {
				e := newError(http.StatusForbidden, "permission_denied",
					"this needs the "+perm+" permission in this tenant; ask a tenant owner to grant it", nil)
				e.objects[0].Meta = map[string]any{"permission": perm}
				return e
			}
			return next(c)
		}
	}
}

// selfOrSuperuser lets users manage their own account; {uid} may be "me".
func (s *Server) selfOrSuperuser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := principalOf(c)
		if strings.EqualFold(c.Param("uid"), "me") {
			c.Set(ctxUser, p.User.ID)
			return next(c)
		}
		id, err := pathID(c, "uid", tenants.ErrUserNotFound)
		if err != nil {
			return err
		}
		if id != p.User.ID && !p.superuser() {
			return tenants.ErrUserNotFound
		}
		c.Set(ctxUser, id)
		return next(c)
	}
}
