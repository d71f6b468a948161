package api

import (
	"net/http"
	"time"

	"github.com/google/jsonapi"
	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/internal/listing"
	"github.com/oauthd/oauthd/webhooks"
)

var webhookSchema = schema{Type: "webhook", Attributes: []string{"url", "events", "description", "active"}}

var webhookSecretSchema = schema{Type: "webhook-secret", Attributes: []string{"previous_secrets_expire_in"}}

var webhookList = listSpec{Sorts: webhooks.ListSorts.Fields(), Filters: []string{"active"}}

var webhookDeliveryList = listSpec{Sorts: webhooks.DeliverySorts.Fields(), Filters: []string{"event", "success"}}

type webhookView struct {
	ID             string     `jsonapi:"primary,webhook"`
	URL            string     `jsonapi:"attr,url"`
	Events         []string   `jsonapi:"attr,events"`
	Description    string     `jsonapi:"attr,description"`
	Active         bool       `jsonapi:"attr,active"`
	Secret         string     `jsonapi:"attr,secret,omitempty"` // only in the create response
	FailingSince   *time.Time `jsonapi:"attr,failing_since,rfc3339"`
	DisabledReason *string    `jsonapi:"attr,disabled_reason"`
	DisabledAt     *time.Time `jsonapi:"attr,disabled_at,rfc3339"`
	CreatedAt      time.Time  `jsonapi:"attr,created_at,rfc3339"`
	UpdatedAt      time.Time  `jsonapi:"attr,updated_at,rfc3339"`
	path           string
}

func (v webhookView) JSONAPILinks() *jsonapi.Links { return &jsonapi.Links{"self": v.path} }

type webhookSecretView struct {
	ID        string     `jsonapi:"primary,webhook-secret"`
	Secret    string     `jsonapi:"attr,secret,omitempty"` // only in the create response
	Hint      string     `jsonapi:"attr,hint"`
	ExpiresAt *time.Time `jsonapi:"attr,expires_at,rfc3339"`
	CreatedAt time.Time  `jsonapi:"attr,created_at,rfc3339"`
	path      string
}

func (v webhookSecretView) JSONAPILinks() *jsonapi.Links { return &jsonapi.Links{"self": v.path} }

type webhookDeliveryView struct {
	ID         string    `jsonapi:"primary,webhook-delivery"`
	EventID    string    `jsonapi:"attr,event_id"`
	EventType  string    `jsonapi:"attr,event_type"`
	Attempt    int       `jsonapi:"attr,attempt"`
	Success    bool      `jsonapi:"attr,success"`
	StatusCode *int      `jsonapi:"attr,status_code"`
	Error      *string   `jsonapi:"attr,error"`
	DurationMS int       `jsonapi:"attr,duration_ms"`
	CreatedAt  time.Time `jsonapi:"attr,created_at,rfc3339"`
}

func webhookPath(c echo.Context) string { return "/v2/tenants/" + tenantOf(c).String() + "/webhooks" }

func toWebhookView(base string) func(*webhooks.Webhook) *webhookView {
	return func(w *webhooks.Webhook) *webhookView {
		return &webhookView{ID: w.ID.String(), URL: w.URL, Events: nonNil(w.Events), Description: w.Description,
			Active: w.Active, FailingSince: w.FailingSince, DisabledReason: w.DisabledReason, DisabledAt: w.DisabledAt,
			CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt, path: base + "/" + w.ID.String()}
	}
}

func toWebhookSecretView(webhookPath string) func(*webhooks.Secret) *webhookSecretView {
	return func(s *webhooks.Secret) *webhookSecretView {
		return &webhookSecretView{ID: s.ID.String(), Hint: s.Hint, ExpiresAt: s.ExpiresAt, CreatedAt: s.CreatedAt,
			path: webhookPath + "/secrets/" + s.ID.String()}
	}
}

func toWebhookDeliveryView(d *webhooks.Delivery) *webhookDeliveryView {
	return &webhookDeliveryView{ID: d.ID.String(), EventID: d.EventID.String(), EventType: d.EventType, Attempt: d.Attempt,
		Success: d.Success, StatusCode: d.StatusCode, Error: d.Error, DurationMS: d.DurationMS, CreatedAt: d.CreatedAt}
}

// createWebhook returns the signing secret this once.
func (s *Server) createWebhook(c echo.Context) error {
	doc, err := readCreate(c, webhookSchema)
	if err != nil {
		return err
	}
	in := webhooks.NewWebhook{URL: doc.strOrEmpty("url"), Description: doc.strOrEmpty("description"), Active: doc.boolean("active")}
	// A missing url or events is reported by the domain's rules.
	if v := doc.strings("events"); v != nil {
		in.Events = *v
	}
	if err := doc.err(); err != nil {
		return err
	}
	w, secret, err := s.deps.Webhooks.Create(c.Request().Context(), tenantOf(c), in)
	if err != nil {
		return err
	}
	v := toWebhookView(webhookPath(c))(w)
	v.Secret = secret
	c.Response().Header().Set("Cache-Control", "no-store")
	return writeCreated(c, v.path, v)
}

func (s *Server) listWebhooks(c echo.Context) error {
	q, err := parseList(c, webhookList)
	if err != nil {
		return err
	}
	active, err := filterBool(q, "active")
	if err != nil {
		return err
	}
	page, err := s.deps.Webhooks.List(c.Request().Context(), tenantOf(c), webhooks.Filter{Active: active}, q.Page)
	if err != nil {
		return err
	}
	return writeList(c, mapSlice(page.Items, toWebhookView(webhookPath(c))), q, page.Window)
}

func (s *Server) getWebhook(c echo.Context) error {
	id, err := pathID(c, "id", webhooks.ErrNotFound)
	if err != nil {
		return err
	}
	if err := noQuery(c); err != nil {
		return err
	}
	w, err := s.deps.Webhooks.Get(c.Request().Context(), tenantOf(c), id)
	if err != nil {
		return err
	}
	return writeOne(c, http.StatusOK, toWebhookView(webhookPath(c))(w))
}

func (s *Server) updateWebhook(c echo.Context) error {
	id, err := pathID(c, "id", webhooks.ErrNotFound)
	if err != nil {
		return err
	}
	doc, err := readUpdate(c, webhookSchema, id.String())
	if err != nil {
		return err
	}
	p := webhooks.Patch{URL: doc.str("url"), Events: doc.strings("events"), Description: doc.str("description"),
		Active: doc.boolean("active")}
	if err := doc.err(); err != nil {
		return err
	}
	w, err := s.deps.Webhooks.Update(c.Request().Context(), tenantOf(c), id, p)
	if err != nil {
		return err
	}
	return writeOne(c, http.StatusOK, toWebhookView(webhookPath(c))(w))
}

func (s *Server) deleteWebhook(c echo.Context) error {
	id, err := pathID(c, "id", webhooks.ErrNotFound)
	if err != nil {
		return err
	}
	if err := noQuery(c); err != nil {
		return err
	}
	if err := s.deps.Webhooks.Delete(c.Request().Context(), tenantOf(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) listWebhookSecrets(c echo.Context) error {
	id, err := pathID(c, "id", webhooks.ErrNotFound)
	if err != nil {
		return err
	}
	q, err := parseList(c, plainList)
	if err != nil {
		return err
	}
	secrets, err := s.deps.Webhooks.Secrets(c.Request().Context(), tenantOf(c), id)
	if err != nil {
		return err
	}
	path := webhookPath(c) + "/" + id.String()
	page := listing.Slice(secrets, q.Page, func(_ int, s webhooks.Secret) []string {
		return []string{s.CreatedAt.UTC().Format(sortableTime), s.ID.String()} // the store's order: created_at, id
	})
	return writeList(c, mapSlice(page.Items, toWebhookSecretView(path)), q, page.Window)
}

// createWebhookSecret rotates the signing secret; the new one is returned
// this once.
func (s *Server) createWebhookSecret(c echo.Context) error {
	id, err := pathID(c, "id", webhooks.ErrNotFound)
	if err != nil {
		return err
	}
	doc, err := readCreate(c, webhookSecretSchema)
	if err != nil {
		return err
	}
	var overlap *time.Duration
	if v := doc.nullableInt("previous_secrets_expire_in"); v != nil && *v != nil {
		d := time.Duration(**v) * time.Second
		overlap = &d
	}
	if err := doc.err(); err != nil {
		return err
	}
	sec, plain, err := s.deps.Webhooks.CreateSecret(c.Request().Context(), tenantOf(c), id, overlap)
	if err != nil {
		return err
	}
	v := toWebhookSecretView(webhookPath(c) + "/" + id.String())(sec)
	v.Secret = plain
	c.Response().Header().Set("Cache-Control", "no-store")
	return writeCreated(c, v.path, v)
}

func (s *Server) deleteWebhookSecret(c echo.Context) error {
	id, err := pathID(c, "id", webhooks.ErrNotFound)
	if err != nil {
		return err
	}
	sid, err := pathID(c, "sid", webhooks.ErrSecretNotFound)
	if err != nil {
		return err
	}
	if err := noQuery(c); err != nil {
		return err
	}
	if err := s.deps.Webhooks.DeleteSecret(c.Request().Context(), tenantOf(c), id, sid); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (s *Server) listWebhookDeliveries(c echo.Context) error {
	id, err := pathID(c, "id", webhooks.ErrNotFound)
	if err != nil {
		return err
	}
	q, err := parseList(c, webhookDeliveryList)
	if err != nil {
		return err
	}
	eventID, err := filterID(q, "event")
	if err != nil {
		return err
	}
	success, err := filterBool(q, "success")
	if err != nil {
		return err
	}
	page, err := s.deps.Webhooks.Deliveries(c.Request().Context(), tenantOf(c), id,
		webhooks.DeliveryFilter{EventID: eventID, Success: success}, q.Page)
	if err != nil {
		return err
	}
	return writeList(c, mapSlice(page.Items, toWebhookDeliveryView), q, page.Window)
}
