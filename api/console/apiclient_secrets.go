package console

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// expiryChoices are the add-secret form's lifetimes, in days.
var expiryChoices = map[string]int{"7": 7, "30": 30, "90": 90, "365": 365}

// CreateAPIClientSecret is POST .../api-clients/{id}/secrets: a new
// secret for rotation, shown on this answer only.
func (h *Handler) CreateAPIClientSecret(c echo.Context) error {
	ac, err := h.apiClient(c)
	if err != nil {
		return h.fail(c, err)
	}
	choice := visitOf(c).form.Get("expires_in")
	var expires *time.Time
	if choice != "" {
		days, ok := expiryChoices[choice]
		if !ok {
			return h.showAPIClient(c, http.StatusUnprocessableEntity, ac, apiClientData{
				page: page{Errors: fieldErrors{Fields: map[string][]string{"expires_at": {"Choose one of the offered lifetimes."}}}}})
		}
		t := time.Now().AddDate(0, 0, days)
		expires = &t
	}
	_, secret, err := h.d.APIClients.CreateSecret(c.Request().Context(), ac.TenantID, ac.ID, expires, h.allowance(c))
	if errs, ok := formProblems(err, "expires_at"); ok {
		d := apiClientData{ExpiresIn: choice}
		d.Errors = errs
		return h.showAPIClient(c, statusOf(err), ac, d)
	}
	if err != nil {
		return h.fail(c, err)
	}
	return h.render(c, http.StatusCreated, "apiclient_created.html", apiClientCreatedData{
		page: h.base(c, "New secret for "+ac.Name, "api-clients"), Client: ac, Secret: secret, NewSecret: true})
}

// DeleteAPIClientSecret is POST .../api-clients/{id}/secrets/{sid}/delete.
func (h *Handler) DeleteAPIClientSecret(c echo.Context) error {
	ac, err := h.apiClient(c)
	if err != nil {
		return h.fail(c, err)
	}
	sid, ok := pathUUID(c, "sid")
	if !ok {
		return h.notFound(c)
	}
	if err := h.d.APIClients.DeleteSecret(c.Request().Context(), ac.TenantID, ac.ID, sid, h.allowance(c)); err != nil {
		return h.fail(c, err)
	}
	return done(c, tenantPath(visitOf(c).tenant, "/api-clients/"+ac.ID.String()), "secret-deleted")
}
