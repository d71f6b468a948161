package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/internal/fault"
	"github.com/oauthd/oauthd/policy"
	"github.com/oauthd/oauthd/tenants"
)

var memberSchema = schema{Type: "member", Attributes: []string{"roles", "permissions"}, Relationships: []string{"user"}}

var memberList = listSpec{Sorts: tenants.MemberSorts.Fields()}

func toMemberView(m *tenants.Membership) *memberView {
	return &memberView{ID: m.UserID.String(), Email: m.Email, Roles: m.Grants.Roles, Permissions: m.Grants.Permissions,
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt, User: &userRef{ID: m.UserID.String()}, tenantID: m.TenantID.String()}
}

// allowance is the caller's rights in the current tenant, for the rule
// that nobody grants or takes away more than they hold; nil (no limit)
// for superusers.
func (s *Server) allowance(c echo.Context) policy.Allowance {
	if principalOf(c).superuser() {
		return nil
	}
	return func(perm string) (bool, error) { return s.allowed(c, perm) }
}

func (s *Server) createMember(c echo.Context) error {
	doc, err := readCreate(c, memberSchema)
	if err != nil {
		return err
	}
	g := policy.Grants{Roles: []string{}, Permissions: []string{}}
	if r := doc.strings("roles"); r != nil {
		g.Roles = *r
	}
	if p := doc.strings("permissions"); p != nil {
		g.Permissions = *p
	}
	userID := doc.toOne("user", "user")
	if err := doc.err(); err != nil {
		return err
	}
	if userID == nil {
		return fault.InvalidRelationship("user", "required", "relationships.user is required")
	}
	uid, perr := parseUUID(*userID)
	if perr != nil {
		return &fault.Problem{Kind: fault.NotFound, Code: "user_not_found", Detail: "no user with this id", Relationship: "user"}
	}
	m, err := s.deps.Tenants.AddMember(c.Request().Context(), tenantOf(c), uid, g, s.allowance(c))
	if err != nil {
		return err
	}
	return writeCreated(c, "/v2/tenants/"+tenantOf(c).String()+"/members/"+uid.String(), toMemberView(m))
}

func (s *Server) listMembers(c echo.Context) error {
	q, err := parseList(c, memberList)
	if err != nil {
		return err
	}
	page, err := s.deps.Tenants.Members(c.Request().Context(), tenantOf(c), q.Page)
	if err != nil {
		return err
	}
	return writeList(c, mapSlice(page.Items, toMemberView), q, page.Window)
}

func (s *Server) getMember(c echo.Context) error {
	uid, err := pathID(c, "uid", tenants.ErrMemberNotFound)
	if err != nil {
		return err
	}
	if err := noQuery(c); err != nil {
		return err
	}
	m, err := s.deps.Tenants.Member(c.Request().Context(), tenantOf(c), uid)
	if err != nil {
		return err
	}
	return writeOne(c, http.StatusOK, toMemberView(m))
}

func (s *Server) updateMember(c echo.Context) error {
	uid, err := pathID(c, "uid", tenants.ErrMemberNotFound)
	if err != nil {
		return err
	}
	doc, err := readUpdate(c, memberSchema, uid.String())
	if err != nil {
		return err
	}
	patch := tenants.MemberPatch{Roles: doc.strings("roles"), Permissions: doc.strings("permissions")}
	_ = doc.toOne("user", "user") // may be repeated; the URL names the member
	if err := doc.err(); err != nil {
		return err
	}
	m, err := s.deps.Tenants.UpdateMember(c.Request().Context(), tenantOf(c), uid, patch, s.allowance(c))
	if err != nil {
		return err
	}
	return writeOne(c, http.StatusOK, toMemberView(m))
}

func (s *Server) deleteMember(c echo.Context) error {
	uid, err := pathID(c, "uid", tenants.ErrMemberNotFound)
	if err != nil {
		return err
	}
	if err := noQuery(c); err != nil {
		return err
	}
	if err := s.deps.Tenants.RemoveMember(c.Request().Context(), tenantOf(c), uid, s.allowance(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
