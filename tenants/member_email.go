package tenants

import (
	"context"
	"errors"
	"strings"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/fault"
	"github.com/oauthd/oauthd/policy"
)

// ErrNoUserWithEmail is AddMemberByEmail's answer to an email no user has.
var ErrNoUserWithEmail = &fault.Problem{Kind: fault.NotFound, Code: "user_not_found", Attribute: "email",
	Detail: "no user has this email; a superuser creates users, then they can be added"}

// AddMemberByEmail is AddMember for the user with this email (compared
// without regard to case), as the console's "add by email" asks; the
// problem sits on the email attribute.
func (s *Service) AddMemberByEmail(ctx context.Context, tenantID uuid.UUID, email string, g policy.Grants, may policy.Allowance) (*Membership, error) {
	email = strings.TrimSpace(email)
	var ps fault.Problems
	validateEmail(&ps, email)
	if err := ps.Err(); err != nil {
		return nil, err
	}
	u, err := s.UserByEmail(ctx, email)
	if errors.Is(err, ErrUserNotFound) {
		return nil, ErrNoUserWithEmail
	}
	if err != nil {
		return nil, err
	}
	return s.AddMember(ctx, tenantID, u.ID, g, may)
}
