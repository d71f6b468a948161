package console

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/policy"
	"github.com/oauthd/oauthd/tenants"
)

// memberFields are the member form's fields.
var memberFields = []string{"email", "roles", "permissions"}

type permissionChoice struct {
	Name    string
	Checked bool
}

type memberFormData struct {
	page
	Member      *tenants.Membership // nil on the add form
	Email       string
	Roles       []roleChoice
	Permissions []permissionChoice
	CanEdit     bool
	CanDelete   bool
	// Others are the grants the member holds that the user may not give or
	// take away: kept as they are, shown without a checkbox.
	Others []string
}

// NewMember is GET /console/tenants/{tid}/members/new: add by email.
func (h *Handler) NewMember(c echo.Context) error {
	return h.showMemberForm(c, http.StatusOK, memberFormData{}, policy.Grants{})
}

// showMemberForm offers the roles and permissions the user may grant
// (the domain's rule: nobody grants or takes away more than they hold).
func (h *Handler) showMemberForm(c echo.Context, status int, d memberFormData, g policy.Grants) error {
	roles, err := h.grantableRoles(c)
	if err != nil {
		return h.fail(c, err)
	}
	for _, r := range roles {
		d.Roles = append(d.Roles, roleChoice{Name: r, Permissions: h.d.Policy.PermissionsOf(policy.RoleScopePrefix + r),
			Checked: slices.Contains(g.Roles, r)})
	}
	perms, err := h.grantablePermissions(c)
	if err != nil {
		return h.fail(c, err)
	}
	for _, p := range perms {
		d.Permissions = append(d.Permissions, permissionChoice{Name: p, Checked: slices.Contains(g.Permissions, p)})
	}
	for _, r := range g.Roles {
		if !slices.Contains(roles, r) {
			d.Others = append(d.Others, "role "+r)
		}
	}
	for _, p := range g.Permissions {
		if !slices.Contains(perms, p) {
			d.Others = append(d.Others, p)
		}
	}
	errs := d.Errors
	title := "Add a member"
	if d.Member != nil {
		title = d.Member.Email
		d.CanEdit, d.CanDelete = h.can(c, policy.MembersEdit), h.can(c, policy.MembersDelete)
	}
	d.page = h.base(c, title, "members")
	d.Errors = errs
	return h.render(c, status, "member.html", d)
}

// grantablePermissions are the single permissions the user may grant.
func (h *Handler) grantablePermissions(c echo.Context) ([]string, error) {
	var out []string
	for _, p := range policy.Catalogue {
		ps, err := h.d.Policy.Exceeding(policy.Grants{Permissions: []string{p}}, h.allowance(c), "")
		if err != nil {
			return nil, err
		}
		if len(ps) == 0 {
			out = append(out, p)
		}
	}
	return out, nil
}

// grantsOf reads the roles and permissions boxes of a member form.
func grantsOf(c echo.Context) policy.Grants {
	f := visitOf(c).form
	g := policy.Grants{Roles: f["roles"], Permissions: f["permissions"]}
	if g.Roles == nil {
		g.Roles = []string{}
	}
	if g.Permissions == nil {
		g.Permissions = []string{}
	}
	return g
}

// CreateMember is POST /console/tenants/{tid}/members.
func (h *Handler) CreateMember(c echo.Context) error {
	email, g := visitOf(c).form.Get("email"), grantsOf(c)
	m, err := h.d.Tenants.AddMemberByEmail(c.Request().Context(), visitOf(c).tenant.ID, email, g, h.allowance(c))
	if errs, ok := formProblems(err, memberFields...); ok {
		d := memberFormData{Email: email}
		d.Errors = errs
		return h.showMemberForm(c, statusOf(err), d, g)
	}
	if err != nil {
		return h.fail(c, err)
	}
	return done(c, tenantPath(visitOf(c).tenant, "/members/"+m.UserID.String()), "created")
}

func (h *Handler) member(c echo.Context) (*tenants.Membership, error) {
	id, ok := pathUUID(c, "uid")
	if !ok {
		return nil, tenants.ErrMemberNotFound
	}
	return h.d.Tenants.Member(c.Request().Context(), visitOf(c).tenant.ID, id)
}

// Member is GET /console/tenants/{tid}/members/{uid}.
func (h *Handler) Member(c echo.Context) error {
	m, err := h.member(c)
	if err != nil {
		return h.fail(c, err)
	}
	return h.showMemberForm(c, http.StatusOK, memberFormData{Member: m, Email: m.Email}, m.Grants)
}

// UpdateMember is POST /console/tenants/{tid}/members/{uid}: the boxes
// replace what the user may grant; grants beyond that stay as they are.
func (h *Handler) UpdateMember(c echo.Context) error {
	m, err := h.member(c)
	if err != nil {
		return h.fail(c, err)
	}
	g := grantsOf(c)
	roles, err := h.grantableRoles(c)
	if err != nil {
		return h.fail(c, err)
	}
	perms, err := h.grantablePermissions(c)
	if err != nil {
		return h.fail(c, err)
	}
	g = keepUngrantable(m.Grants, g, roles, perms)
	_, err = h.d.Tenants.UpdateMember(c.Request().Context(), m.TenantID, m.UserID,
		tenants.MemberPatch{Roles: &g.Roles, Permissions: &g.Permissions}, h.allowance(c))
	if errs, ok := formProblems(err, memberFields...); ok {
		d := memberFormData{Member: m, Email: m.Email}
		d.Errors = errs
		return h.showMemberForm(c, statusOf(err), d, g)
	}
	if err != nil {
		return h.fail(c, err)
	}
	return done(c, tenantPath(visitOf(c).tenant, "/members/"+m.UserID.String()), "saved")
}

// keepUngrantable adds to the form's grants those the member holds that
// the form did not offer (the user may not touch them), so saving the
// form never asks to take them away.
func keepUngrantable(held, form policy.Grants, roles, perms []string) policy.Grants {
	for _, r := range held.Roles {
		if !slices.Contains(roles, r) && !slices.Contains(form.Roles, r) {
			form.Roles = append(form.Roles, r)
		}
	}
	for _, p := range held.Permissions {
		if !slices.Contains(perms, p) && !slices.Contains(form.Permissions, p) {
			form.Permissions = append(form.Permissions, p)
		}
	}
	return form
}

type memberRemoveData struct {
	page
	Member *tenants.Membership
}

// RemoveMemberPage is GET .../members/{uid}/remove: the confirmation.
func (h *Handler) RemoveMemberPage(c echo.Context) error {
	m, err := h.member(c)
	if err != nil {
		return h.fail(c, err)
	}
	return h.render(c, http.StatusOK, "member_remove.html", memberRemoveData{page: h.base(c, "Remove "+m.Email, "members"), Member: m})
}

// RemoveMember is POST .../members/{uid}/remove.
func (h *Handler) RemoveMember(c echo.Context) error {
	m, err := h.member(c)
	if err != nil {
		return h.fail(c, err)
	}
	if err := h.d.Tenants.RemoveMember(c.Request().Context(), m.TenantID, m.UserID, h.allowance(c)); err != nil {
		return h.fail(c, err)
	}
	return done(c, tenantPath(visitOf(c).tenant, "/members"), "member-removed")
}

// grantableRoles are the roles the user may give a member: the domain's
// rule that nobody grants or takes away more than they hold, role by role.
func (h *Handler) grantableRoles(c echo.Context) ([]string, error) {
	var out []string
	for _, r := range h.d.Policy.Roles() {
		ps, err := h.d.Policy.Exceeding(policy.Grants{Roles: []string{r}}, h.allowance(c), "")
		if err != nil {
			return nil, err
		}
		if len(ps) == 0 {
			out = append(out, r)
		}
	}
	return out, nil
}
