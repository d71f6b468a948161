package policy

import (
	"slices"
	"strings"
)

// RoleScopePrefix marks a scope that stands for a role ("role:viewer").
const RoleScopePrefix = "role:"

// RoleScopes turns role names into scopes.
func RoleScopes(roles []string) []string {
	out := make([]string, len(roles))
	for i, r := range roles {
		out[i] = RoleScopePrefix + r
	}
	return out
}

// ScopeAllows reports whether a token scope list covers perm: an entry is a
// permission name or pattern ("tenants.oauth_clients.*") or a role
// ("role:viewer", whatever the role holds today, so roles grow with the
// product as Encore's OAuth clients do describes).
func (e *Enforcer) ScopeAllows(scopes []string, perm string) bool {
	for _, s := range scopes {
		if role, ok := strings.CutPrefix(s, RoleScopePrefix); ok {
			if e.RoleAllows(role, perm) {
				return true
			}
		} else if Matches(s, perm) {
			return true
		}
	}
	return false
}

// PermissionsOf lists the catalogue permissions one scope grants today.
func (e *Enforcer) PermissionsOf(scope string) []string {
	var out []string
	for _, p := range Catalogue {
		if e.ScopeAllows([]string{scope}, p) {
			out = append(out, p)
		}
	}
	return out
}

// ValidScope reports whether a scope names a catalogue permission, a
// pattern over it, or an existing role.
func (e *Enforcer) ValidScope(scope string) bool {
	if role, ok := strings.CutPrefix(scope, RoleScopePrefix); ok {
		return slices.Contains(e.Roles(), role)
	}
	return ValidPermission(scope)
}

// Covers reports whether the scopes in allowed grant everything scope
// grants: the one rule for narrowing a token's scope, whether at the token
// endpoint, at authorize or on refresh.
func (e *Enforcer) Covers(allowed []string, scope string) bool {
	if slices.Contains(allowed, scope) {
		return true
	}
	if !e.ValidScope(scope) {
		return false
	}
	for _, p := range e.PermissionsOf(scope) {
		if !e.ScopeAllows(allowed, p) {
			return false
		}
	}
	return true
}
