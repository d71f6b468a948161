package console

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/components"
	"github.com/oauthd/oauthd/policy"
)

// componentFields are the component form's fields.
var componentFields = []string{"name", "visibility", "descriptor"}

type componentFormData struct {
	page
	Component  *components.Component // nil on the new-component form
	Name       string
	Visibility string
	Descriptor string
	// MayGlobal: the visibility choice is offered to superusers only (the
	// domain refuses "global" from anyone else).
	MayGlobal bool
	CanEdit   bool
	CanDelete bool
	// CanDefineClient: the user may create the component's OAuth client.
	CanDefineClient bool
	UsedBy          *oauthClientLink
}

// oauthClientLink is the tenant's OAuth client of a component, if any.
type oauthClientLink struct {
	ID       string
	ClientID string
}

const exampleDescriptor = `{
  "useOAuthClient": true,
  "envVars": {},
  "oauth2": {
    "client_id": "",
    "client_secret": "",
    "auth_uri": "https://provider.example/oauth/authorize",
    "token_uri": "https://provider.example/oauth/token"
  }
}`

// NewComponent is GET /console/tenants/{tid}/components/new.
func (h *Handler) NewComponent(c echo.Context) error {
	return h.showComponentForm(c, http.StatusOK, componentFormData{Visibility: components.VisibilityTenant, Descriptor: exampleDescriptor})
}

func (h *Handler) showComponentForm(c echo.Context, status int, d componentFormData) error {
	errs := d.Errors
	title := "New component"
	if d.Component != nil {
		title = "Component " + d.Component.Name
	}
	d.page = h.base(c, title, "components")
	d.Errors = errs
	d.MayGlobal = visitOf(c).user().Superuser
	if d.Component != nil {
		d.CanEdit = d.Component.Owned && h.can(c, policy.ComponentsEdit)
		d.CanDelete = d.Component.Owned && h.can(c, policy.ComponentsDelete)
		d.CanDefineClient = h.can(c, policy.OAuthClientsCreate)
	}
	return h.render(c, status, "component.html", d)
}

// CreateComponent is POST /console/tenants/{tid}/components.
func (h *Handler) CreateComponent(c echo.Context) error {
	f := visitOf(c).form
	d := componentFormData{Name: strings.TrimSpace(f.Get("name")), Visibility: f.Get("visibility"), Descriptor: f.Get("descriptor")}
	in := components.NewComponent{Name: d.Name, Visibility: d.Visibility, Descriptor: json.RawMessage(strings.TrimSpace(d.Descriptor))}
	comp, err := h.d.Components.CreateComponent(c.Request().Context(), visitOf(c).tenant.ID, visitOf(c).user().Superuser, in)
	if errs, ok := formProblems(err, componentFields...); ok {
		d.Errors = errs
		return h.showComponentForm(c, statusOf(err), d)
	}
	if err != nil {
		return h.fail(c, err)
	}
	return done(c, tenantPath(visitOf(c).tenant, "/components/"+comp.ID.String()), "created")
}

// Component is GET /console/tenants/{tid}/components/{id}: the component
// and, for its owner, the edit form.
func (h *Handler) Component(c echo.Context) error {
	comp, err := h.component(c)
	if err != nil {
		return h.fail(c, err)
	}
	d := componentFormData{Component: comp, Name: comp.Name, Visibility: comp.Visibility, Descriptor: indentJSON(comp.Descriptor)}
	if h.can(c, policy.OAuthClientsGet) {
		if d.UsedBy, err = h.oauthClientOf(c, comp); err != nil {
			return h.fail(c, err)
		}
	}
	return h.showComponentForm(c, http.StatusOK, d)
}

func (h *Handler) component(c echo.Context) (*components.Component, error) {
	id, ok := pathUUID(c, "id")
	if !ok {
		return nil, components.ErrComponentNotFound
	}
	return h.d.Components.Component(c.Request().Context(), visitOf(c).tenant.ID, id)
}

// UpdateComponent is POST /console/tenants/{tid}/components/{id}.
func (h *Handler) UpdateComponent(c echo.Context) error {
	comp, err := h.component(c)
	if err != nil {
		return h.fail(c, err)
	}
	f := visitOf(c).form
	d := componentFormData{Component: comp, Name: strings.TrimSpace(f.Get("name")), Visibility: f.Get("visibility"), Descriptor: f.Get("descriptor")}
	patch := components.ComponentPatch{Name: &d.Name, Descriptor: json.RawMessage(strings.TrimSpace(d.Descriptor))}
	if d.Visibility != "" {
		patch.Visibility = &d.Visibility
	}
	_, err = h.d.Components.UpdateComponent(c.Request().Context(), comp.TenantID, visitOf(c).user().Superuser, comp.ID, patch, h.allowance(c))
	if errs, ok := formProblems(err, componentFields...); ok {
		d.Errors = errs
		return h.showComponentForm(c, statusOf(err), d)
	}
	if err != nil {
		return h.fail(c, err)
	}
	return done(c, tenantPath(visitOf(c).tenant, "/components/"+comp.ID.String()), "saved")
}

// indentJSON shows a stored descriptor readably.
func indentJSON(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return string(raw)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return string(raw)
	}
	return string(b)
}
