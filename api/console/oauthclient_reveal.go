package console

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/oauthclients"
)

type oauthClientRevealData struct {
	page
	Client *oauthclients.Client
	Secret string
}

// RevealOAuthClientPage is GET .../oauth-clients/{id}/reveal: a
// confirmation that says the reveal is recorded.
func (h *Handler) RevealOAuthClientPage(c echo.Context) error {
	oc, err := h.oauthClient(c)
	if err != nil {
		return h.fail(c, err)
	}
	return h.render(c, http.StatusOK, "oauthclient_reveal.html",
		oauthClientRevealData{page: h.base(c, "Reveal secret of "+oc.ClientID, "oauth-clients"), Client: oc})
}

// RevealOAuthClient is POST .../oauth-clients/{id}/reveal: the secret,
// on this answer only (never stored in a page a browser keeps), and an
// audit event written with it by the domain.
func (h *Handler) RevealOAuthClient(c echo.Context) error {
	oc, err := h.oauthClient(c)
	if err != nil {
		return h.fail(c, err)
	}
	oc, secret, err := h.d.OAuthClients.RevealSecret(c.Request().Context(), oc.TenantID, oc.ID)
	if err != nil {
		return h.fail(c, err)
	}
	return h.render(c, http.StatusOK, "oauthclient_reveal.html",
		oauthClientRevealData{page: h.base(c, "Secret of "+oc.ClientID, "oauth-clients"), Client: oc, Secret: secret})
}
