package console

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/components"
	"github.com/oauthd/oauthd/policy"
)

type componentListData struct {
	page
	Components []components.Component
	CanCreate  bool
	Pager      pager
}

// Components is GET /console/tenants/{tid}/components: the tenant's own
// components and the global ones.
func (h *Handler) Components(c echo.Context) error {
	p := pageParams(c, "name")
	list, err := h.d.Components.Components(c.Request().Context(), visitOf(c).tenant.ID, components.Filter{}, p)
	if err != nil {
		return h.fail(c, err)
	}
	return h.render(c, http.StatusOK, "components.html", componentListData{page: h.base(c, "Components", "components"),
		Components: list.Items, CanCreate: h.can(c, policy.ComponentsCreate), Pager: newPager(c, p, list.Total)})
}
