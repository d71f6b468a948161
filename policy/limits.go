package policy

import "github.com/oauthd/oauthd/internal/fault"

// Allowance answers whether the acting caller holds a permission in the
// tenant at hand. Nil means no limit: superusers and the admin commands.
type Allowance func(perm string) (bool, error)

// Exceeding reports each grant in g that covers a permission may does not
// hold, one problem per role or permission (attribute "roles" or
// "permissions"): nobody hands out, or takes away, more than they have.
// why, when set, ends each problem's detail.
func (e *Enforcer) Exceeding(g Grants, may Allowance, why string) (fault.Problems, error) {
	if may == nil {
		return nil, nil
	}
	if why != "" {
		why = "; " + why
	}
	var ps fault.Problems
	check := func(attr string, covers func(perm string) bool, detail func(perm string) string) error {
		for _, perm := range Catalogue {
			if !covers(perm) {
				continue
			}
			ok, err := may(perm)
			if err != nil {
				return err
			}
			if !ok {
				ps.Add(&fault.Problem{Kind: fault.Forbidden, Code: "grant_exceeds_own", Attribute: attr, Detail: detail(perm) + why})
				return nil
			}
		}
		return nil
	}
	for _, r := range g.Roles {
		err := check("roles", func(p string) bool { return e.RoleAllows(r, p) },
			func(p string) string {
				return "role " + r + " includes " + p + ", which you do not hold in this tenant"
			})
		if err != nil {
			return nil, err
		}
	}
	for _, granted := range g.Permissions {
		err := check("permissions", func(p string) bool { return Matches(granted, p) },
			func(p string) string { return "permission " + p + " is not held by you in this tenant" })
		if err != nil {
			return nil, err
		}
	}
	return ps, nil
}
