// Package policy decides who may do what in a tenant. It holds the Casbin
// model (RBAC with domains, the domain being the tenant), the catalogue of
// permission names, the roles (rows of role_permissions, the same for every
// tenant) and each member's roles and single permissions in a tenant
// (member_grants, which go with the membership and the tenant).
package policy

import (
	"slices"
	"strings"
)

// The permission catalogue. Names follow elastic.io's OAuth clients management docs: tenants.<resource>.<action>.
const (
	OAuthClientsGet          = "tenants.oauth_clients.get"
	OAuthClientsCreate       = "tenants.oauth_clients.create"
	OAuthClientsEdit         = "tenants.oauth_clients.edit"
	OAuthClientsDelete       = "tenants.oauth_clients.delete"
	OAuthClientsRevealSecret = "tenants.oauth_clients.reveal_secret"
	ComponentsGet            = "tenants.components.get"
	ComponentsCreate         = "tenants.components.create"
	ComponentsEdit           = "tenants.components.edit"
	ComponentsDelete         = "tenants.components.delete"
	FlowsGet                 = "tenants.flows.get"
	FlowsCreate              = "tenants.flows.create"
	FlowsEdit                = "tenants.flows.edit"
	FlowsDelete              = "tenants.flows.delete"
	APIClientsGet            = "tenants.api_clients.get"
	APIClientsCreate         = "tenants.api_clients.create"
	APIClientsEdit           = "tenants.api_clients.edit"
	APIClientsDelete         = "tenants.api_clients.delete"
	MembersGet               = "tenants.members.get"
	MembersCreate            = "tenants.members.create"
	MembersEdit              = "tenants.members.edit"
	MembersDelete            = "tenants.members.delete"
	AuditGet                 = "tenants.audit.get"
	// Connections: tenants' accounts at providers. token is the right to
	// take a connection's access token (the platform backend's).
	ConnectionsGet    = "tenants.connections.get"
	ConnectionsCreate = "tenants.connections.create"
	ConnectionsEdit   = "tenants.connections.edit"
	ConnectionsDelete = "tenants.connections.delete"
	ConnectionsToken  = "tenants.connections.token"
	WebhooksGet       = "tenants.webhooks.get"
	WebhooksCreate    = "tenants.webhooks.create"
	WebhooksEdit      = "tenants.webhooks.edit"
	WebhooksDelete    = "tenants.webhooks.delete"
)

// Catalogue lists every permission, in a stable order.
var Catalogue = []string{
	OAuthClientsGet, OAuthClientsCreate, OAuthClientsEdit, OAuthClientsDelete, OAuthClientsRevealSecret,
	ComponentsGet, ComponentsCreate, ComponentsEdit, ComponentsDelete,
	FlowsGet, FlowsCreate, FlowsEdit, FlowsDelete,
	APIClientsGet, APIClientsCreate, APIClientsEdit, APIClientsDelete,
	MembersGet, MembersCreate, MembersEdit, MembersDelete,
	AuditGet,
	ConnectionsGet, ConnectionsCreate, ConnectionsEdit, ConnectionsDelete, ConnectionsToken,
	WebhooksGet, WebhooksCreate, WebhooksEdit, WebhooksDelete,
}

// ValidPermission reports whether p names a catalogue permission, or is a
// pattern ending in ".*" that matches at least one.
func ValidPermission(p string) bool {
	if prefix, ok := strings.CutSuffix(p, "*"); ok {
		if !strings.HasSuffix(prefix, ".") {
			return false
		}
		return slices.ContainsFunc(Catalogue, func(c string) bool { return strings.HasPrefix(c, prefix) })
	}
	return slices.Contains(Catalogue, p)
}

// Matches reports whether the granted permission or pattern covers perm,
// with the same rule Casbin's keyMatch applies.
func Matches(granted, perm string) bool {
	if prefix, ok := strings.CutSuffix(granted, "*"); ok {
		return strings.HasPrefix(perm, prefix)
	}
	return granted == perm
}
