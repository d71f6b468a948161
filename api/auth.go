package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/audit"
	"github.com/oauthd/oauthd/tenants"
)

const (
	ctxPrincipal = "oauthd.principal"
	ctxTenant    = "oauthd.tenant"
)

// principal is the authenticated caller.
type principal struct {
	User *tenants.User
}

func principalOf(c echo.Context) *principal {
	p, _ := c.Get(ctxPrincipal).(*principal)
	return p
}

func tenantOf(c echo.Context) uuid.UUID {
	id, _ := c.Get(ctxTenant).(uuid.UUID)
	return id
}

func unauthorized(detail string) *apiError {
	e := newError(http.StatusUnauthorized, "unauthenticated", detail, &errorSource{Header: "Authorization"})
	e.headers = map[string]string{"WWW-Authenticate": `Basic realm="oauthd", charset="UTF-8"`}
	return e
}

// authenticate accepts basic auth as email:apikey (seed 001). An unknown
// email and a wrong key get the same answer.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Request().Header.Get(echo.HeaderAuthorization)
		if h == "" {
			return unauthorized("this endpoint needs credentials: basic auth with your email and API key")
		}
		email, key, ok := c.Request().BasicAuth()
		if !ok {
			return unauthorized("the Authorization header must be Basic with email:apikey")
		}
		u, err := s.deps.Tenants.Authenticate(c.Request().Context(), email, key)
		if errors.Is(err, tenants.ErrUnauthenticated) {
			return unauthorized("the email or API key is wrong")
		}
		if err != nil {
			return err
		}
		c.Set(ctxPrincipal, &principal{User: u})
		ctx := audit.WithActor(c.Request().Context(), audit.Actor{
			UserID: &u.ID, Email: u.Email, RemoteAddr: c.RealIP(), RequestID: requestID(c),
		})
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

// superuserOnly guards the administration endpoints.
func superuserOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !principalOf(c).User.Superuser {
			return newError(http.StatusForbidden, "superuser_required", "only a superuser may do this", nil)
		}
		return next(c)
	}
}

// tenantScope resolves {tid}. A caller who is not a member (nor a
// superuser) gets the same 404 as for a tenant that does not exist, so a
// tenant's existence is not leaked.
func (s *Server) tenantScope(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := pathID(c, "tid", tenants.ErrTenantNotFound)
		if err != nil {
			return err
		}
		u := principalOf(c).User
		ctx := c.Request().Context()
		if u.Superuser {
			if _, err := s.deps.Tenants.Tenant(ctx, id); err != nil {
				return err
			}
		} else {
			member, err := s.deps.Tenants.IsMember(ctx, id, u.ID)
			if err != nil {
				return err
			}
			if !member {
				return tenants.ErrTenantNotFound
			}
		}
		c.Set(ctxTenant, id)
		return next(c)
	}
}

// require guards a route with one permission in the current tenant.
func (s *Server) require(perm string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			u := principalOf(c).User
			if !u.Superuser {
				ok, err := s.deps.Policy.Allowed(u.ID, tenantOf(c), perm)
				if err != nil {
					return err
				}
				if !ok {
					e := newError(http.StatusForbidden, "permission_denied",
						"this needs the "+perm+" permission in this tenant; ask a tenant owner to grant it", nil)
					e.objects[0].Meta = map[string]any{"permission": perm}
					return e
				}
			}
			return next(c)
		}
	}
}

// selfOrSuperuser lets users manage their own account; {uid} may be "me".
func (s *Server) selfOrSuperuser(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		u := principalOf(c).User
		raw := c.Param("uid")
		if strings.EqualFold(raw, "me") {
			c.Set(ctxUser, u.ID)
			return next(c)
		}
		id, err := pathID(c, "uid", tenants.ErrUserNotFound)
		if err != nil {
			return err
		}
		if id != u.ID && !u.Superuser {
			return tenants.ErrUserNotFound
		}
		c.Set(ctxUser, id)
		return next(c)
	}
}

const ctxUser = "oauthd.user"

func userParam(c echo.Context) uuid.UUID {
	id, _ := c.Get(ctxUser).(uuid.UUID)
	return id
}
