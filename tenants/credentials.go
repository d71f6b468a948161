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

// passwordCost is bcrypt's work factor for user passwords (low-entropy
// secrets deserve a slow hash; API keys do not need one).
var passwordCost = 12

// SetPasswordCostForTests lowers bcrypt's cost so test suites stay fast.
func SetPasswordCostForTests() { passwordCost = bcrypt.MinCost }

// ValidBootstrapKey reports whether key may be used as a bootstrap API key.
func ValidBootstrapKey(key string) bool { return bootstrapKeyPattern.MatchString(key) }

func hashPassword(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), passwordCost)
	return string(h), err
}

// CheckPassword reports whether pw matches the user's password hash.
func (u *User) CheckPassword(pw string) bool {
	if u.PasswordHash == nil {
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(*u.PasswordHash), []byte(pw)) == nil
}
