package console

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/connections"
	"github.com/oauthd/oauthd/policy"
)

// connectionFields are the connection form's fields.
var connectionFields = []string{"name", "component"}

type connectionNewData struct {
	page
	Name       string
	Components []option
}

// NewConnection is GET /console/tenants/{tid}/connections/new: form
// create-connection.
func (h *Handler) NewConnection(c echo.Context) error {
	return h.showNewConnection(c, http.StatusOK, "", c.QueryParam("component"), fieldErrors{})
}

func (h *Handler) showNewConnection(c echo.Context, status int, name, component string, errs fieldErrors) error {
	comps, err := h.visibleComponents(c)
	if err != nil {
		return h.fail(c, err)
	}
	p := h.base(c, "Connect an account", "connections")
	p.Errors = errs
	return h.render(c, status, "connection_new.html", connectionNewData{page: p, Name: name,
		Components: oauthComponentOptions(comps, component)})
}

type connectData struct {
	page
	Connection *connections.Connection
}

// CreateConnection is POST /console/tenants/{tid}/connections: the
// connection is made, and the answer offers its single-use authorize
// link (a link, not a redirect: the provider is another site, where the
// console's form-action policy would stop a redirected form).
func (h *Handler) CreateConnection(c echo.Context) error {
	f := visitOf(c).form
	in := connections.NewConnection{Name: strings.TrimSpace(f.Get("name")), ComponentID: f.Get("component")}
	cn, err := h.d.Connections.Create(c.Request().Context(), visitOf(c).tenant.ID, in)
	if errs, ok := formProblems(err, connectionFields...); ok {
		return h.showNewConnection(c, statusOf(err), in.Name, in.ComponentID, errs)
	}
	if err != nil {
		return h.fail(c, err)
	}
	return h.render(c, http.StatusCreated, "connection_connect.html", connectData{page: h.base(c, "Connect "+cn.Name, "connections"), Connection: cn})
}

func (h *Handler) connection(c echo.Context) (*connections.Connection, error) {
	id, ok := pathUUID(c, "id")
	if !ok {
		return nil, connections.ErrNotFound
	}
	return h.d.Connections.Get(c.Request().Context(), visitOf(c).tenant.ID, id)
}

type connectionData struct {
	page
	Connection    *connections.Connection
	ComponentName string
	CanEdit       bool
	CanDelete     bool
}

// Connection is GET /console/tenants/{tid}/connections/{id}.
func (h *Handler) Connection(c echo.Context) error {
	cn, err := h.connection(c)
	if err != nil {
		return h.fail(c, err)
	}
	comps, err := h.visibleComponents(c)
	if err != nil {
		return h.fail(c, err)
	}
	return h.render(c, http.StatusOK, "connection.html", connectionData{page: h.base(c, "Connection "+cn.Name, "connections"),
		Connection: cn, ComponentName: componentNames(comps)[cn.ComponentID],
		CanEdit: h.can(c, policy.ConnectionsEdit), CanDelete: h.can(c, policy.ConnectionsDelete)})
}

// ReconnectConnection is POST .../connections/{id}/reconnect: a new
// authorize link, offered as on create.
func (h *Handler) ReconnectConnection(c echo.Context) error {
	cn, err := h.connection(c)
	if err != nil {
		return h.fail(c, err)
	}
	cn, err = h.d.Connections.Reconnect(c.Request().Context(), cn.TenantID, cn.ID)
	if err != nil {
		return h.fail(c, err)
	}
	return h.render(c, http.StatusOK, "connection_connect.html", connectData{page: h.base(c, "Reconnect "+cn.Name, "connections"), Connection: cn})
}

// RefreshConnection is POST .../connections/{id}/refresh: a refresh now.
func (h *Handler) RefreshConnection(c echo.Context) error {
	cn, err := h.connection(c)
	if err != nil {
		return h.fail(c, err)
	}
	if _, err := h.d.Connections.Refresh(c.Request().Context(), cn.TenantID, cn.ID); err != nil {
		return h.fail(c, err)
	}
	return done(c, tenantPath(visitOf(c).tenant, "/connections/"+cn.ID.String()), "refreshed")
}

// DeleteConnectionPage is GET .../connections/{id}/delete: the confirmation.
func (h *Handler) DeleteConnectionPage(c echo.Context) error {
	cn, err := h.connection(c)
	if err != nil {
		return h.fail(c, err)
	}
	return h.render(c, http.StatusOK, "connection_delete.html", connectionData{page: h.base(c, "Delete "+cn.Name, "connections"), Connection: cn})
}

// DeleteConnection is POST .../connections/{id}/delete: tokens erased.
func (h *Handler) DeleteConnection(c echo.Context) error {
	cn, err := h.connection(c)
	if err != nil {
		return h.fail(c, err)
	}
	if err := h.d.Connections.Delete(c.Request().Context(), cn.TenantID, cn.ID); err != nil {
		return h.fail(c, err)
	}
	return done(c, tenantPath(visitOf(c).tenant, "/connections"), "deleted")
}
