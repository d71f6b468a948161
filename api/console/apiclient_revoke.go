package console

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/apiclients"
)

type apiClientRevokeData struct {
	page
	Client *apiclients.Client
	// TokensOnly: revoke the tokens and keep the client.
	TokensOnly bool
}

// RevokeAPIClientPage is GET .../api-clients/{id}/revoke: the
// confirmation, form confirm-revoke.
func (h *Handler) RevokeAPIClientPage(c echo.Context) error {
	return h.confirmRevoke(c, false)
}

// RevokeTokensPage is GET .../api-clients/{id}/revoke-tokens.
func (h *Handler) RevokeTokensPage(c echo.Context) error {
	return h.confirmRevoke(c, true)
}

func (h *Handler) confirmRevoke(c echo.Context, tokensOnly bool) error {
	ac, err := h.apiClient(c)
	if err != nil {
		return h.fail(c, err)
	}
	title := "Revoke " + ac.Name
	if tokensOnly {
		title = "Revoke the tokens of " + ac.Name
	}
	return h.render(c, http.StatusOK, "apiclient_revoke.html",
		apiClientRevokeData{page: h.base(c, title, "api-clients"), Client: ac, TokensOnly: tokensOnly})
}

// RevokeAPIClient is POST .../api-clients/{id}/revoke: the client is
// deleted, and with it every token it issued, on every instance.
func (h *Handler) RevokeAPIClient(c echo.Context) error {
	ac, err := h.apiClient(c)
	if err != nil {
		return h.fail(c, err)
	}
	if err := h.d.APIClients.Delete(c.Request().Context(), ac.TenantID, ac.ID, h.allowance(c)); err != nil {
		return h.fail(c, err)
	}
	return done(c, tenantPath(visitOf(c).tenant, "/api-clients"), "revoked")
}

// RevokeTokens is POST .../api-clients/{id}/revoke-tokens: every token
// issued so far stops working; the client stays.
func (h *Handler) RevokeTokens(c echo.Context) error {
	ac, err := h.apiClient(c)
	if err != nil {
		return h.fail(c, err)
	}
	if err := h.d.APIClients.RevokeTokens(c.Request().Context(), ac.TenantID, ac.ID, h.allowance(c)); err != nil {
		return h.fail(c, err)
	}
	return done(c, tenantPath(visitOf(c).tenant, "/api-clients/"+ac.ID.String()), "tokens-revoked")
}
