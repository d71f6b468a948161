// Package api is everything HTTP: the Echo wiring, middleware (request id,
// recovery, body limit, authentication, tenant resolution, permission
// checks), JSON:API encoding and the error table, and one file per resource.
// Domain packages know nothing of HTTP; this package translates.
package api

import (
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/oauthd/oauthd"
	"github.com/oauthd/oauthd/api/console"
	"github.com/oauthd/oauthd/api/docs"
	"github.com/oauthd/oauthd/api/oauth2"
	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/audit"
	"github.com/oauthd/oauthd/authserver"
	"github.com/oauthd/oauthd/components"
	"github.com/oauthd/oauthd/connections"
	"github.com/oauthd/oauthd/internal/budget"
	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/metrics"
	"github.com/oauthd/oauthd/oauthclients"
	"github.com/oauthd/oauthd/policy"
	"github.com/oauthd/oauthd/tenants"
	"github.com/oauthd/oauthd/webhooks"
)

// Deps are the services the API serves.
type Deps struct {
	DB           *database.DB
	Tenants      *tenants.Service
	Policy       *policy.Enforcer
	Audit        *audit.Log
	Components   *components.Service
	OAuthClients *oauthclients.Service
	APIClients   *apiclients.Service
	Connections  *connections.Service
	Webhooks     *webhooks.Service
	Log          *slog.Logger
	// Metrics receives the HTTP series, tokens issued and failed
	// authentications; nil makes a fresh registry.
	Metrics *metrics.Metrics

	// The authorization server: its signing keys verify bearer tokens and
	// are published in the JWKS; its grants say whether a token still holds.
	Keys   *authserver.Keys
	Grants *authserver.Grants
	Issuer string
	// SessionKey signs the sign-in pages' session and CSRF cookies; every
	// instance derives the same one from the master key.
	SessionKey []byte
	// TrustedProxies are the deployment's load balancers
	// (OAUTHD_TRUSTED_PROXIES); see clientIPExtractor.
	TrustedProxies []*net.IPNet
	// Budgets keeps the failure budgets every instance shares.
	Budgets budget.Store
	// DBTimeout bounds each request's database work (OAUTHD_DB_TIMEOUT,
	// default DefaultDBTimeout; 0: no deadline).
	DBTimeout time.Duration
}

// Server is the HTTP face of oauthd.
type Server struct {
	docs    *docs.Handlers
	deps    Deps
	oauth   *oauth2.Handler
	console *console.Handler
	echo    *echo.Echo
}

// New builds the server with every route.
func New(d Deps) *Server {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Metrics == nil {
		d.Metrics = metrics.New()
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = clientIPExtractor(d.TrustedProxies)
	s := &Server{deps: d, echo: e, docs: docs.New(oauthd.OpenAPI)}
	s.oauth = oauth2.New(oauth2.Deps{Clients: d.APIClients, Grants: d.Grants, Tokens: d.Keys, Scopes: d.Policy,
		Issuer: d.Issuer, Log: d.Log, Accounts: d.Tenants, ClientsByPK: d.APIClients, SessionKey: d.SessionKey,
		Connections: d.Connections, Metrics: d.Metrics, Budgets: d.Budgets})
	s.console = console.New(console.Deps{Sessions: s.oauth, Tenants: d.Tenants, Policy: d.Policy, Audit: d.Audit,
		Components: d.Components, OAuthClients: d.OAuthClients, APIClients: d.APIClients, Connections: d.Connections,
		Grants: d.Grants, Webhooks: d.Webhooks, Budgets: d.Budgets, Issuer: d.Issuer, Log: d.Log})
	e.HTTPErrorHandler = errorHandler(d.Log, s.console)

	// A trailing slash changes nothing (elastic.io calls /oauth-clients/?...).
	e.Pre(middleware.RemoveTrailingSlash())
	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{
		// An incoming id is kept only if it is short and plain, so a caller
		// cannot put arbitrary text into our logs.
		Skipper: func(echo.Context) bool { return false },
		RequestIDHandler: func(c echo.Context, id string) {
			if !plainID(id) {
				c.Response().Header().Set(echo.HeaderXRequestID, randomRequestID())
			}
		},
	}))
	e.Use(observe(d.Log, d.Metrics))
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{
		DisableStackAll: true,
		LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
			d.Log.Error("panic", "request_id", requestID(c), "err", err, "stack", string(stack))
			return err
		},
	}))
	e.Use(middleware.BodyLimit(strconv.Itoa(maxBodyBytes)))
	e.Use(deadline(d.DBTimeout))
	// A wrong method on an RFC endpoint is an RFC 6749 error, not JSON:API.
	e.Use(oauth2.ProtocolMethods)
	s.routes(e)
	return s
}

// clientIPExtractor finds a request's client address, which logs, the
// audit trail and the rate limits all use. From one of the trusted
// networks (the deployment's load balancers) it is the nearest address in
// X-Forwarded-For that is not itself trusted; from anywhere else, and with
// no trusted networks, the header is ignored and the peer is the client: a
// client must not choose its own address.
func clientIPExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	// Echo trusts loopback, link-local and private addresses unless told
	// not to: only the configured networks are proxies here.
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// Handler is the root http.Handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Echo exposes the router for graceful shutdown.
func (s *Server) Echo() *echo.Echo { return s.echo }
