package tenants

import (
	"regexp"

	"golang.org/x/crypto/bcrypt"
)

// apiKeyPrefix makes keys recognisable in logs and secret scanners.
const apiKeyPrefix = "oak_"

// bootstrapKeyPattern is what OAUTHD_BOOTSTRAP_SUPERUSER accepts as a key:
// long enough to be unguessable, URL-safe so it needs no escaping.
var bootstrapKeyPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{32,128}$`)

// DefaultPasswordCost is bcrypt's work factor for user passwords
// (low-entropy secrets deserve a slow hash; API keys do not need one).
const DefaultPasswordCost = 12

// ValidBootstrapKey reports whether key may be used as a bootstrap API key.
func ValidBootstrapKey(key string) bool { return bootstrapKeyPattern.MatchString(key) }

func (s *Service) hashPassword(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), s.opts.PasswordCost)
	return string(h), err
}

// CheckPassword reports whether pw matches the user's password hash.
func (u *User) CheckPassword(pw string) bool {
	if u.PasswordHash == nil {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(*u.PasswordHash), []byte(pw)) == nil
}
