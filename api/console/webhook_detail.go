package console

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/policy"
	"github.com/oauthd/oauthd/webhooks"
)

// recentEvents is how many of the delivery log's events the webhook's
// page shows; the log's own page has them all.
const recentEvents = 5

type webhookSecretRow struct {
	webhooks.Secret
	Live bool
	// Deletable: not the only live secret (every delivery is signed).
	Deletable bool
}

type webhookData struct {
	page
	Hook      *webhooks.Webhook
	Secrets   []webhookSecretRow
	Recent    []webhooks.EventDelivery
	Form      webhookForm
	AllEvents eventChoice
	Groups    []eventGroup
	CanEdit   bool
	CanDelete bool
	// Overlap is the rotate form's choice, kept when it is refused.
	Overlap  string
	Overlaps []option
}

// Webhook is GET /console/tenants/{tid}/webhooks/{id}: the webhook, its
// secrets (hints), its latest deliveries, and the forms the user may use.
func (h *Handler) Webhook(c echo.Context) error {
	w, err := h.webhook(c)
	if err != nil {
		return h.fail(c, err)
	}
	return h.showWebhook(c, http.StatusOK, w, webhookData{Form: webhookForm{URL: w.URL, Description: w.Description, Events: w.Events}})
}

// webhook is the webhook the URL names.
func (h *Handler) webhook(c echo.Context) (*webhooks.Webhook, error) {
	id, ok := pathUUID(c, "id")
	if !ok {
		return nil, webhooks.ErrNotFound
	}
	return h.d.Webhooks.Get(c.Request().Context(), visitOf(c).tenant.ID, id)
}

func (h *Handler) showWebhook(c echo.Context, status int, w *webhooks.Webhook, d webhookData) error {
	ctx := c.Request().Context()
	secrets, err := h.d.Webhooks.Secrets(ctx, w.TenantID, w.ID)
	if err != nil {
		return h.fail(c, err)
	}
	recent, _, err := h.d.Webhooks.EventLog(ctx, w.TenantID, w.ID, 1, recentEvents)
	if err != nil {
		return h.fail(c, err)
	}
	now := time.Now()
	live := 0
	for _, s := range secrets {
		if s.ExpiresAt == nil || s.ExpiresAt.After(now) {
			live++
		}
	}
	for _, s := range secrets {
		isLive := s.ExpiresAt == nil || s.ExpiresAt.After(now)
		d.Secrets = append(d.Secrets, webhookSecretRow{Secret: s, Live: isLive, Deletable: !isLive || live > 1})
	}
	errs := d.Errors
	d.page = h.base(c, "Webhook "+webhooks.RedactURL(w.URL), "webhooks")
	d.Errors = errs
	d.Hook, d.Recent = w, recent
	d.AllEvents, d.Groups = eventChoices(d.Form.Events)
	d.CanEdit, d.CanDelete = h.can(c, policy.WebhooksEdit), h.can(c, policy.WebhooksDelete)
	if d.Overlap == "" {
		d.Overlap = defaultOverlap
	}
	for _, o := range overlapChoices {
		d.Overlaps = append(d.Overlaps, option{Value: o.value, Label: o.label, Selected: o.value == d.Overlap})
	}
	return h.render(c, status, "webhook.html", d)
}

// EnableWebhook is POST .../webhooks/{id}/enable: deliveries resume with
// the next event (and a webhook oauthd switched off starts afresh).
func (h *Handler) EnableWebhook(c echo.Context) error { return h.setWebhookActive(c, true) }

// DisableWebhook is POST .../webhooks/{id}/disable: no event is sent to
// it until it is enabled again.
func (h *Handler) DisableWebhook(c echo.Context) error { return h.setWebhookActive(c, false) }

func (h *Handler) setWebhookActive(c echo.Context, active bool) error {
	w, err := h.webhook(c)
	if err != nil {
		return h.fail(c, err)
	}
	if _, err := h.d.Webhooks.Update(c.Request().Context(), w.TenantID, w.ID, webhooks.Patch{Active: &active}); err != nil {
		return h.fail(c, err)
	}
	notice := "disabled"
	if active {
		notice = "enabled"
	}
	return done(c, tenantPath(visitOf(c).tenant, "/webhooks/"+w.ID.String()), notice)
}

// overlapChoices are how long the previous secrets keep signing after a
// rotation (the API's previous_secrets_expire_in).
var overlapChoices = []struct {
	value, label string
	d            time.Duration
}{
	{"0", "stop at once", 0},
	{"3600", "for an hour", time.Hour},
	{"86400", "for a day", webhooks.DefaultOverlap},
	{"604800", "for a week", webhooks.MaxOverlap},
}

const defaultOverlap = "86400"

// RotateWebhookSecret is POST .../webhooks/{id}/secrets: a new signing
// secret, shown on this answer only; the previous ones keep signing for
// the chosen overlap, as on the API.
func (h *Handler) RotateWebhookSecret(c echo.Context) error {
	w, err := h.webhook(c)
	if err != nil {
		return h.fail(c, err)
	}
	choice := visitOf(c).form.Get("previous_secrets_expire_in")
	overlap, ok := time.Duration(0), false
	for _, o := range overlapChoices {
		if o.value == choice {
			overlap, ok = o.d, true
		}
	}
	if !ok {
		return h.showWebhook(c, http.StatusUnprocessableEntity, w, webhookData{Overlap: defaultOverlap,
			Form: webhookForm{URL: w.URL, Description: w.Description, Events: w.Events},
			page: page{Errors: fieldErrors{Fields: map[string][]string{"previous_secrets_expire_in": {"Choose one of the offered overlaps."}}}}})
	}
	s, secret, err := h.d.Webhooks.CreateSecret(c.Request().Context(), w.TenantID, w.ID, &overlap)
	if err != nil {
		return h.fail(c, err)
	}
	return h.render(c, http.StatusCreated, "webhook_created.html", webhookCreatedData{
		page: h.base(c, "New signing secret", "webhooks"), Hook: w, Secret: secret, Rotated: true,
		PreviousUntil: s.CreatedAt.Add(overlap).UTC().Format("2006-01-02 15:04:05 UTC")})
}

// DeleteWebhookSecret is POST .../webhooks/{id}/secrets/{sid}/delete: the
// secret stops signing at once (the domain keeps the last live one).
func (h *Handler) DeleteWebhookSecret(c echo.Context) error {
	w, err := h.webhook(c)
	if err != nil {
		return h.fail(c, err)
	}
	sid, ok := pathUUID(c, "sid")
	if !ok {
		return h.notFound(c)
	}
	if err := h.d.Webhooks.DeleteSecret(c.Request().Context(), w.TenantID, w.ID, sid); err != nil {
		return h.fail(c, err)
	}
	return done(c, tenantPath(visitOf(c).tenant, "/webhooks/"+w.ID.String()), "signing-secret-deleted")
}

type webhookDeleteData struct {
	page
	Hook *webhooks.Webhook
}

// DeleteWebhookPage is GET .../webhooks/{id}/delete: form confirm-delete.
func (h *Handler) DeleteWebhookPage(c echo.Context) error {
	w, err := h.webhook(c)
	if err != nil {
		return h.fail(c, err)
	}
	return h.render(c, http.StatusOK, "webhook_delete.html", webhookDeleteData{page: h.base(c, "Delete webhook", "webhooks"), Hook: w})
}

// DeleteWebhook is POST .../webhooks/{id}/delete: the webhook goes with
// its secrets and delivery log; deliveries still queued are dropped.
func (h *Handler) DeleteWebhook(c echo.Context) error {
	w, err := h.webhook(c)
	if err != nil {
		return h.fail(c, err)
	}
	if err := h.d.Webhooks.Delete(c.Request().Context(), w.TenantID, w.ID); err != nil {
		return h.fail(c, err)
	}
	return done(c, tenantPath(visitOf(c).tenant, "/webhooks"), "deleted")
}

type webhookDeliveriesData struct {
	page
	Hook   *webhooks.Webhook
	Events []webhooks.EventDelivery
	Pager  pager
}

// WebhookDeliveries is GET .../webhooks/{id}/deliveries: the delivery
// log by event, newest first: attempts, the last status or error, the
// next attempt while it is retried, and when it was delivered.
func (h *Handler) WebhookDeliveries(c echo.Context) error {
	w, err := h.webhook(c)
	if err != nil {
		return h.fail(c, err)
	}
	p := pageParams(c)
	events, total, err := h.d.Webhooks.EventLog(c.Request().Context(), w.TenantID, w.ID, p.Number, p.Size)
	if err != nil {
		return h.fail(c, err)
	}
	return h.render(c, http.StatusOK, "webhook_deliveries.html", webhookDeliveriesData{
		page: h.base(c, "Delivery log", "webhooks"), Hook: w, Events: events, Pager: newPager(c, p, total)})
}
