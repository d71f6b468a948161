package console

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/audit"
)

type auditData struct {
	page
	Events []auditRow
	Filter audit.Filter
	Pager  pager
}

type auditRow struct {
	audit.Event
	DetailText string
}

// maxFilterLen bounds a filter value; longer ones name nothing.
const maxFilterLen = 200

// AuditEvents is GET /console/tenants/{tid}/audit-events: the tenant's
// audit trail, newest first, with the API's filters (action,
// resource_type, resource_id).
func (h *Handler) AuditEvents(c echo.Context) error {
	f := audit.Filter{Action: filterValue(c, "action"), ResourceType: filterValue(c, "resource_type"),
		ResourceID: filterValue(c, "resource_id")}
	p := pageParams(c)
	list, err := h.d.Audit.List(c.Request().Context(), visitOf(c).tenant.ID, f, p)
	if err != nil {
		return h.fail(c, err)
	}
	rows := make([]auditRow, len(list.Items))
	for i, e := range list.Items {
		rows[i] = auditRow{Event: e, DetailText: detailText(e.Details)}
	}
	return h.render(c, http.StatusOK, "audit.html", auditData{page: h.base(c, "Audit trail", "audit-events"),
		Events: rows, Filter: f, Pager: newPager(c, p, list.Total)})
}

func filterValue(c echo.Context, name string) string {
	v := strings.TrimSpace(c.QueryParam(name))
	if len(v) > maxFilterLen {
		return v[:maxFilterLen]
	}
	return v
}

// detailText shows an event's details (ids and names; never secrets) as
// compact JSON.
func detailText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "{}" {
		return ""
	}
	return string(raw)
}
