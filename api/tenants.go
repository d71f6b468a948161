package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/tenants"
)

var tenantSchema = schema{Type: "tenant", Attributes: []string{"name"}}

var tenantList = listSpec{Sorts: tenants.TenantSorts.Fields()}

func toTenantView(t *tenants.Tenant) *tenantView {
	return &tenantView{ID: t.ID.String(), Name: t.Name, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

func (s *Server) createTenant(c echo.Context) error {
	doc, err := readCreate(c, tenantSchema)
	if err != nil {
		return err
	}
	name := doc.strOrEmpty("name")
	if err := doc.err(); err != nil {
		return err
	}
	t, err := s.deps.Tenants.CreateTenant(c.Request().Context(), name)
	if err != nil {
		return err
	}
	return writeCreated(c, "/v2/tenants/"+t.ID.String(), toTenantView(t))
}

// listTenants shows a superuser every tenant and anyone else their own.
func (s *Server) listTenants(c echo.Context) error {
	q, err := parseList(c, tenantList)
	if err != nil {
		return err
	}
	p := principalOf(c)
	var memberOf = &p.User.ID
	if p.superuser() {
		memberOf = nil
	}
	page, err := s.deps.Tenants.Tenants(c.Request().Context(), memberOf, q.Page)
	if err != nil {
		return err
	}
	return writeList(c, mapSlice(page.Items, toTenantView), q, page.Window)
}

func (s *Server) getTenant(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	t, err := s.deps.Tenants.Tenant(c.Request().Context(), tenantOf(c))
	if err != nil {
		return err
	}
	return writeOne(c, http.StatusOK, toTenantView(t))
}

func (s *Server) updateTenant(c echo.Context) error {
	tid := tenantOf(c)
	doc, err := readUpdate(c, tenantSchema, tid.String())
	if err != nil {
		return err
	}
	name := doc.str("name")
	if err := doc.err(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	t, err := s.deps.Tenants.Tenant(ctx, tid)
	if err != nil {
		return err
	}
	if name != nil {
		if t, err = s.deps.Tenants.RenameTenant(ctx, tid, *name); err != nil {
			return err
		}
	}
	return writeOne(c, http.StatusOK, toTenantView(t))
}

func (s *Server) deleteTenant(c echo.Context) error {
	if err := noQuery(c); err != nil {
		return err
	}
	if err := s.deps.Tenants.DeleteTenant(c.Request().Context(), tenantOf(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
