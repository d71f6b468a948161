package policy

import "github.com/oauthd/oauthd/internal/fault"

// Allowance answers whether the acting caller holds a permission in the
// tenant at hand. Nil means no limit: superusers and the admin commands.
type Allowance func(perm string) (bool, error)

// Codes of the refusals below.
const (
	// CodeGrantExceedsOwn: the request hands out (or takes away) a right
	// the caller does not hold.
	CodeGrantExceedsOwn = "grant_exceeds_own"
	// CodeClientExceedsOwn: the API client acted on already holds a right
	// the caller does not, so the caller may not change it, mint its
	// secrets or touch its tokens.
	CodeClientExceedsOwn = "client_exceeds_own"
)

// grantedItem is one thing a grant hands out: a role, a permission or a
// scope, with the permissions it covers and how a refusal words it.
type grantedItem struct {
	attr   string
	covers func(perm string) bool
	detail func(perm string) string
}

// exceeding reports, per item, the first catalogue permission it covers
// that may does not hold; the problem names it in its detail and in
// meta.permission, as a missing route permission does.
func exceeding(items []grantedItem, may Allowance, code, why string) (fault.Problems, error) {
	if may == nil {
		return nil, nil
	}
	if why != "" {
		why = "; " + why
	}
	var ps fault.Problems
	for _, it := range items {
		for _, perm := range Catalogue {
			if !it.covers(perm) {
				continue
			}
			ok, err := may(perm)
			if err != nil {
				return nil, err
			}
			if !ok {
				ps.Add(&fault.Problem{Kind: fault.Forbidden, Code: code, Attribute: it.attr, Detail: it.detail(perm) + why,
					Meta: map[string]any{"permission": perm}})
				break
			}
		}
	}
	return ps, nil
}

// Exceeding reports each grant in g that covers a permission may does not
// hold, one problem per role or permission (attribute "roles" or
// "permissions"): nobody hands out, or takes away, more than they have.
// why, when set, ends each problem's detail.
func (e *Enforcer) Exceeding(g Grants, may Allowance, why string) (fault.Problems, error) {
	items := make([]grantedItem, 0, len(g.Roles)+len(g.Permissions))
	for _, r := range g.Roles {
		items = append(items, e.roleItem("roles", r, "role "+fault.Short(r)))
	}
	for _, granted := range g.Permissions {
		items = append(items, grantedItem{attr: "permissions", covers: func(p string) bool { return Matches(granted, p) },
			detail: func(p string) string { return "permission " + p + " is not held by you in this tenant" }})
	}
	return exceeding(items, may, CodeGrantExceedsOwn, why)
}

func (e *Enforcer) roleItem(attr, role, what string) grantedItem {
	return grantedItem{attr: attr, covers: func(p string) bool { return e.RoleAllows(role, p) },
		detail: func(p string) string { return what + " includes " + p + ", which you do not hold in this tenant" }}
}

func (e *Enforcer) scopeItem(attr, scope, what string) grantedItem {
	return grantedItem{attr: attr, covers: func(p string) bool { return e.ScopeAllows([]string{scope}, p) },
		detail: func(p string) string { return what + " covers " + p + ", which you do not hold in this tenant" }}
}

// ClientRights is what an API client can do: its roles are the rights of
// its client-credentials tokens, its scopes the most a user's token for it
// may carry (a confidential client holding a user's token uses those).
type ClientRights struct {
	Roles  []string
	Scopes []string
}

// ExceedingClientGrant reports each role or scope a request gives an API
// client that covers a permission may does not hold (attributes "roles"
// and "scopes", 403 grant_exceeds_own).
func (e *Enforcer) ExceedingClientGrant(r ClientRights, may Allowance) (fault.Problems, error) {
	items := make([]grantedItem, 0, len(r.Roles)+len(r.Scopes))
	for _, role := range r.Roles {
		items = append(items, e.roleItem("roles", role, "role "+fault.Short(role)))
	}
	for _, s := range r.Scopes {
		items = append(items, e.scopeItem("scopes", s, "scope "+fault.Short(s)))
	}
	return exceeding(items, may, CodeGrantExceedsOwn, "")
}

// ExceedingClient reports each role or scope an API client already holds
// that covers a permission may does not hold (403 client_exceeds_own, no
// attribute: the request does not name them). Only a member who holds
// everything a client can do may change it, mint or delete its secrets,
// revoke its tokens or delete it; otherwise a secret or a wider grant
// type would give the member a token with rights they lack.
func (e *Enforcer) ExceedingClient(r ClientRights, may Allowance) (fault.Problems, error) {
	const why = "only a member who holds everything an API client can do may change it, its secrets or its tokens"
	items := make([]grantedItem, 0, len(r.Roles)+len(r.Scopes))
	for _, role := range r.Roles {
		items = append(items, e.roleItem("", role, "this API client's role "+fault.Short(role)))
	}
	for _, s := range r.Scopes {
		items = append(items, e.scopeItem("", s, "this API client's scope "+fault.Short(s)))
	}
	return exceeding(items, may, CodeClientExceedsOwn, why)
}
