package tenants

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/oauthd/oauthd/internal/emailkey"
	"github.com/oauthd/oauthd/internal/fault"
	"github.com/oauthd/oauthd/policy"
)

const (
	maxEmail     = 254
	minPassword  = 8
	maxPassword  = 72 // bcrypt's limit
	maxName      = 200
	maxGrantList = 50
)

// NormalizeEmail is an email as oauthd keeps and compares it: Unicode NFC,
// so the composed and decomposed spellings of one address (é as one code
// point or as e and a combining accent) are one user. Case is folded where
// emails are compared, by emailKey.
func NormalizeEmail(email string) string { return norm.NFC.String(email) }

// emailKey is the key users are looked up by and unique on
// (users.email_key): NFC and Unicode case folding, in Go, so ÉVA@x.test
// and éva@x.test are one user whatever the database's locale.
func emailKey(email string) string { return emailkey.Of(email) }

// invisible reports a character that must not be in an email: control and
// format characters (zero-width spaces and joiners, the bidi overrides
// U+202A-U+202E and isolates U+2066-U+2069), line and paragraph
// separators, private-use code points and any bidi control, which make
// two addresses look alike or one look like another.
// (ASCII control characters make an invalid address, as before.)
func invisible(r rune) bool {
	return r >= utf8.RuneSelf &&
		(unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co, unicode.Bidi_Control) || r == utf8.RuneError)
}

func validateEmail(ps *fault.Problems, email string) {
	addr, err := mail.ParseAddress(email)
	switch {
	case email == "":
		ps.Add(fault.InvalidAttribute("email", "required", "email is required"))
	case len(email) > maxEmail:
		ps.Add(fault.InvalidAttribute("email", "too_long", fmt.Sprintf("email must be at most %d characters", maxEmail)))
	case strings.IndexFunc(email, invisible) >= 0:
		ps.Add(fault.InvalidAttribute("email", "invisible_character",
			"email must not contain control, format or bidirectional-control characters (such as U+200B or U+202E)"))
	case err != nil || addr.Address != email || addr.Name != "":
		ps.Add(fault.InvalidAttribute("email", "invalid_email", "email must be a plain address such as ada@example.com"))
	}
}

func validatePassword(ps *fault.Problems, pw string) {
	switch {
	case utf8.RuneCountInString(pw) < minPassword:
		ps.Add(fault.InvalidAttribute("password", "too_short", fmt.Sprintf("password must be at least %d characters", minPassword)))
	case len(pw) > maxPassword:
		ps.Add(fault.InvalidAttribute("password", "too_long", fmt.Sprintf("password must be at most %d bytes", maxPassword)))
	case !utf8.ValidString(pw):
		ps.Add(fault.InvalidAttribute("password", "invalid_utf8", "password must be valid UTF-8"))
	}
}

// ValidateName checks a display name: present, not too long, printable.
func ValidateName(ps *fault.Problems, attr, name string) {
	trimmed := strings.TrimSpace(name)
	switch {
	case trimmed == "":
		ps.Add(fault.InvalidAttribute(attr, "required", attr+" must not be blank"))
	case utf8.RuneCountInString(name) > maxName:
		ps.Add(fault.InvalidAttribute(attr, "too_long", fmt.Sprintf("%s must be at most %d characters", attr, maxName)))
	case trimmed != name:
		ps.Add(fault.InvalidAttribute(attr, "surrounding_space", attr+" must not start or end with white space"))
	case strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		ps.Add(fault.InvalidAttribute(attr, "unprintable", attr+" must not contain control or unprintable characters"))
	}
}

// roleChecker tells which role names exist; the policy enforcer is one.
type roleChecker interface {
	Roles() []string
}

func validateGrants(ps *fault.Problems, roles roleChecker, g policy.Grants) {
	known := roles.Roles()
	if len(g.Roles) > maxGrantList {
		ps.Add(fault.InvalidAttribute("roles", "too_many", fmt.Sprintf("at most %d roles", maxGrantList)))
	}
	if len(g.Permissions) > maxGrantList {
		ps.Add(fault.InvalidAttribute("permissions", "too_many", fmt.Sprintf("at most %d permissions", maxGrantList)))
	}
	seen := map[string]bool{}
	for _, r := range g.Roles {
		if !contains(known, r) {
			ps.Add(fault.InvalidAttribute("roles", "unknown_role", fmt.Sprintf("unknown role %q; roles are %s", fault.Short(r), strings.Join(known, ", "))))
		} else if seen["r:"+r] {
			ps.Add(fault.InvalidAttribute("roles", "duplicate", fmt.Sprintf("role %q is listed twice", fault.Short(r))))
		}
		seen["r:"+r] = true
	}
	for _, p := range g.Permissions {
		if !policy.ValidPermission(p) {
			ps.Add(fault.InvalidAttribute("permissions", "unknown_permission", fmt.Sprintf("unknown permission %q", fault.Short(p))))
		} else if seen["p:"+p] {
			ps.Add(fault.InvalidAttribute("permissions", "duplicate", fmt.Sprintf("permission %q is listed twice", fault.Short(p))))
		}
		seen["p:"+p] = true
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
