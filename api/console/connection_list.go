package console

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/connections"
	"github.com/oauthd/oauthd/policy"
)

type connectionRow struct {
	connections.Connection
	ComponentName string
}

type connectionListData struct {
	page
	Connections []connectionRow
	CanCreate   bool
	Pager       pager
}

// Connections is GET /console/tenants/{tid}/connections: the tenant's
// accounts at providers, with their state and error.
func (h *Handler) Connections(c echo.Context) error {
	comps, err := h.visibleComponents(c)
	if err != nil {
		return h.fail(c, err)
	}
	p := pageParams(c, "name")
	list, err := h.d.Connections.List(c.Request().Context(), visitOf(c).tenant.ID, connections.Filter{}, p)
	if err != nil {
		return h.fail(c, err)
	}
	names := componentNames(comps)
	rows := make([]connectionRow, len(list.Items))
	for i, cn := range list.Items {
		rows[i] = connectionRow{Connection: cn, ComponentName: names[cn.ComponentID]}
	}
	return h.render(c, http.StatusOK, "connections.html", connectionListData{page: h.base(c, "Connections", "connections"),
		Connections: rows, CanCreate: h.can(c, policy.ConnectionsCreate), Pager: newPager(c, p, list.Total)})
}
