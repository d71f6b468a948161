package api

import (
	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/policy"
)

// consoleRoutes is the table of the console's pages and their guards:
// signed in (else to the sign-in page and back; a form post needs its
// CSRF token), a member of the tenant (else 404), and the permission the
// same action needs on the API (else 403).
func (s *Server) consoleRoutes(e *echo.Echo) {
	con := s.console
	e.GET("/console/static/:name", con.Static)
	e.GET("/console", con.Home, con.SignedIn)
	e.GET("/console/account", con.Account, con.SignedIn)
	e.POST("/console/account/api-keys", con.CreateAPIKey, con.SignedIn)
	e.POST("/console/account/api-keys/:kid/delete", con.DeleteAPIKey, con.SignedIn)
	e.POST("/console/account/password", con.ChangePassword, con.SignedIn)
	e.POST("/console/account/applications/:tid/:cid/revoke", con.RevokeAuthorization, con.SignedIn)

	t := e.Group("/console/tenants/:tid")
	member := func(mw ...echo.MiddlewareFunc) []echo.MiddlewareFunc {
		return append([]echo.MiddlewareFunc{con.SignedIn, con.InTenant}, mw...)
	}
	can := func(perm string) []echo.MiddlewareFunc { return member(con.Require(perm)) }
	t.GET("", con.TenantHome, member()...)

	t.GET("/oauth-clients", con.OAuthClients, can(policy.OAuthClientsGet)...)
	t.GET("/oauth-clients/new", con.NewOAuthClient, can(policy.OAuthClientsCreate)...)
	t.POST("/oauth-clients", con.CreateOAuthClient, can(policy.OAuthClientsCreate)...)
	t.GET("/oauth-clients/:id", con.OAuthClient, can(policy.OAuthClientsGet)...)
	t.POST("/oauth-clients/:id", con.UpdateOAuthClient, can(policy.OAuthClientsEdit)...)
	t.GET("/oauth-clients/:id/delete", con.DeleteOAuthClientPage, can(policy.OAuthClientsDelete)...)
	t.POST("/oauth-clients/:id/delete", con.DeleteOAuthClient, can(policy.OAuthClientsDelete)...)
	t.GET("/oauth-clients/:id/reveal", con.RevealOAuthClientPage, can(policy.OAuthClientsRevealSecret)...)
	t.POST("/oauth-clients/:id/reveal", con.RevealOAuthClient, can(policy.OAuthClientsRevealSecret)...)

	t.GET("/api-clients", con.APIClients, can(policy.APIClientsGet)...)
	t.GET("/api-clients/new", con.NewAPIClient, can(policy.APIClientsCreate)...)
	t.POST("/api-clients", con.CreateAPIClient, can(policy.APIClientsCreate)...)
	t.GET("/api-clients/:id", con.APIClient, can(policy.APIClientsGet)...)
	t.POST("/api-clients/:id/secrets", con.CreateAPIClientSecret, can(policy.APIClientsEdit)...)
	t.POST("/api-clients/:id/secrets/:sid/delete", con.DeleteAPIClientSecret, can(policy.APIClientsEdit)...)
	t.GET("/api-clients/:id/revoke-tokens", con.RevokeTokensPage, can(policy.APIClientsEdit)...)
	t.POST("/api-clients/:id/revoke-tokens", con.RevokeTokens, can(policy.APIClientsEdit)...)
	t.GET("/api-clients/:id/revoke", con.RevokeAPIClientPage, can(policy.APIClientsDelete)...)
	t.POST("/api-clients/:id/revoke", con.RevokeAPIClient, can(policy.APIClientsDelete)...)

	t.GET("/components", con.Components, can(policy.ComponentsGet)...)
	t.GET("/components/new", con.NewComponent, can(policy.ComponentsCreate)...)
	t.POST("/components", con.CreateComponent, can(policy.ComponentsCreate)...)
	t.GET("/components/:id", con.Component, can(policy.ComponentsGet)...)
	t.POST("/components/:id", con.UpdateComponent, can(policy.ComponentsEdit)...)
	t.GET("/components/:id/delete", con.DeleteComponentPage, can(policy.ComponentsDelete)...)
	t.POST("/components/:id/delete", con.DeleteComponent, can(policy.ComponentsDelete)...)

	t.GET("/flows", con.Flows, can(policy.FlowsGet)...)
	t.GET("/flows/new", con.NewFlow, can(policy.FlowsCreate)...)
	t.POST("/flows", con.CreateFlow, can(policy.FlowsCreate)...)
	t.GET("/flows/:id", con.Flow, can(policy.FlowsGet)...)
	t.POST("/flows/:id", con.UpdateFlow, can(policy.FlowsEdit)...)
	t.GET("/flows/:id/delete", con.DeleteFlowPage, can(policy.FlowsDelete)...)
	t.POST("/flows/:id/delete", con.DeleteFlow, can(policy.FlowsDelete)...)

	t.GET("/connections", con.Connections, can(policy.ConnectionsGet)...)
	t.GET("/connections/new", con.NewConnection, can(policy.ConnectionsCreate)...)
	t.POST("/connections", con.CreateConnection, can(policy.ConnectionsCreate)...)
	t.GET("/connections/:id", con.Connection, can(policy.ConnectionsGet)...)
	t.POST("/connections/:id/reconnect", con.ReconnectConnection, can(policy.ConnectionsEdit)...)
	t.POST("/connections/:id/refresh", con.RefreshConnection, can(policy.ConnectionsEdit)...)
	t.GET("/connections/:id/delete", con.DeleteConnectionPage, can(policy.ConnectionsDelete)...)
	t.POST("/connections/:id/delete", con.DeleteConnection, can(policy.ConnectionsDelete)...)

	t.GET("/members", con.Members, can(policy.MembersGet)...)
	t.GET("/members/new", con.NewMember, can(policy.MembersCreate)...)
	t.POST("/members", con.CreateMember, can(policy.MembersCreate)...)
	t.GET("/members/:uid", con.Member, can(policy.MembersGet)...)
	t.POST("/members/:uid", con.UpdateMember, can(policy.MembersEdit)...)
	t.GET("/members/:uid/remove", con.RemoveMemberPage, can(policy.MembersDelete)...)
	t.POST("/members/:uid/remove", con.RemoveMember, can(policy.MembersDelete)...)

	t.GET("/webhooks", con.Webhooks, can(policy.WebhooksGet)...)
	t.GET("/webhooks/new", con.NewWebhook, can(policy.WebhooksCreate)...)
	t.POST("/webhooks", con.CreateWebhook, can(policy.WebhooksCreate)...)
	t.GET("/webhooks/:id", con.Webhook, can(policy.WebhooksGet)...)
	t.POST("/webhooks/:id", con.UpdateWebhook, can(policy.WebhooksEdit)...)
	t.POST("/webhooks/:id/enable", con.EnableWebhook, can(policy.WebhooksEdit)...)
	t.POST("/webhooks/:id/disable", con.DisableWebhook, can(policy.WebhooksEdit)...)
	t.POST("/webhooks/:id/secrets", con.RotateWebhookSecret, can(policy.WebhooksEdit)...)
	t.POST("/webhooks/:id/secrets/:sid/delete", con.DeleteWebhookSecret, can(policy.WebhooksEdit)...)
	t.GET("/webhooks/:id/deliveries", con.WebhookDeliveries, can(policy.WebhooksGet)...)
	t.GET("/webhooks/:id/delete", con.DeleteWebhookPage, can(policy.WebhooksDelete)...)
	t.POST("/webhooks/:id/delete", con.DeleteWebhook, can(policy.WebhooksDelete)...)

	t.GET("/audit-events", con.AuditEvents, can(policy.AuditGet)...)
}
