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
	// ErrAPIKeyExceedsOwn: an API key carries every right of its user in
	// every tenant, so only that user (with their own API key, not a
	// token) or a superuser may mint one.
	ErrAPIKeyExceedsOwn = fault.New(fault.Forbidden, "api_key_exceeds_own",
		"an API key carries all of its user's rights; only that user, signed in with an API key, or a superuser may create one")
	// ErrSuperuserRequired: only a superuser may make or unmake one.
	ErrSuperuserRequired = &fault.Problem{Kind: fault.Forbidden, Code: "superuser_required",
		Detail: "only a superuser may change superuser", Attribute: "superuser"}
	ErrTenantInUse = fault.New(fault.Conflict, "tenant_in_use", "other tenants use this tenant's global components; delete or move their OAuth clients and flows first")
)
