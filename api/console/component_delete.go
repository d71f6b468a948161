package console

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/components"
	"github.com/oauthd/oauthd/internal/listing"
	"github.com/oauthd/oauthd/oauthclients"
	"github.com/oauthd/oauthd/policy"
)

type componentDeleteData struct {
	page
	Component *components.Component
	InUse     *inUse
}

// DeleteComponentPage is GET .../components/{id}/delete: the confirmation.
func (h *Handler) DeleteComponentPage(c echo.Context) error {
	comp, err := h.component(c)
	if err != nil {
		return h.fail(c, err)
	}
	return h.render(c, http.StatusOK, "component_delete.html",
		componentDeleteData{page: h.base(c, "Delete component "+comp.Name, "components"), Component: comp})
}

// DeleteComponent is POST .../components/{id}/delete; the domain refuses
// while flows include the component, and the page names them.
func (h *Handler) DeleteComponent(c echo.Context) error {
	comp, err := h.component(c)
	if err != nil {
		return h.fail(c, err)
	}
	err = h.d.Components.DeleteComponent(c.Request().Context(), comp.TenantID, comp.ID)
	if u := inUseOf(err); u != nil {
		u.Linked = h.can(c, policy.FlowsGet)
		return h.render(c, http.StatusConflict, "component_delete.html",
			componentDeleteData{page: h.base(c, "Component in use", "components"), Component: comp, InUse: u})
	}
	if err != nil {
		return h.fail(c, err)
	}
	return done(c, tenantPath(visitOf(c).tenant, "/components"), "deleted")
}

// oauthClientOf is the tenant's OAuth client for comp, nil when none.
func (h *Handler) oauthClientOf(c echo.Context, comp *components.Component) (*oauthClientLink, error) {
	id := comp.ID
	page, err := h.d.OAuthClients.List(c.Request().Context(), visitOf(c).tenant.ID,
		oauthclients.Filter{ComponentID: &id}, listing.Params{Number: 1, Size: 1})
	if err != nil || len(page.Items) == 0 {
		return nil, err
	}
	return &oauthClientLink{ID: page.Items[0].ID.String(), ClientID: page.Items[0].ClientID}, nil
}
