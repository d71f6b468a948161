package api

import (
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/oauthd/oauthd/policy"
)

// routes is the one table of every endpoint and its guards.
func (s *Server) routes(e *echo.Echo) {
	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(s.deps.Registry, promhttp.HandlerOpts{})))

	v2 := e.Group("/v2", negotiate, s.authenticate)

	// Administration: superusers manage tenants and users.
	v2.GET("/tenants", s.listTenants) // members see the tenants they belong to
	v2.POST("/tenants", s.createTenant, superuserOnly)
	v2.GET("/users", s.listUsers, superuserOnly)
	v2.POST("/users", s.createUser, superuserOnly)
	user := v2.Group("/users/:uid", s.selfOrSuperuser)
	user.GET("", s.getUser)
	user.PATCH("", s.updateUser)
	user.DELETE("", s.deleteUser, superuserOnly)
	user.GET("/api-keys", s.listAPIKeys)
	user.POST("/api-keys", s.createAPIKey)
	user.DELETE("/api-keys/:kid", s.deleteAPIKey)

	t := v2.Group("/tenants/:tid", s.tenantScope)
	t.GET("", s.getTenant)
	t.PATCH("", s.updateTenant, superuserOnly)
	t.DELETE("", s.deleteTenant, superuserOnly)

	t.GET("/members", s.listMembers, s.require(policy.MembersGet))
	t.POST("/members", s.createMember, s.require(policy.MembersCreate))
	t.GET("/members/:uid", s.getMember, s.require(policy.MembersGet))
	t.PATCH("/members/:uid", s.updateMember, s.require(policy.MembersEdit))
	t.DELETE("/members/:uid", s.deleteMember, s.require(policy.MembersDelete))

	t.GET("/components", s.listComponents, s.require(policy.ComponentsGet))
	t.POST("/components", s.createComponent, s.require(policy.ComponentsCreate))
	t.GET("/components/:id", s.getComponent, s.require(policy.ComponentsGet))
	t.PATCH("/components/:id", s.updateComponent, s.require(policy.ComponentsEdit))
	t.DELETE("/components/:id", s.deleteComponent, s.require(policy.ComponentsDelete))

	t.GET("/flows", s.listFlows, s.require(policy.FlowsGet))
	t.POST("/flows", s.createFlow, s.require(policy.FlowsCreate))
	t.GET("/flows/:id", s.getFlow, s.require(policy.FlowsGet))
	t.PATCH("/flows/:id", s.updateFlow, s.require(policy.FlowsEdit))
	t.DELETE("/flows/:id", s.deleteFlow, s.require(policy.FlowsDelete))

	t.GET("/oauth-clients", s.listOAuthClients, s.require(policy.OAuthClientsGet))
	t.POST("/oauth-clients", s.createOAuthClient, s.require(policy.OAuthClientsCreate))
	t.GET("/oauth-clients/:id", s.getOAuthClient, s.require(policy.OAuthClientsGet))
	t.PATCH("/oauth-clients/:id", s.updateOAuthClient, s.require(policy.OAuthClientsEdit))
	t.DELETE("/oauth-clients/:id", s.deleteOAuthClient, s.require(policy.OAuthClientsDelete))
	t.GET("/oauth-clients/:id/secret", s.revealOAuthClientSecret, s.require(policy.OAuthClientsRevealSecret))

	t.GET("/audit-events", s.listAuditEvents, s.require(policy.AuditGet))
}
