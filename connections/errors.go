package connections

import "github.com/oauthd/oauthd/internal/fault"

// Problems this package reports.
var (
	ErrNotFound = fault.New(fault.NotFound, "connection_not_found", "no such connection in this tenant")
	// ErrComponentNotFound is the same answer for a component that does not
	// exist and for another tenant's private one: existence is not leaked.
	ErrComponentNotFound = &fault.Problem{Kind: fault.NotFound, Code: "component_not_found",
		Detail: "no component with this id is visible to this tenant", Relationship: "component"}
	ErrComponentNotConnectable = &fault.Problem{Kind: fault.Invalid, Code: "component_not_connectable",
		Detail:       `the component's descriptor must say "useOAuthClient": true and give oauth2.auth_uri and oauth2.token_uri before accounts can be connected through it`,
		Relationship: "component"}
	// ErrOAuthClientRequired: the tenant has no OAuth client for the component.
	ErrOAuthClientRequired = fault.New(fault.Conflict, "oauth_client_required",
		"this tenant has no OAuth client for the component; create one at /v2/tenants/{tenant_id}/oauth-clients first")
	ErrNameTaken = &fault.Problem{Kind: fault.Conflict, Code: "connection_name_taken",
		Detail: "this tenant already has a connection with this name", Attribute: "name"}
	ErrNotReady = fault.New(fault.Conflict, "connection_not_ready",
		"the connection has no tokens yet: its account's owner must open the authorize_url (POST .../reconnect gives a new one)")
	ErrNeedsReconnect = fault.New(fault.Conflict, "connection_needs_reconnect",
		"the connection cannot get tokens until it is connected again: POST .../reconnect and open the new authorize_url")
	// ErrRefreshBackoff: the provider failed transiently, no valid token is
	// left, and the next attempt waits (RetryAfter).
	ErrRefreshBackoff = fault.New(fault.Unavailable, "connection_refresh_backoff",
		"the provider failed to refresh the token and no valid token is left; retry after the time in Retry-After")

	// The browser dance's problems, shown on the /connect pages.
	ErrLinkInvalid = fault.New(fault.NotFound, "authorize_link_invalid",
		"this connection link is unknown, was already used, or has expired; ask for a new one (reconnect)")
	ErrStateInvalid = fault.New(fault.NotFound, "authorization_state_invalid",
		"this answer from the provider does not belong to an authorization in progress: it was already used, expired, or was never started here")
	ErrWrongBrowser = fault.New(fault.Forbidden, "authorization_wrong_browser",
		"this answer from the provider reached a different browser than the one that started the connection; start again from the connection link in one browser")
)
