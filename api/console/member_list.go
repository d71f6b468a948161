package console

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/policy"
	"github.com/oauthd/oauthd/tenants"
)

type memberListData struct {
	page
	Members   []tenants.Membership
	CanCreate bool
	Pager     pager
}

// Members is GET /console/tenants/{tid}/members.
func (h *Handler) Members(c echo.Context) error {
	p := pageParams(c, "email")
	list, err := h.d.Tenants.Members(c.Request().Context(), visitOf(c).tenant.ID, p)
	if err != nil {
		return h.fail(c, err)
	}
	return h.render(c, http.StatusOK, "members.html", memberListData{page: h.base(c, "Members", "members"),
		Members: list.Items, CanCreate: h.can(c, policy.MembersCreate), Pager: newPager(c, p, list.Total)})
}
