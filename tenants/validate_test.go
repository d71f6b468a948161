package tenants

import (
	"strings"
	"testing"

	"github.com/oauthd/oauthd/internal/credential"
	"github.com/oauthd/oauthd/internal/fault"
)

func TestValidateEmail(t *testing.T) {
	for _, c := range []struct {
		email string
		code  string // "" means valid
	}{
		{"ada@example.com", ""},
		{"Ada.Lovelace+tag@Example.co.uk", ""},
		{"", "required"},
		{"ada", "invalid_email"},
		{"ada@", "invalid_email"},
		{"Ada <ada@example.com>", "invalid_email"},
		{" ada@example.com", "invalid_email"},
		{"ada@example.com\n", "invalid_email"},
		{strings.Repeat("a", 250) + "@x.io", "too_long"},
	} {
		var ps fault.Problems
		validateEmail(&ps, c.email)
		switch {
		case c.code == "" && len(ps) != 0:
			t.Errorf("%q refused: %v", c.email, ps)
		case c.code != "" && (len(ps) != 1 || ps[0].Code != c.code || ps[0].Attribute != "email"):
			t.Errorf("%q: problems %v, want one %s on email", c.email, ps, c.code)
		}
	}
}

func TestValidateName(t *testing.T) {
	for _, c := range []struct {
		name string
		code string
	}{
		{"acme", ""},
		{"Acme Corp. (EU)", ""},
		{"Ünïcødé", ""},
		{"", "required"},
		{"   ", "required"},
		{" acme", "surrounding_space"},
		{"acme\t", "surrounding_space"},
		{"ac\x00me", "unprintable"},
		{"ac\nme", "unprintable"},
		{strings.Repeat("n", 201), "too_long"},
		{strings.Repeat("n", 200), ""},
	} {
		var ps fault.Problems
		ValidateName(&ps, "name", c.name)
		switch {
		case c.code == "" && len(ps) != 0:
			t.Errorf("%q refused: %v", c.name, ps)
		case c.code != "" && (len(ps) != 1 || ps[0].Code != c.code || ps[0].Attribute != "name"):
			t.Errorf("%q: problems %v, want one %s", c.name, ps, c.code)
		}
	}
}

func TestValidBootstrapKey(t *testing.T) {
	for key, want := range map[string]bool{
		strings.Repeat("a", 32):            true,
		strings.Repeat("Az09_-", 22)[:128]: true,
		strings.Repeat("a", 31):            false,
		strings.Repeat("a", 129):           false,
		strings.Repeat("a", 31) + "=":      false,
		strings.Repeat("a", 31) + ".":      false,
		strings.Repeat("a", 31) + "\n":     false,
		"":                                 false,
	} {
		if got := ValidBootstrapKey(key); got != want {
			t.Errorf("ValidBootstrapKey(%q) = %v, want %v", key, got, want)
		}
	}
	// Generated keys obey the same alphabet (URL-safe, no escaping).
	for range 20 {
		k := credential.Random(apiKeyPrefix, 32)
		if !ValidBootstrapKey(k) {
			t.Errorf("generated key %q is not URL-safe or is too short", k)
		}
	}
}
