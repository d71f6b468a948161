package console

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/webhooks"
)

// webhookFields are the webhook form's fields, in the domain's names.
var webhookFields = []string{"url", "events", "description"}

// webhookForm is what the create and edit forms send.
type webhookForm struct {
	URL         string
	Description string
	Events      []string
}

// readWebhookForm decodes the create and edit forms: the url, the
// description and the events checkboxes (patterns: "*", "api_client.*",
// or types). Whether they are valid is the domain's rule, not the form's.
func readWebhookForm(f url.Values) webhookForm {
	events := f["events"]
	if events == nil {
		events = []string{} // none checked: the domain says events are needed
	}
	return webhookForm{URL: strings.TrimSpace(f.Get("url")), Description: strings.TrimSpace(f.Get("description")), Events: events}
}

// eventChoice is one events checkbox.
type eventChoice struct {
	Value, ID string
	Checked   bool
}

// eventGroup is a resource's events: "every <resource> event" and each
// type.
type eventGroup struct {
	Resource string
	All      eventChoice
	Types    []eventChoice
}

// eventChoices are the events checkboxes, from the domain's one list of
// event types, checked as in selected.
func eventChoices(selected []string) (eventChoice, []eventGroup) {
	choice := func(v string) eventChoice {
		id := "events-" + strings.NewReplacer(".", "-", "*", "all").Replace(v)
		return eventChoice{Value: v, ID: id, Checked: slices.Contains(selected, v)}
	}
	var groups []eventGroup
	for _, t := range webhooks.EventTypes {
		resource, _, _ := strings.Cut(t, ".")
		if len(groups) == 0 || groups[len(groups)-1].Resource != resource {
			groups = append(groups, eventGroup{Resource: resource, All: choice(resource + ".*")})
		}
		g := &groups[len(groups)-1]
		g.Types = append(g.Types, choice(t))
	}
	return choice("*"), groups
}

type webhookNewData struct {
	page
	Form      webhookForm
	AllEvents eventChoice
	Groups    []eventGroup
}

// NewWebhook is GET /console/tenants/{tid}/webhooks/new: form
// create-webhook.
func (h *Handler) NewWebhook(c echo.Context) error {
	return h.showNewWebhook(c, http.StatusOK, webhookForm{Events: []string{"*"}}, fieldErrors{})
}

func (h *Handler) showNewWebhook(c echo.Context, status int, f webhookForm, errs fieldErrors) error {
	d := webhookNewData{page: h.base(c, "New webhook", "webhooks"), Form: f}
	d.Errors = errs
	d.AllEvents, d.Groups = eventChoices(f.Events)
	return h.render(c, status, "webhook_new.html", d)
}

type webhookCreatedData struct {
	page
	Hook   *webhooks.Webhook
	Secret string
	// Rotated: a new secret of an existing webhook; the others sign until
	// PreviousUntil.
	Rotated       bool
	PreviousUntil string
}

// CreateWebhook is POST /console/tenants/{tid}/webhooks: the domain makes
// the webhook (its rules, the address rule on the url, the audit event)
// and its signing secret is shown on this answer only.
func (h *Handler) CreateWebhook(c echo.Context) error {
	f := readWebhookForm(visitOf(c).form)
	w, secret, err := h.d.Webhooks.Create(c.Request().Context(), visitOf(c).tenant.ID,
		webhooks.NewWebhook{URL: f.URL, Events: f.Events, Description: f.Description})
	if errs, ok := formProblems(err, webhookFields...); ok {
		return h.showNewWebhook(c, statusOf(err), f, errs)
	}
	if err != nil {
		return h.fail(c, err)
	}
	return h.render(c, http.StatusCreated, "webhook_created.html", webhookCreatedData{
		page: h.base(c, "Webhook created", "webhooks"), Hook: w, Secret: secret})
}

// UpdateWebhook is POST /console/tenants/{tid}/webhooks/{id}: a new url,
// description or events.
func (h *Handler) UpdateWebhook(c echo.Context) error {
	w, err := h.webhook(c)
	if err != nil {
		return h.fail(c, err)
	}
	f := readWebhookForm(visitOf(c).form)
	_, err = h.d.Webhooks.Update(c.Request().Context(), w.TenantID, w.ID,
		webhooks.Patch{URL: &f.URL, Events: &f.Events, Description: &f.Description})
	if errs, ok := formProblems(err, webhookFields...); ok {
		return h.showWebhook(c, statusOf(err), w, webhookData{Form: f, page: page{Errors: errs}})
	}
	if err != nil {
		return h.fail(c, err)
	}
	return done(c, tenantPath(visitOf(c).tenant, "/webhooks/"+w.ID.String()), "saved")
}
