package components

import "github.com/oauthd/oauthd/internal/fault"

// Problems this package reports.
var (
	ErrComponentNotFound = fault.New(fault.NotFound, "component_not_found", "no such component in this tenant")
	ErrFlowNotFound      = fault.New(fault.NotFound, "flow_not_found", "no such flow in this tenant")
	ErrNotOwned          = fault.New(fault.Forbidden, "component_not_owned", "this global component belongs to another tenant; it can be read and used but not changed")
	ErrComponentInUse    = fault.New(fault.Conflict, "component_in_use", "flows include this component")
	// ErrClientlessFlows refuses to make a component require an OAuth client
	// while flows of a tenant without one include it: those flows would use
	// a component they could not have been given (the rule flows enforce).
	ErrClientlessFlows  = &fault.Problem{Kind: fault.Conflict, Code: "component_in_use_without_oauth_client", Detail: "flows of tenants without an OAuth client include this component", Attribute: "descriptor/useOAuthClient"}
	ErrGlobalNeedsSuper = &fault.Problem{Kind: fault.Forbidden, Code: "global_requires_superuser", Detail: "only a superuser may make a component global", Attribute: "visibility"}
	// ErrGlobalDescriptorNeedsSuper: a global component's descriptor names
	// the provider endpoints that receive every tenant's OAuth client
	// secret and connection refresh tokens.
	// ErrEndpointsExceedOwn: moving the provider's endpoints moves where
	// the tenant's OAuth client secret and its connections' refresh tokens
	// go, so it takes a member who may read both.
	ErrEndpointsExceedOwn = &fault.Problem{Kind: fault.Forbidden, Code: "grant_exceeds_own",
		Detail:    "changing oauth2.auth_uri, token_uri or refresh_token_uri sends this tenant's OAuth client secret and its connections' refresh tokens to the new endpoints; it takes a member who holds tenants.oauth_clients.reveal_secret and tenants.connections.token",
		Attribute: "descriptor"}
	ErrGlobalDescriptorNeedsSuper = &fault.Problem{Kind: fault.Forbidden, Code: "global_requires_superuser",
		Detail:    "only a superuser may change a global component's descriptor: every tenant that uses it sends its OAuth client's secret and its connections' tokens where the descriptor says",
		Attribute: "descriptor"}
)
