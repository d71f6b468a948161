package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/api/oauth2"
	"github.com/oauthd/oauthd/connections"
	"github.com/oauthd/oauthd/policy"
)

// routes is the one table of every endpoint and its guards.
func (s *Server) routes(e *echo.Echo) {
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	// The API describes itself: the spec, and a page that renders it.
	e.GET("/openapi.yaml", echo.WrapHandler(http.HandlerFunc(s.docs.Spec)))
	e.GET("/docs", echo.WrapHandler(http.HandlerFunc(s.docs.Page)))
	e.GET("/docs/assets/:name", s.docsAsset)

	// The OAuth 2.0 authorization server (RFC errors, not JSON:API).
	e.POST("/oauth/token", s.oauth.Token)
	e.POST("/oauth/revoke", s.oauth.Revoke)
	e.POST("/oauth/introspect", s.oauth.Introspect)
	e.POST("/oauth/device_authorization", s.oauth.DeviceAuthorization)
	// The browser pages: plain HTML forms (sign-in, consent, device code).
	e.GET("/oauth/authorize", s.oauth.Authorize)
	e.POST("/oauth/authorize", s.oauth.AuthorizeDecision)
	e.GET("/oauth/sign-in", s.oauth.SignInPage)
	e.POST("/oauth/sign-in", s.oauth.SignIn)
	e.POST("/oauth/sign-out", s.oauth.SignOut)
	e.GET("/device", s.oauth.DevicePage)
	e.POST("/device", s.oauth.DeviceCode)
	e.POST("/device/decision", s.oauth.DeviceDecision)
	// The connection pages: a connection's authorize_url, and where the
	// provider sends the browser back.
	e.GET(connections.CallbackPath, s.oauth.ConnectCallback)
	e.GET(connections.LinkPathPrefix+":capability", s.oauth.ConnectStart)
	e.GET(oauth2.PathMetadata, echo.WrapHandler(oauth2.MetadataHandler(s.deps.Issuer)))
	e.GET(oauth2.PathJWKS, echo.WrapHandler(oauth2.JWKSHandler(s.deps.Keys)))

	// Middleware is attached per route, not to the group: a group with
	// middleware makes Echo add catch-all routes, which would turn a wrong
	// method (405) and an unknown path (404) into 401s.
	v2 := e.Group("/v2")
	authed := func(mw ...echo.MiddlewareFunc) []echo.MiddlewareFunc {
		return append([]echo.MiddlewareFunc{negotiate, s.authenticate}, mw...)
	}
	self := func(mw ...echo.MiddlewareFunc) []echo.MiddlewareFunc {
		return authed(append([]echo.MiddlewareFunc{usersOnly, s.selfOrSuperuser}, mw...)...)
	}
	tenant := func(mw ...echo.MiddlewareFunc) []echo.MiddlewareFunc {
		return authed(append([]echo.MiddlewareFunc{s.tenantScope}, mw...)...)
	}
	can := func(perm string) []echo.MiddlewareFunc { return tenant(s.require(perm)) }

	// Administration: superusers manage tenants and users.
	v2.GET("/tenants", s.listTenants, authed(usersOnly)...) // members see the tenants they belong to
	v2.POST("/tenants", s.createTenant, authed(usersOnly, superuserOnly)...)
	v2.GET("/users", s.listUsers, authed(usersOnly, superuserOnly)...)
	v2.POST("/users", s.createUser, authed(usersOnly, superuserOnly)...)
	v2.GET("/users/:uid", s.getUser, self()...)
	v2.PATCH("/users/:uid", s.updateUser, self()...)
	v2.DELETE("/users/:uid", s.deleteUser, self(superuserOnly)...)
	v2.GET("/users/:uid/api-keys", s.listAPIKeys, self()...)
	v2.POST("/users/:uid/api-keys", s.createAPIKey, self()...)
	v2.DELETE("/users/:uid/api-keys/:kid", s.deleteAPIKey, self()...)

	t := e.Group("/v2/tenants/:tid")
	t.GET("", s.getTenant, tenant()...)
	t.PATCH("", s.updateTenant, tenant(usersOnly, superuserOnly)...)
	t.DELETE("", s.deleteTenant, tenant(usersOnly, superuserOnly)...)

	t.GET("/members", s.listMembers, can(policy.MembersGet)...)
	t.POST("/members", s.createMember, can(policy.MembersCreate)...)
	t.GET("/members/:uid", s.getMember, can(policy.MembersGet)...)
	t.PATCH("/members/:uid", s.updateMember, can(policy.MembersEdit)...)
	t.DELETE("/members/:uid", s.deleteMember, can(policy.MembersDelete)...)

	t.GET("/components", s.listComponents, can(policy.ComponentsGet)...)
	t.POST("/components", s.createComponent, can(policy.ComponentsCreate)...)
	t.GET("/components/:id", s.getComponent, can(policy.ComponentsGet)...)
	t.PATCH("/components/:id", s.updateComponent, can(policy.ComponentsEdit)...)
	t.DELETE("/components/:id", s.deleteComponent, can(policy.ComponentsDelete)...)

	t.GET("/flows", s.listFlows, can(policy.FlowsGet)...)
	t.POST("/flows", s.createFlow, can(policy.FlowsCreate)...)
	t.GET("/flows/:id", s.getFlow, can(policy.FlowsGet)...)
	t.PATCH("/flows/:id", s.updateFlow, can(policy.FlowsEdit)...)
	t.DELETE("/flows/:id", s.deleteFlow, can(policy.FlowsDelete)...)

	t.GET("/oauth-clients", s.listOAuthClients, can(policy.OAuthClientsGet)...)
	t.POST("/oauth-clients", s.createOAuthClient, can(policy.OAuthClientsCreate)...)
	t.GET("/oauth-clients/:id", s.getOAuthClient, can(policy.OAuthClientsGet)...)
	t.PATCH("/oauth-clients/:id", s.updateOAuthClient, can(policy.OAuthClientsEdit)...)
	t.DELETE("/oauth-clients/:id", s.deleteOAuthClient, can(policy.OAuthClientsDelete)...)
	t.GET("/oauth-clients/:id/secret", s.revealOAuthClientSecret, can(policy.OAuthClientsRevealSecret)...)

	v2.GET("/api-client-templates", s.listAPIClientTemplates, authed()...)
	t.GET("/api-clients", s.listAPIClients, can(policy.APIClientsGet)...)
	t.POST("/api-clients", s.createAPIClient, can(policy.APIClientsCreate)...)
	t.GET("/api-clients/:id", s.getAPIClient, can(policy.APIClientsGet)...)
	t.PATCH("/api-clients/:id", s.updateAPIClient, can(policy.APIClientsEdit)...)
	t.DELETE("/api-clients/:id", s.deleteAPIClient, can(policy.APIClientsDelete)...)
	t.POST("/api-clients/:id/revoke-tokens", s.revokeAPIClientTokens, can(policy.APIClientsEdit)...)
	t.GET("/api-clients/:id/secrets", s.listAPIClientSecrets, can(policy.APIClientsGet)...)
	t.POST("/api-clients/:id/secrets", s.createAPIClientSecret, can(policy.APIClientsEdit)...)
	t.DELETE("/api-clients/:id/secrets/:sid", s.deleteAPIClientSecret, can(policy.APIClientsEdit)...)

	// The legacy envVars link: a reveal of the client's secret.
	t.GET("/components/:id/oauth-config", s.componentOAuthConfig, can(policy.OAuthClientsRevealSecret)...)

	t.GET("/connections", s.listConnections, can(policy.ConnectionsGet)...)
	t.POST("/connections", s.createConnection, can(policy.ConnectionsCreate)...)
	t.GET("/connections/:id", s.getConnection, can(policy.ConnectionsGet)...)
	t.DELETE("/connections/:id", s.deleteConnection, can(policy.ConnectionsDelete)...)
	t.POST("/connections/:id/access-token", s.connectionAccessToken, can(policy.ConnectionsToken)...)
	t.POST("/connections/:id/refresh", s.refreshConnection, can(policy.ConnectionsEdit)...)
	t.POST("/connections/:id/reconnect", s.reconnectConnection, can(policy.ConnectionsEdit)...)

	t.GET("/audit-events", s.listAuditEvents, can(policy.AuditGet)...)

	s.consoleRoutes(e)
	t.GET("/webhooks", s.listWebhooks, can(policy.WebhooksGet)...)
	t.POST("/webhooks", s.createWebhook, can(policy.WebhooksCreate)...)
	t.GET("/webhooks/:id", s.getWebhook, can(policy.WebhooksGet)...)
	t.PATCH("/webhooks/:id", s.updateWebhook, can(policy.WebhooksEdit)...)
	t.DELETE("/webhooks/:id", s.deleteWebhook, can(policy.WebhooksDelete)...)
	t.GET("/webhooks/:id/secrets", s.listWebhookSecrets, can(policy.WebhooksGet)...)
	t.POST("/webhooks/:id/secrets", s.createWebhookSecret, can(policy.WebhooksEdit)...)
	t.DELETE("/webhooks/:id/secrets/:sid", s.deleteWebhookSecret, can(policy.WebhooksEdit)...)
	t.GET("/webhooks/:id/deliveries", s.listWebhookDeliveries, can(policy.WebhooksGet)...)
}
