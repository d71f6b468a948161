package oauthclients

import (
	"strings"
	"testing"

	"github.com/oauthd/oauthd/internal/credential"
	"github.com/oauthd/oauthd/internal/fault"
)

func TestCheckCredential(t *testing.T) {
	for _, tc := range []struct {
		name, value, code string
	}{
		{"plain", "3MVG9.abc-DEF_123", ""},
		{"space and tilde edges", " ~", ""},
		{"all printable", func() string {
			var b strings.Builder
			for c := byte(0x20); c <= 0x7e; c++ {
				b.WriteByte(c)
			}
			return b.String()
		}(), ""},
		{"empty", "", "required"},
		{"tab", "a\tb", "invalid_characters"},
		{"newline", "a\nb", "invalid_characters"},
		{"nul", "a\x00b", "invalid_characters"},
		{"del", "a\x7fb", "invalid_characters"},
		{"e acute", "café", "invalid_characters"},
		{"emoji", "key😀", "invalid_characters"},
		{"invalid utf-8", "a\xffb", "invalid_characters"},
		{"too long", strings.Repeat("x", maxClientID+1), "too_long"},
		{"longest", strings.Repeat("x", maxClientID), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ps fault.Problems
			checkCredential(&ps, "client_id", tc.value, maxClientID)
			if tc.code == "" {
				if len(ps) != 0 {
					t.Fatalf("%q: unexpected problems %v", tc.value, ps)
				}
				return
			}
			if len(ps) != 1 || ps[0].Code != tc.code || ps[0].Attribute != "client_id" {
				t.Fatalf("%q: problems %+v, want one %s on client_id", tc.value, ps, tc.code)
			}
		})
	}
}

func TestHintOf(t *testing.T) {
	for secret, want := range map[string]string{
		"a-long-enough-secret": "cret",
		"123456789012":         "9012",
		"12345678901":          "", // too short: a hint would give away too much of it
		"":                     "",
	} {
		if got := credential.Hint(secret); got != want {
			t.Errorf("credential.Hint(%q) = %q, want %q", secret, got, want)
		}
	}
}
