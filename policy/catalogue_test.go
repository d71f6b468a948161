package policy_test

import (
	"testing"

	"github.com/oauthd/oauthd/policy"
)

func TestValidPermission(t *testing.T) {
	for _, c := range []struct {
		perm string
		want bool
	}{
		{"tenants.oauth_clients.get", true},
		{"tenants.oauth_clients.reveal_secret", true},
		{"tenants.components.delete", true},
		{"tenants.audit.get", true},
		{"tenants.oauth_clients.*", true},
		{"tenants.*", true},
		{"tenants.audit.*", true},
		{"*", false},                      // not a dotted prefix
		{"tenants*", false},               // not a dotted prefix
		{"tenants.oauth_clients*", false}, // not a dotted prefix
		{"tenants.nothing.*", false},      // matches no permission
		{"tenants.*.get", false},          // * only at the end
		{"tenants.oauth_clients.GET", false},
		{"tenants.oauth_clients.get ", false},
		{"tenants.audit.edit", false},
		{"", false},
		{"oauth_clients.get", false},
	} {
		if got := policy.ValidPermission(c.perm); got != c.want {
			t.Errorf("ValidPermission(%q) = %v, want %v", c.perm, got, c.want)
		}
	}
	for _, p := range policy.Catalogue {
		if !policy.ValidPermission(p) {
			t.Errorf("catalogue permission %q is not valid", p)
		}
	}
}

func TestMatches(t *testing.T) {
	for _, c := range []struct {
		granted, perm string
		want          bool
	}{
		{"tenants.oauth_clients.get", "tenants.oauth_clients.get", true},
		{"tenants.oauth_clients.get", "tenants.oauth_clients.edit", false},
		{"tenants.oauth_clients.*", "tenants.oauth_clients.reveal_secret", true},
		{"tenants.oauth_clients.*", "tenants.components.get", false},
		{"tenants.*", "tenants.audit.get", true},
		{"tenants.*", "tenants.members.delete", true},
		{"tenants.components.*", "tenants.components", false},
		{"tenants.oauth_clients.get", "tenants.oauth_clients.get.more", false},
	} {
		if got := policy.Matches(c.granted, c.perm); got != c.want {
			t.Errorf("Matches(%q, %q) = %v, want %v", c.granted, c.perm, got, c.want)
		}
	}
}
