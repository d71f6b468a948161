package console

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/policy"
)

type apiClientData struct {
	page
	Client    *apiclients.Client
	Secrets   []apiclients.Secret
	CanEdit   bool
	CanDelete bool
	// Beyond names a right the client holds that the user lacks: then the
	// domain refuses every change to it, and no button is shown.
	Beyond string
	// ExpiresIn is the add-secret form's choice, kept when it is refused.
	ExpiresIn string
}

// APIClient is GET /console/tenants/{tid}/api-clients/{id}: the client's
// grant types, roles, last use and secrets (hints only).
func (h *Handler) APIClient(c echo.Context) error {
	ac, err := h.apiClient(c)
	if err != nil {
		return h.fail(c, err)
	}
	return h.showAPIClient(c, http.StatusOK, ac, apiClientData{})
}

func (h *Handler) apiClient(c echo.Context) (*apiclients.Client, error) {
	id, ok := pathUUID(c, "id")
	if !ok {
		return nil, apiclients.ErrNotFound
	}
	return h.d.APIClients.Get(c.Request().Context(), visitOf(c).tenant.ID, id)
}

func (h *Handler) showAPIClient(c echo.Context, status int, ac *apiclients.Client, d apiClientData) error {
	secrets, err := h.d.APIClients.Secrets(c.Request().Context(), ac.TenantID, ac.ID)
	if err != nil {
		return h.fail(c, err)
	}
	errs := d.Errors
	d.page = h.base(c, "API client "+ac.Name, "api-clients")
	d.Errors = errs
	d.Client, d.Secrets = ac, secrets
	beyond, err := h.beyond(c, ac)
	if err != nil {
		return h.fail(c, err)
	}
	d.Beyond = beyond
	d.CanEdit = beyond == "" && h.can(c, policy.APIClientsEdit)
	d.CanDelete = beyond == "" && h.can(c, policy.APIClientsDelete)
	return h.render(c, status, "apiclient.html", d)
}

// beyond is the domain's refusal to let the user act on ac (a right the
// client holds that they lack), "" when they may.
func (h *Handler) beyond(c echo.Context, ac *apiclients.Client) (string, error) {
	ps, err := h.d.Policy.ExceedingClient(policy.ClientRights{Roles: ac.Roles, Scopes: ac.Scopes}, h.allowance(c))
	if err != nil || len(ps) == 0 {
		return "", err
	}
	return ps[0].Detail, nil
}
