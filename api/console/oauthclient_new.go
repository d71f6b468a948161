package console

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/oauthclients"
)

// oauthClientFields are the form's fields, in the domain's names.
var oauthClientFields = []string{"client_id", "client_secret", "component"}

type oauthClientFormData struct {
	page
	ClientID   string
	Components []option
}

// NewOAuthClient is GET /console/tenants/{tid}/oauth-clients/new: form
// create-oauth-client (?component= preselects one).
func (h *Handler) NewOAuthClient(c echo.Context) error {
	return h.showNewOAuthClient(c, http.StatusOK, "", c.QueryParam("component"), fieldErrors{})
}

func (h *Handler) showNewOAuthClient(c echo.Context, status int, clientID, component string, errs fieldErrors) error {
	comps, err := h.visibleComponents(c)
	if err != nil {
		return h.fail(c, err)
	}
	p := h.base(c, "New OAuth client", "oauth-clients")
	p.Errors = errs
	return h.render(c, status, "oauthclient_new.html", oauthClientFormData{page: p, ClientID: clientID,
		Components: oauthComponentOptions(comps, component)})
}

// CreateOAuthClient is POST /console/tenants/{tid}/oauth-clients. The
// secret never comes back: a refused form asks for it again.
func (h *Handler) CreateOAuthClient(c echo.Context) error {
	f := visitOf(c).form
	in := oauthclients.NewClient{ClientID: f.Get("client_id"), ClientSecret: f.Get("client_secret"), ComponentID: f.Get("component")}
	oc, err := h.d.OAuthClients.Create(c.Request().Context(), visitOf(c).tenant.ID, in)
	if errs, ok := formProblems(err, oauthClientFields...); ok {
		return h.showNewOAuthClient(c, statusOf(err), in.ClientID, in.ComponentID, errs)
	}
	if err != nil {
		return h.fail(c, err)
	}
	return done(c, tenantPath(visitOf(c).tenant, "/oauth-clients/"+oc.ID.String()), "created")
}
