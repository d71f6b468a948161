package tenants

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/fault"
)

// ErrWrongPassword is ChangePassword's answer to a wrong current password.
var ErrWrongPassword = fault.InvalidAttribute("current_password", "wrong_password", "the current password is not correct")

// ChangePassword sets a user's own password, after checking the current
// one: a session left open on a shared computer must not be enough to
// lock its owner out. A user without a password (API keys only) sets a
// first one without giving a current one.
func (s *Service) ChangePassword(ctx context.Context, userID uuid.UUID, current, next string) error {
	u, err := s.store.user(ctx, userID)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	var ps fault.Problems
	if u.PasswordHash != nil && !u.CheckPassword(current) {
		ps.Add(ErrWrongPassword)
	}
	validatePassword(&ps, next)
	if err := ps.Err(); err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	_, err = s.UpdateUser(ctx, &Acting{UserID: userID}, userID, UserPatch{Password: &next})
	return err
}
