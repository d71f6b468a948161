package console

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/components"
	"github.com/oauthd/oauthd/policy"
)

// flowFields are the flow form's fields.
var flowFields = []string{"name", "components"}

type componentChoice struct {
	ID, Name string
	Checked  bool
	// Note says why a component cannot be chosen yet, if so.
	Note string
}

type flowFormData struct {
	page
	Flow       *components.Flow // nil on the new-flow form
	Name       string
	Components []componentChoice
	CanEdit    bool
	CanDelete  bool
}

// NewFlow is GET /console/tenants/{tid}/flows/new.
func (h *Handler) NewFlow(c echo.Context) error {
	return h.showFlowForm(c, http.StatusOK, flowFormData{}, nil)
}

func (h *Handler) showFlowForm(c echo.Context, status int, d flowFormData, checked []string) error {
	comps, err := h.visibleComponents(c)
	if err != nil {
		return h.fail(c, err)
	}
	for _, comp := range comps {
		ch := componentChoice{ID: comp.ID.String(), Name: comp.Name, Checked: slices.Contains(checked, comp.ID.String())}
		if !comp.Available {
			ch.Note = "needs this tenant's OAuth client first"
		}
		d.Components = append(d.Components, ch)
	}
	errs := d.Errors
	title := "New flow"
	if d.Flow != nil {
		title = "Flow " + d.Flow.Name
		d.CanEdit, d.CanDelete = h.can(c, policy.FlowsEdit), h.can(c, policy.FlowsDelete)
	}
	d.page = h.base(c, title, "flows")
	d.Errors = errs
	return h.render(c, status, "flow.html", d)
}

// CreateFlow is POST /console/tenants/{tid}/flows.
func (h *Handler) CreateFlow(c echo.Context) error {
	f := visitOf(c).form
	in := components.NewFlow{Name: strings.TrimSpace(f.Get("name")), ComponentIDs: f["components"]}
	if in.ComponentIDs == nil {
		in.ComponentIDs = []string{}
	}
	fl, err := h.d.Components.CreateFlow(c.Request().Context(), visitOf(c).tenant.ID, in)
	if errs, ok := formProblems(err, flowFields...); ok {
		d := flowFormData{Name: in.Name}
		d.Errors = errs
		return h.showFlowForm(c, statusOf(err), d, in.ComponentIDs)
	}
	if err != nil {
		return h.fail(c, err)
	}
	return done(c, tenantPath(visitOf(c).tenant, "/flows/"+fl.ID.String()), "created")
}

func (h *Handler) flow(c echo.Context) (*components.Flow, error) {
	id, ok := pathUUID(c, "id")
	if !ok {
		return nil, components.ErrFlowNotFound
	}
	return h.d.Components.Flow(c.Request().Context(), visitOf(c).tenant.ID, id)
}

// Flow is GET /console/tenants/{tid}/flows/{id}.
func (h *Handler) Flow(c echo.Context) error {
	fl, err := h.flow(c)
	if err != nil {
		return h.fail(c, err)
	}
	ids := make([]string, len(fl.ComponentIDs))
	for i, id := range fl.ComponentIDs {
		ids[i] = id.String()
	}
	return h.showFlowForm(c, http.StatusOK, flowFormData{Flow: fl, Name: fl.Name}, ids)
}

// UpdateFlow is POST /console/tenants/{tid}/flows/{id}: a new name and
// component list.
func (h *Handler) UpdateFlow(c echo.Context) error {
	fl, err := h.flow(c)
	if err != nil {
		return h.fail(c, err)
	}
	f := visitOf(c).form
	name, ids := strings.TrimSpace(f.Get("name")), f["components"]
	if ids == nil {
		ids = []string{}
	}
	_, err = h.d.Components.UpdateFlow(c.Request().Context(), fl.TenantID, fl.ID, components.FlowPatch{Name: &name, ComponentIDs: &ids})
	if errs, ok := formProblems(err, flowFields...); ok {
		d := flowFormData{Flow: fl, Name: name}
		d.Errors = errs
		return h.showFlowForm(c, statusOf(err), d, ids)
	}
	if err != nil {
		return h.fail(c, err)
	}
	return done(c, tenantPath(visitOf(c).tenant, "/flows/"+fl.ID.String()), "saved")
}

type flowDeleteData struct {
	page
	Flow *components.Flow
}

// DeleteFlowPage is GET .../flows/{id}/delete: the confirmation.
func (h *Handler) DeleteFlowPage(c echo.Context) error {
	fl, err := h.flow(c)
	if err != nil {
		return h.fail(c, err)
	}
	return h.render(c, http.StatusOK, "flow_delete.html", flowDeleteData{page: h.base(c, "Delete flow "+fl.Name, "flows"), Flow: fl})
}

// DeleteFlow is POST .../flows/{id}/delete.
func (h *Handler) DeleteFlow(c echo.Context) error {
	fl, err := h.flow(c)
	if err != nil {
		return h.fail(c, err)
	}
	if err := h.d.Components.DeleteFlow(c.Request().Context(), fl.TenantID, fl.ID); err != nil {
		return h.fail(c, err)
	}
	return done(c, tenantPath(visitOf(c).tenant, "/flows"), "deleted")
}
