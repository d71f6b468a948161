package console

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/oauthclients"
	"github.com/oauthd/oauthd/policy"
)

type oauthClientDeleteData struct {
	page
	Client *oauthclients.Client
	InUse  *inUse
}

// DeleteOAuthClientPage is GET /console/tenants/{tid}/oauth-clients/{id}/delete:
// the confirmation, form confirm-delete.
func (h *Handler) DeleteOAuthClientPage(c echo.Context) error {
	oc, err := h.oauthClient(c)
	if err != nil {
		return h.fail(c, err)
	}
	return h.render(c, http.StatusOK, "oauthclient_delete.html",
		oauthClientDeleteData{page: h.base(c, "Delete OAuth client "+oc.ClientID, "oauth-clients"), Client: oc})
}

// DeleteOAuthClient is POST .../oauth-clients/{id}/delete. While flows
// include the client's component the domain refuses, and the page
// explains why and names those flows.
func (h *Handler) DeleteOAuthClient(c echo.Context) error {
	oc, err := h.oauthClient(c)
	if err != nil {
		return h.fail(c, err)
	}
	err = h.d.OAuthClients.Delete(c.Request().Context(), oc.TenantID, oc.ID)
	if u := inUseOf(err); u != nil {
		u.Linked = h.can(c, policy.FlowsGet)
		return h.render(c, http.StatusConflict, "oauthclient_delete.html",
			oauthClientDeleteData{page: h.base(c, "OAuth client in use", "oauth-clients"), Client: oc, InUse: u})
	}
	if err != nil {
		return h.fail(c, err)
	}
	return done(c, tenantPath(visitOf(c).tenant, "/oauth-clients"), "deleted")
}
