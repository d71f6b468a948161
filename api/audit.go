package api

import (
	"encoding/json"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/audit"
)

var auditList = listSpec{Sorts: audit.ListSorts.Fields(), Filters: []string{"action", "resource_type", "resource_id"}}

func toAuditEventView(e *audit.Event) *auditEventView {
	v := &auditEventView{ID: e.ID.String(), Action: e.Action, ResourceType: e.ResourceType, ResourceID: e.ResourceID,
		ActorEmail: e.ActorEmail, ActorClient: e.ActorClient, RemoteAddr: e.RemoteAddr, RequestID: e.RequestID, CreatedAt: e.CreatedAt, Details: map[string]any{}}
	if e.ActorID != nil {
		id := e.ActorID.String()
		v.ActorID = &id
	}
	_ = json.Unmarshal(e.Details, &v.Details)
	return v
}

func (s *Server) listAuditEvents(c echo.Context) error {
	q, err := parseList(c, auditList)
	if err != nil {
		return err
	}
	f := audit.Filter{Action: q.Filters["action"], ResourceType: q.Filters["resource_type"], ResourceID: q.Filters["resource_id"]}
	page, err := s.deps.Audit.List(c.Request().Context(), tenantOf(c), f, q.Page)
	if err != nil {
		return err
	}
	return writeList(c, mapSlice(page.Items, toAuditEventView), q, page.Window)
}
