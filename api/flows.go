package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/components"
)

var flowSchema = schema{Type: "flow", Attributes: []string{"name"}, Relationships: []string{"components"}}

var flowList = listSpec{Sorts: components.FlowSorts.Fields(), Filters: []string{"component"}}

func toFlowView(f *components.Flow) *flowView {
	refs := make([]*componentRef, len(f.ComponentIDs))
	for i, id := range f.ComponentIDs {
		refs[i] = &componentRef{ID: id.String()}
	}
	return &flowView{ID: f.ID.String(), Name: f.Name, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt,
		Components: refs, tenantID: f.TenantID.String()}
}

func (s *Server) createFlow(c echo.Context) error {
	doc, err := readCreate(c, flowSchema)
	if err != nil {
		return err
	}
	in := components.NewFlow{Name: doc.strOrEmpty("name")}
	if ids := doc.toMany("components", "component"); ids != nil {
		in.ComponentIDs = *ids
	}
	if err := doc.err(); err != nil {
		return err
	}
	f, err := s.deps.Components.CreateFlow(c.Request().Context(), tenantOf(c), in)
	if err != nil {
		return err
	}
	return writeCreated(c, "/v2/tenants/"+tenantOf(c).String()+"/flows/"+f.ID.String(), toFlowView(f))
}

func (s *Server) listFlows(c echo.Context) error {
	q, err := parseList(c, flowList)
	if err != nil {
		return err
	}
	componentID, err := filterID(q, "component")
	if err != nil {
		return err
	}
	page, err := s.deps.Components.Flows(c.Request().Context(), tenantOf(c), components.FlowFilter{ComponentID: componentID}, q.Page)
	if err != nil {
		return err
	}
	return writeList(c, mapSlice(page.Items, toFlowView), q, page.Window)
}

func (s *Server) getFlow(c echo.Context) error {
	id, err := pathID(c, "id", components.ErrFlowNotFound)
	if err != nil {
		return err
	}
	if err := noQuery(c); err != nil {
		return err
	}
	f, err := s.deps.Components.Flow(c.Request().Context(), tenantOf(c), id)
	if err != nil {
		return err
	}
	return writeOne(c, http.StatusOK, toFlowView(f))
}

func (s *Server) updateFlow(c echo.Context) error {
	id, err := pathID(c, "id", components.ErrFlowNotFound)
	if err != nil {
		return err
	}
	doc, err := readUpdate(c, flowSchema, id.String())
	if err != nil {
		return err
	}
	patch := components.FlowPatch{Name: doc.str("name"), ComponentIDs: doc.toMany("components", "component")}
	if err := doc.err(); err != nil {
		return err
	}
	f, err := s.deps.Components.UpdateFlow(c.Request().Context(), tenantOf(c), id, patch)
	if err != nil {
		return err
	}
	return writeOne(c, http.StatusOK, toFlowView(f))
}

func (s *Server) deleteFlow(c echo.Context) error {
	id, err := pathID(c, "id", components.ErrFlowNotFound)
	if err != nil {
		return err
	}
	if err := noQuery(c); err != nil {
		return err
	}
	if err := s.deps.Components.DeleteFlow(c.Request().Context(), tenantOf(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
