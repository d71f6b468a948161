// Package tenants owns tenants, users, memberships and API keys: who the
// callers are and which tenants they belong to. What members may do in a
// tenant is the policy package's business.
package tenants

import (
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/policy"
)

// User is a person or script that calls the API.
type User struct {
	ID    uuid.UUID
	Email string
	// EmailKey is what the email is looked up and kept unique by
	// (emailKey); nil only for a user whose email folded to an older
	// user's when migration 00090 gave existing users their keys.
	EmailKey     *string
	PasswordHash *string
	Superuser    bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// APIKey authenticates a user in basic auth as email:key. Only a digest of
// the key is stored.
type APIKey struct {
	ID         uuid.UUID
	UserID     uuid.UUID
	Name       string
	Digest     []byte
	Hint       string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// Tenant is a customer of the platform; everything else belongs to one.
type Tenant struct {
	ID        uuid.UUID
	Name      string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Membership makes a user a member of a tenant with some grants.
type Membership struct {
	TenantID  uuid.UUID
	UserID    uuid.UUID
	CreatedAt time.Time
	UpdatedAt time.Time

	Email  string        `gorm:"->;-:migration"`
	Grants policy.Grants `gorm:"-"`
}

// Acting is who calls a method that mints a credential or changes a user;
// nil stands for the admin commands, which have no limit.
type Acting struct {
	UserID    uuid.UUID
	Superuser bool
	// Scoped: the caller acts through an access token, whose rights are
	// narrower than its user's.
	Scoped bool
}

// NewUser is the input for creating a user.
type NewUser struct {
	Email     string
	Password  *string
	Superuser bool
}

// UserPatch changes the fields that are set.
type UserPatch struct {
	Email     *string
	Password  *string
	Superuser *bool
}

// MemberPatch changes the grants that are set.
type MemberPatch struct {
	Roles       *[]string
	Permissions *[]string
}
