package apiclients

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oauthd/oauthd/internal/fault"
	"github.com/oauthd/oauthd/policy"
	"github.com/oauthd/oauthd/tenants"
)

// Limits on list attributes: generous for real clients, small enough that
// a client row stays small.
const (
	maxListItems   = 50
	maxRedirectURI = 2000
)

// validator checks a client as it would be stored.
type validator struct {
	roles  []string
	bounds Bounds
	ps     fault.Problems
}

func (v *validator) add(attr, code, detail string) {
	v.ps.Add(fault.InvalidAttribute(attr, code, detail))
}

// client checks every rule on c at once.
func (v *validator) client(c *Client) {
	tenants.ValidateName(&v.ps, "name", c.Name)
	if c.ClientType != TypeConfidential && c.ClientType != TypePublic {
		v.add("client_type", "invalid_client_type", `client_type must be "confidential" or "public"`)
	}
	v.grantTypes(c)
	v.redirectURIs(c.RedirectURIs)
	if c.Allows(GrantAuthorizationCode) && len(c.RedirectURIs) == 0 {
		v.add("redirect_uris", "redirect_uri_required", "the authorization_code grant needs at least one redirect URI")
	}
	v.roleList(c.Roles)
	v.scopes(c.Scopes)
	v.ttl("access_token_ttl", c.AccessTokenTTL, v.bounds.MinAccessTTL, v.bounds.MaxAccessTTL)
	v.ttl("refresh_token_ttl", c.RefreshTokenTTL, v.bounds.MinRefreshTTL, v.bounds.MaxRefreshTTL)
}

func (v *validator) grantTypes(c *Client) {
	if len(c.GrantTypes) == 0 {
		v.add("grant_types", "required", "grant_types must name at least one of: "+strings.Join(grantTypes, ", "))
		return
	}
	seen := map[string]bool{}
	for _, g := range c.GrantTypes {
		switch {
		case !IsGrantType(g):
			v.add("grant_types", "unknown_grant_type", fmt.Sprintf("unknown grant type %q; grant types are %s", fault.Short(g), strings.Join(grantTypes, ", ")))
		case seen[g]:
			v.add("grant_types", "duplicate", fmt.Sprintf("grant type %q is listed twice", fault.Short(g)))
		case g == GrantClientCredentials && c.ClientType == TypePublic:
			v.add("grant_types", "public_client_credentials",
				"a public client cannot use client_credentials: it has no secret to prove it is itself")
		}
		seen[g] = true
	}
}

func (v *validator) redirectURIs(uris []string) {
	if len(uris) > maxListItems {
		v.add("redirect_uris", "too_many", fmt.Sprintf("at most %d redirect URIs", maxListItems))
		return
	}
	seen := map[string]bool{}
	for _, u := range uris {
		if problem := redirectURIProblem(u); problem != "" {
			v.add("redirect_uris", "invalid_redirect_uri", fmt.Sprintf("redirect URI %q %s", fault.Short(u), problem))
		} else if seen[u] {
			v.add("redirect_uris", "duplicate", fmt.Sprintf("redirect URI %q is listed twice", fault.Short(u)))
		}
		seen[u] = true
	}
}

// loopbackHosts may be used with plain http (RFC 8252 §7.3, §8.3).
var loopbackHosts = []string{"127.0.0.1", "::1", "localhost"}

// redirectURIProblem says what is wrong with a redirect URI, "" if nothing.
// Allowed: https URLs; http only to a loopback host; a private-use scheme
// with a dot, as native apps register (RFC 8252 §7.1: com.example.app:/cb).
func redirectURIProblem(raw string) string {
	if raw == "" {
		return "is empty"
	}
	if len(raw) > maxRedirectURI {
		return fmt.Sprintf("is longer than %d characters", maxRedirectURI)
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] <= 0x20 || raw[i] >= 0x7f {
			return "must be printable ASCII without spaces (percent-encode anything else)"
		}
	}
	if strings.Contains(raw, "#") {
		return "must not have a fragment (RFC 6749 §3.1.2)"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return "must be an absolute URI with a scheme"
	}
	if u.User != nil {
		return "must not carry user information"
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "has a port outside 1..65535"
		}
	}
	switch u.Scheme {
	case "https":
		if u.Host == "" || u.Hostname() == "" {
			return "must name a host"
		}
	case "http":
		if !slices.Contains(loopbackHosts, u.Hostname()) {
			return "may use http only for a loopback host (127.0.0.1, [::1] or localhost); use https"
		}
	default:
		if !strings.Contains(u.Scheme, ".") {
			return "must use https, http to a loopback host, or a private-use scheme in reverse domain notation (com.example.app:/callback)"
		}
	}
	return ""
}

// sameLoopbackIgnoringPort reports whether registered is an http URI to a
// loopback IP literal and presented is the same URI but for the port.
func sameLoopbackIgnoringPort(registered, presented string) bool {
	r, err := url.Parse(registered)
	if err != nil || r.Scheme != "http" || r.User != nil {
		return false
	}
	if ip := net.ParseIP(r.Hostname()); ip == nil || !ip.IsLoopback() {
		return false
	}
	p, err := url.Parse(presented)
	if err != nil || p.Scheme != "http" || p.User != nil || p.Hostname() != r.Hostname() {
		return false
	}
	// Everything after the authority is compared as written.
	return strings.TrimPrefix(registered, "http://"+r.Host) == strings.TrimPrefix(presented, "http://"+p.Host)
}

func (v *validator) roleList(roles []string) {
	if len(roles) > maxListItems {
		v.add("roles", "too_many", fmt.Sprintf("at most %d roles", maxListItems))
		return
	}
	seen := map[string]bool{}
	for _, r := range roles {
		switch {
		case !slices.Contains(v.roles, r):
			v.add("roles", "unknown_role", fmt.Sprintf("unknown role %q; roles are %s", fault.Short(r), strings.Join(v.roles, ", ")))
		case seen[r]:
			v.add("roles", "duplicate", fmt.Sprintf("role %q is listed twice", fault.Short(r)))
		}
		seen[r] = true
	}
}

// scopes are what a user token of the client may carry at most: catalogue
// permissions, patterns such as tenants.flows.*, or role:<name>.
func (v *validator) scopes(scopes []string) {
	if len(scopes) > maxListItems {
		v.add("scopes", "too_many", fmt.Sprintf("at most %d scopes", maxListItems))
		return
	}
	seen := map[string]bool{}
	for _, s := range scopes {
		role, isRole := strings.CutPrefix(s, policy.RoleScopePrefix)
		switch {
		case isRole && !slices.Contains(v.roles, role):
			v.add("scopes", "unknown_role", fmt.Sprintf("scope %q names no role; roles are %s", fault.Short(s), strings.Join(v.roles, ", ")))
		case !isRole && !policy.ValidPermission(s):
			v.add("scopes", "unknown_scope", fmt.Sprintf(
				"unknown scope %q; a scope is a permission (tenants.flows.get), a pattern (tenants.flows.*) or role:<name>", fault.Short(s)))
		case seen[s]:
			v.add("scopes", "duplicate", fmt.Sprintf("scope %q is listed twice", fault.Short(s)))
		}
		seen[s] = true
	}
}

func (v *validator) ttl(attr string, seconds *int, lo, hi time.Duration) {
	if seconds == nil {
		return
	}
	d := time.Duration(*seconds) * time.Second
	if *seconds < 0 || d < lo || d > hi {
		v.add(attr, "out_of_bounds", fmt.Sprintf("%s must be from %d to %d seconds (this deployment's bounds), or null for the default",
			attr, int(lo.Seconds()), int(hi.Seconds())))
	}
}
