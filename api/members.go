package api

import (
	"net/http"
	"slices"

	"github.com/google/uuid"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/internal/fault"
	"github.com/oauthd/oauthd/policy"
	"github.com/oauthd/oauthd/tenants"
)

var memberSchema = schema{Type: "member", Attributes: []string{"roles", "permissions"}, Relationships: []string{"user"}}

var memberList = listSpec{Sorts: []string{"email", "created_at", "updated_at"}}

func toMemberView(m *tenants.Membership) *memberView {
	return &memberView{ID: m.UserID.String(), Email: m.Email, Roles: m.Grants.Roles, Permissions: m.Grants.Permissions,
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt, User: &userRef{ID: m.UserID.String()}, tenantID: m.TenantID.String()}
}

// grantable refuses grants the caller does not hold themself, so a member
// who may manage members cannot hand out (or take) more than they have.
func (s *Server) grantable(c echo.Context, g policy.Grants) error {
	return s.checkGrants(c, g, "")
}

// takeable refuses to change or remove grants the caller does not hold:
// otherwise an admin could strip an owner, or remove them altogether.
// fields names the grants about to be replaced ("roles", "permissions");
// none means the whole membership is going.
func (s *Server) takeable(c echo.Context, uid uuid.UUID, fields ...string) error {
	if principalOf(c).superuser() {
		return nil
	}
	m, err := s.deps.Tenants.Member(c.Request().Context(), tenantOf(c), uid)
	if err != nil {
		return err
	}
	g := m.Grants
	if len(fields) > 0 {
		if !slices.Contains(fields, "roles") {
			g.Roles = nil
		}
		if !slices.Contains(fields, "permissions") {
			g.Permissions = nil
		}
	}
	err = s.checkGrants(c, g, "the member holds it and it is not yours to take away")
	if ps, ok := fault.List(err); ok && len(fields) == 0 {
		// A DELETE has no attributes to point at.
		for _, p := range ps {
			p.Attribute = ""
		}
		return ps
	}
	return err
}

// checkGrants reports, per attribute, each grant in g that covers a
// permission the caller does not hold; takeDetail explains a refusal to
// take grants away.
func (s *Server) checkGrants(c echo.Context, g policy.Grants, takeDetail string) error {
	if principalOf(c).superuser() {
		return nil
	}
	var ps fault.Problems
	for _, r := range g.Roles {
		for _, perm := range policy.Catalogue {
			if s.deps.Policy.RoleAllows(r, perm) {
				if ok, err := s.allowed(c, perm); err != nil {
					return err
				} else if !ok {
					ps.Add(&fault.Problem{Kind: fault.Forbidden, Code: "grant_exceeds_own", Attribute: "roles",
						Detail: "role " + r + " includes " + perm + ", which you do not hold in this tenant" + suffix(takeDetail)})
					break
				}
			}
		}
	}
	for _, p := range g.Permissions {
		for _, perm := range policy.Catalogue {
			if policy.Matches(p, perm) {
				if ok, err := s.allowed(c, perm); err != nil {
					return err
				} else if !ok {
					ps.Add(&fault.Problem{Kind: fault.Forbidden, Code: "grant_exceeds_own", Attribute: "permissions",
						Detail: "permission " + perm + " is not held by you in this tenant" + suffix(takeDetail)})
					break
				}
			}
		}
	}
	return ps.Err()
}

func suffix(s string) string {
	if s == "" {
		return ""
	}
	return "; " + s
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
	if err := s.grantable(c, g); err != nil {
		return err
	}
	m, err := s.deps.Tenants.AddMember(c.Request().Context(), tenantOf(c), uid, g)
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
	return writeList(c, mapSlice(page.Items, toMemberView), q.Page, page.Total)
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
	g := policy.Grants{}
	if patch.Roles != nil {
		g.Roles = *patch.Roles
	}
	if patch.Permissions != nil {
		g.Permissions = *patch.Permissions
	}
	if err := s.grantable(c, g); err != nil {
		return err
	}
	var replaced []string
	if patch.Roles != nil {
		replaced = append(replaced, "roles")
	}
	if patch.Permissions != nil {
		replaced = append(replaced, "permissions")
	}
	if len(replaced) > 0 {
		if err := s.takeable(c, uid, replaced...); err != nil {
			return err
		}
	}
	m, err := s.deps.Tenants.UpdateMember(c.Request().Context(), tenantOf(c), uid, patch)
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
	if err := s.takeable(c, uid); err != nil {
		return err
	}
	if err := s.deps.Tenants.RemoveMember(c.Request().Context(), tenantOf(c), uid); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
