package console

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/oauthclients"
	"github.com/oauthd/oauthd/policy"
)

type oauthClientRow struct {
	oauthclients.Client
	ComponentName string
}

type oauthClientListData struct {
	page
	Clients   []oauthClientRow
	Filter    []option
	Filtered  bool
	CanCreate bool
	Pager     pager
}

// OAuthClients is GET /console/tenants/{tid}/oauth-clients: the tenant's
// OAuth clients, optionally of one component (?component=).
func (h *Handler) OAuthClients(c echo.Context) error {
	comps, err := h.visibleComponents(c)
	if err != nil {
		return h.fail(c, err)
	}
	var f oauthclients.Filter
	chosen := c.QueryParam("component")
	if chosen != "" {
		id, err := uuid.Parse(chosen)
		if err != nil {
			chosen = "" // a filter that names nothing: show everything, say so by the select
		} else {
			f.ComponentID = &id
		}
	}
	p := pageParams(c, "client_id")
	list, err := h.d.OAuthClients.List(c.Request().Context(), visitOf(c).tenant.ID, f, p)
	if err != nil {
		return h.fail(c, err)
	}
	names := componentNames(comps)
	rows := make([]oauthClientRow, len(list.Items))
	for i, oc := range list.Items {
		rows[i] = oauthClientRow{Client: oc, ComponentName: names[oc.ComponentID]}
	}
	return h.render(c, http.StatusOK, "oauthclients.html", oauthClientListData{
		page: h.base(c, "OAuth clients", "oauth-clients"), Clients: rows,
		Filter: oauthComponentOptions(comps, chosen), Filtered: f.ComponentID != nil,
		CanCreate: h.can(c, policy.OAuthClientsCreate), Pager: newPager(c, p, list.Total),
	})
}
