package console

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/policy"
)

type apiClientListData struct {
	page
	Clients   []apiclients.Client
	CanCreate bool
	Pager     pager
}

// APIClients is GET /console/tenants/{tid}/api-clients (Encore's OAuth
// clients page).
func (h *Handler) APIClients(c echo.Context) error {
	p := pageParams(c, "name")
	list, err := h.d.APIClients.List(c.Request().Context(), visitOf(c).tenant.ID, apiclients.Filter{}, p)
	if err != nil {
		return h.fail(c, err)
	}
	return h.render(c, http.StatusOK, "apiclients.html", apiClientListData{page: h.base(c, "API clients", "api-clients"),
		Clients: list.Items, CanCreate: h.can(c, policy.APIClientsCreate), Pager: newPager(c, p, list.Total)})
}
