package console

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/components"
	"github.com/oauthd/oauthd/policy"
)

type flowRow struct {
	components.Flow
	ComponentNames []string
}

type flowListData struct {
	page
	Flows     []flowRow
	CanCreate bool
	Pager     pager
}

// Flows is GET /console/tenants/{tid}/flows.
func (h *Handler) Flows(c echo.Context) error {
	comps, err := h.visibleComponents(c)
	if err != nil {
		return h.fail(c, err)
	}
	p := pageParams(c, "name")
	list, err := h.d.Components.Flows(c.Request().Context(), visitOf(c).tenant.ID, components.FlowFilter{}, p)
	if err != nil {
		return h.fail(c, err)
	}
	names := componentNames(comps)
	rows := make([]flowRow, len(list.Items))
	for i, f := range list.Items {
		rows[i] = flowRow{Flow: f}
		for _, id := range f.ComponentIDs {
			rows[i].ComponentNames = append(rows[i].ComponentNames, names[id])
		}
	}
	return h.render(c, http.StatusOK, "flows.html", flowListData{page: h.base(c, "Flows", "flows"), Flows: rows,
		CanCreate: h.can(c, policy.FlowsCreate), Pager: newPager(c, p, list.Total)})
}
