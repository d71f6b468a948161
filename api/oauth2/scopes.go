package oauth2

import (
	"slices"

	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/policy"
)

// clientCredentialsScope decides a client-credentials token's scope: by
// default the client's roles ("role:deployer", as Encore's roles); a
// request may narrow it to some of those roles or to permissions the roles
// cover.
func (h *Handler) clientCredentialsScope(c *apiclients.Client, requested []string) ([]string, error) {
	roles := policy.RoleScopes(c.Roles)
	if len(requested) == 0 {
		return roles, nil
	}
	for _, s := range requested {
		if !h.d.Scopes.Covers(roles, s) {
			return nil, errInvalidScope("scope " + printable(s) + " is not among this client's roles")
		}
	}
	return dedupe(requested), nil
}

// userScope decides a user token's scope: what the client may ask for
// (its allowed scopes) and, when the request names scopes, only those.
func (h *Handler) userScope(c *apiclients.Client, requested []string) ([]string, error) {
	if len(requested) == 0 {
		return slices.Clone(c.Scopes), nil
	}
	for _, s := range requested {
		if !h.d.Scopes.Covers(c.Scopes, s) {
			return nil, errInvalidScope("scope " + printable(s) + " is not allowed for this client")
		}
	}
	return dedupe(requested), nil
}

func dedupe(in []string) []string {
	var out []string
	for _, s := range in {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
