package webhooks_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oauthd/oauthd/webhooks"
)

// Every action any service records in the audit trail must have an event
// type, so a new audited action cannot silently stay off the webhooks.
func TestEveryAuditActionInTheCodeHasAnEventType(t *testing.T) {
	// Literal actions in Record calls, and the action constants a package
	// passes to Record through a helper (connections' ActionRefreshed, ...).
	record := regexp.MustCompile(`\.Record\(ctx, [A-Za-z.]+, "([a-z_]+\.[a-z_]+)"|\bAction[A-Za-z]*\s+=\s+"([a-z_]+\.[a-z_]+)"`)
	found := 0
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && d.Name() != ".." || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range record.FindAllStringSubmatch(string(src), -1) {
			found++
			action := m[1] + m[2]
			if _, ok := webhooks.TypeOf(action); !ok {
				t.Errorf("%s records %q, which has no event type (add it to webhooks.EventTypes or the renamed table)", path, action)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 20 {
		t.Fatalf("found only %d audit actions: the pattern no longer matches the code", found)
	}
}

func TestTypeOf(t *testing.T) {
	for action, want := range map[string]string{
		"api_client.create": "api_client.created", "api_client_secret.delete": "api_client.secret_deleted",
		"oauth_client.reveal_secret": "oauth_client.secret_revealed", "api_client.revoke_tokens": "api_client.tokens_revoked",
		"member.update": "member.updated", "webhook.disable": "webhook.disabled", "connection.refresh_failed": "connection.refresh_failed",
		"connection.refreshed": "connection.refreshed", "authorization.revoke": "authorization.revoked",
	} {
		if got, ok := webhooks.TypeOf(action); !ok || got != want {
			t.Errorf("TypeOf(%q) = %q, %v; want %q", action, got, ok, want)
		}
	}
	for _, action := range []string{"tenant.create", "api_client.explode", "nonsense", ""} {
		if got, ok := webhooks.TypeOf(action); ok {
			t.Errorf("TypeOf(%q) = %q, want no event type", action, got)
		}
	}
}

func TestPatterns(t *testing.T) {
	for _, p := range []string{"*", "api_client.*", "webhook.*", "api_client.secret_expiring", "connection.refresh_failed"} {
		if !webhooks.ValidPattern(p) {
			t.Errorf("%q should be valid", p)
		}
	}
	for _, p := range []string{"", "**", "api_client", "nope.*", "api_client.exploded", ".*", "api_client.*.x", " *"} {
		if webhooks.ValidPattern(p) {
			t.Errorf("%q should be refused", p)
		}
	}
	cases := []struct {
		patterns []string
		typ      string
		want     bool
	}{
		{[]string{"*"}, "flow.created", true},
		{[]string{"api_client.*"}, "api_client.unused", true},
		{[]string{"api_client.*"}, "api_clientx.created", false},
		{[]string{"api_client.*"}, "oauth_client.created", false},
		{[]string{"flow.deleted", "member.*"}, "member.created", true},
		{[]string{"flow.deleted"}, "flow.created", false},
		{nil, "flow.created", false},
	}
	for _, c := range cases {
		if got := webhooks.Matches(c.patterns, c.typ); got != c.want {
			t.Errorf("Matches(%v, %q) = %v", c.patterns, c.typ, got)
		}
	}
}

func TestSignAndVerify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"e1","type":"flow.created"}`)
	header := webhooks.Sign(now, body, "whsec_new", "whsec_old")
	if !strings.HasPrefix(header, "t=1800000000,v1=") || strings.Count(header, "v1=") != 2 {
		t.Fatalf("header %q", header)
	}
	for _, secret := range []string{"whsec_new", "whsec_old"} {
		if err := webhooks.Verify(header, body, secret, now.Add(time.Minute), 5*time.Minute); err != nil {
			t.Errorf("%s: %v", secret, err)
		}
	}
	checks := []struct {
		name   string
		header string
		body   []byte
		secret string
		at     time.Time
		want   error
	}{
		{"wrong secret", header, body, "whsec_other", now, webhooks.ErrSignatureMismatch},
		{"tampered body", header, []byte(`{"id":"e2","type":"flow.created"}`), "whsec_new", now, webhooks.ErrSignatureMismatch},
		{"replayed later", header, body, "whsec_new", now.Add(10 * time.Minute), webhooks.ErrSignatureTooOld},
		{"from the future", header, body, "whsec_new", now.Add(-10 * time.Minute), webhooks.ErrSignatureTooOld},
		{"no signature", "t=1800000000", body, "whsec_new", now, webhooks.ErrSignatureMalformed},
		{"no timestamp", "v1=00", body, "whsec_new", now, webhooks.ErrSignatureMalformed},
		{"not hex", "t=1800000000,v1=zz", body, "whsec_new", now, webhooks.ErrSignatureMalformed},
		{"garbage", "garbage", body, "whsec_new", now, webhooks.ErrSignatureMalformed},
		{"moved timestamp", strings.Replace(header, "t=1800000000", "t=1800000001", 1), body, "whsec_new", now, webhooks.ErrSignatureMismatch},
	}
	for _, c := range checks {
		if err := webhooks.Verify(c.header, c.body, c.secret, c.at, 5*time.Minute); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("t=1800000000,v1=abcd", []byte("{}"))
	f.Add("t=,v1=,v1", []byte(""))
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		err := webhooks.Verify(header, body, "whsec_fuzz", time.Unix(1_800_000_000, 0), time.Hour)
		if err == nil && !strings.Contains(header, webhooks.Sign(time.Unix(1_800_000_000, 0), body, "whsec_fuzz")[13:]) {
			// A header that verifies must carry the real signature.
			t.Fatalf("accepted %q", header)
		}
	})
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pw@hooks.example.com/x?token=abc#frag": "https://hooks.example.com/x",
		"https://hooks.example.com/path":                     "https://hooks.example.com/path",
		"::not a url":                                        "",
	} {
		if got := webhooks.RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBackoffRetriesForADay(t *testing.T) {
	var total time.Duration
	attempts := 1
	for total < webhooks.RetryFor {
		d := webhooks.Backoff(attempts)
		if attempts == 1 && d > 30*time.Second {
			t.Fatalf("first retry after %v, want within 30 s", d)
		}
		total += d
		attempts++
	}
	if attempts < 12 || attempts > 20 {
		t.Fatalf("%d attempts fit in %v", attempts, webhooks.RetryFor)
	}
}
