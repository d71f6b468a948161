package console

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/oauthclients"
	"github.com/oauthd/oauthd/policy"
)

type oauthClientData struct {
	page
	Client        *oauthclients.Client
	ComponentName string
	ClientID      string
	Components    []option
	CanEdit       bool
	CanDelete     bool
	CanReveal     bool
	// CanSeeComponent: the component's page may be linked.
	CanSeeComponent bool
}

// OAuthClient is GET /console/tenants/{tid}/oauth-clients/{id}: the
// client, and its edit form for those who may edit it.
func (h *Handler) OAuthClient(c echo.Context) error {
	oc, err := h.oauthClient(c)
	if err != nil {
		return h.fail(c, err)
	}
	return h.showOAuthClient(c, http.StatusOK, oc, oc.ClientID, oc.ComponentID.String(), fieldErrors{})
}

// oauthClient is the client the URL names.
func (h *Handler) oauthClient(c echo.Context) (*oauthclients.Client, error) {
	id, ok := pathUUID(c, "id")
	if !ok {
		return nil, oauthclients.ErrNotFound
	}
	return h.d.OAuthClients.Get(c.Request().Context(), visitOf(c).tenant.ID, id)
}

func (h *Handler) showOAuthClient(c echo.Context, status int, oc *oauthclients.Client, clientID, component string, errs fieldErrors) error {
	comps, err := h.visibleComponents(c)
	if err != nil {
		return h.fail(c, err)
	}
	p := h.base(c, "OAuth client "+oc.ClientID, "oauth-clients")
	p.Errors = errs
	return h.render(c, status, "oauthclient.html", oauthClientData{
		page: p, Client: oc, ComponentName: componentNames(comps)[oc.ComponentID], ClientID: clientID,
		Components: oauthComponentOptions(comps, component),
		CanEdit:    h.can(c, policy.OAuthClientsEdit), CanDelete: h.can(c, policy.OAuthClientsDelete),
		CanReveal: h.can(c, policy.OAuthClientsRevealSecret), CanSeeComponent: h.can(c, policy.ComponentsGet),
	})
}

// UpdateOAuthClient is POST /console/tenants/{tid}/oauth-clients/{id}: a
// new client id, component, or secret (an empty secret keeps the stored
// one).
func (h *Handler) UpdateOAuthClient(c echo.Context) error {
	oc, err := h.oauthClient(c)
	if err != nil {
		return h.fail(c, err)
	}
	f := visitOf(c).form
	clientID, component := f.Get("client_id"), f.Get("component")
	patch := oauthclients.Patch{ClientID: &clientID, ComponentID: &component}
	if s := f.Get("client_secret"); s != "" {
		patch.ClientSecret = &s
	}
	_, err = h.d.OAuthClients.Update(c.Request().Context(), oc.TenantID, oc.ID, patch)
	if errs, ok := formProblems(err, oauthClientFields...); ok {
		return h.showOAuthClient(c, statusOf(err), oc, clientID, component, errs)
	}
	if err != nil {
		return h.fail(c, err)
	}
	return done(c, tenantPath(visitOf(c).tenant, "/oauth-clients/"+oc.ID.String()), "saved")
}
