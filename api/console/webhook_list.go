package console

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/policy"
	"github.com/oauthd/oauthd/webhooks"
)

type webhookListData struct {
	page
	Hooks     []webhooks.Webhook
	CanCreate bool
	Pager     pager
}

// Webhooks is GET /console/tenants/{tid}/webhooks: each webhook's url,
// events and state (with the reason when oauthd switched it off).
func (h *Handler) Webhooks(c echo.Context) error {
	p := pageParams(c, "created_at")
	list, err := h.d.Webhooks.List(c.Request().Context(), visitOf(c).tenant.ID, webhooks.Filter{}, p)
	if err != nil {
		return h.fail(c, err)
	}
	return h.render(c, http.StatusOK, "webhooks.html", webhookListData{page: h.base(c, "Webhooks", "webhooks"),
		Hooks: list.Items, CanCreate: h.can(c, policy.WebhooksCreate), Pager: newPager(c, p, list.Total)})
}
