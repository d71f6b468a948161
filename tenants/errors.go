package tenants

import "github.com/oauthd/oauthd/internal/fault"

// Problems this package reports.
var (
	ErrUnauthenticated = fault.New(fault.Malformed, "unauthenticated", "the credentials are missing or wrong")
	ErrUserNotFound    = fault.New(fault.NotFound, "user_not_found", "no such user")
	ErrTenantNotFound  = fault.New(fault.NotFound, "tenant_not_found", "no such tenant")
	ErrMemberNotFound  = fault.New(fault.NotFound, "member_not_found", "no such member in this tenant")
	ErrAPIKeyNotFound  = fault.New(fault.NotFound, "api_key_not_found", "no such API key")
	ErrEmailTaken      = &fault.Problem{Kind: fault.Conflict, Code: "email_taken", Detail: "a user with this email already exists", Attribute: "email"}
	ErrTenantNameTaken = &fault.Problem{Kind: fault.Conflict, Code: "tenant_name_taken", Detail: "a tenant with this name already exists", Attribute: "name"}
	ErrAlreadyMember   = &fault.Problem{Kind: fault.Conflict, Code: "already_member", Detail: "the user is already a member of this tenant", Relationship: "user"}
	ErrTenantInUse     = fault.New(fault.Conflict, "tenant_in_use", "other tenants use this tenant's global components; delete or move their OAuth clients and flows first")
)
