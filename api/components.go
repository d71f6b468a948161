package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/components"
)

var componentSchema = schema{Type: "component", Attributes: []string{"name", "visibility", "descriptor"}}

var componentList = listSpec{Sorts: components.ComponentSorts.Fields(), Filters: []string{"visibility"}}

func toComponentView(tenantID string) func(*components.Component) *componentView {
	return func(comp *components.Component) *componentView {
		return &componentView{ID: comp.ID.String(), Name: comp.Name, Visibility: comp.Visibility, Descriptor: comp.Descriptor,
			Owned: comp.Owned, Available: comp.Available, CreatedAt: comp.CreatedAt, UpdatedAt: comp.UpdatedAt, tenantID: tenantID}
	}
}

func (s *Server) createComponent(c echo.Context) error {
	doc, err := readCreate(c, componentSchema)
	if err != nil {
		return err
	}
	in := components.NewComponent{Name: doc.strOrEmpty("name"), Visibility: doc.strOrEmpty("visibility"), Descriptor: doc.object("descriptor")}
	if err := doc.err(); err != nil {
		return err
	}
	tid := tenantOf(c)
	comp, err := s.deps.Components.CreateComponent(c.Request().Context(), tid, principalOf(c).superuser(), in)
	if err != nil {
		return err
	}
	return writeCreated(c, "/v2/tenants/"+tid.String()+"/components/"+comp.ID.String(), toComponentView(tid.String())(comp))
}

func (s *Server) listComponents(c echo.Context) error {
	q, err := parseList(c, componentList)
	if err != nil {
		return err
	}
	f := components.Filter{Visibility: q.Filters["visibility"]}
	if v, ok := q.Filters["visibility"]; ok && v != components.VisibilityTenant && v != components.VisibilityGlobal {
		return paramError("filter[visibility]", "invalid_filter", `filter[visibility] must be "tenant" or "global"`)
	}
	tid := tenantOf(c)
	page, err := s.deps.Components.Components(c.Request().Context(), tid, f, q.Page)
	if err != nil {
		return err
	}
	return writeList(c, mapSlice(page.Items, toComponentView(tid.String())), q, page.Window)
}

func (s *Server) getComponent(c echo.Context) error {
	id, err := pathID(c, "id", components.ErrComponentNotFound)
	if err != nil {
		return err
	}
	if err := noQuery(c); err != nil {
		return err
	}
	tid := tenantOf(c)
	comp, err := s.deps.Components.Component(c.Request().Context(), tid, id)
	if err != nil {
		return err
	}
	return writeOne(c, http.StatusOK, toComponentView(tid.String())(comp))
}

func (s *Server) updateComponent(c echo.Context) error {
	id, err := pathID(c, "id", components.ErrComponentNotFound)
	if err != nil {
		return err
	}
	doc, err := readUpdate(c, componentSchema, id.String())
	if err != nil {
		return err
	}
	patch := components.ComponentPatch{Name: doc.str("name"), Visibility: doc.str("visibility"), Descriptor: doc.object("descriptor")}
	if err := doc.err(); err != nil {
		return err
	}
	tid := tenantOf(c)
	comp, err := s.deps.Components.UpdateComponent(c.Request().Context(), tid, principalOf(c).superuser(), id, patch, s.allowance(c))
	if err != nil {
		return err
	}
	return writeOne(c, http.StatusOK, toComponentView(tid.String())(comp))
}

func (s *Server) deleteComponent(c echo.Context) error {
	id, err := pathID(c, "id", components.ErrComponentNotFound)
	if err != nil {
		return err
	}
	if err := noQuery(c); err != nil {
		return err
	}
	if err := s.deps.Components.DeleteComponent(c.Request().Context(), tenantOf(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
