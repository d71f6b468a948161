package oauthclients

import "github.com/oauthd/oauthd/internal/fault"

// Problems this package reports.
var (
	ErrNotFound = fault.New(fault.NotFound, "oauth_client_not_found", "no such OAuth client in this tenant")
	// ErrComponentNotFound is the same answer for a component that does not
	// exist and for another tenant's private one: existence is not leaked.
	ErrComponentNotFound = &fault.Problem{Kind: fault.NotFound, Code: "component_not_found",
		Detail: "no component with this id is visible to this tenant", Relationship: "component"}
	ErrComponentWithoutOAuth = &fault.Problem{Kind: fault.Invalid, Code: "component_does_not_use_oauth_client",
		Detail: `the component's descriptor must say "useOAuthClient": true before an OAuth client can be defined for it`, Relationship: "component"}
	ErrExists = &fault.Problem{Kind: fault.Conflict, Code: "oauth_client_exists",
		Detail: "this tenant already has an OAuth client for this component; update or delete that one", Relationship: "component"}
	ErrInUse = fault.New(fault.Conflict, "oauth_client_in_use", "flows in this tenant include the component of this OAuth client")
)
