// Package webhooks tells tenants what happens to their clients: every audit
// event becomes an event of a documented type, and a tenant's webhooks
// receive the events they subscribe to as signed HTTP POSTs, delivered from
// the durable job queue (at-least-once, in event order per webhook, retried
// with backoff for a day, from any instance).
//
// The path of an event: audit.Log.Record writes the audit row, and a
// trigger on audit_events queues a fan-out job in the tenant's lane in the
// same transaction (so a rolled-back change sends nothing, events keep
// their commit order, and the request pays no extra round trip); the
// fan-out job maps the action to its event type and enqueues one delivery
// job per subscribed webhook in that webhook's lane; the delivery job signs
// and POSTs the event and logs the attempt. Events that are not audit
// events go the same way through Outbox.Emit.
package webhooks

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/audit"
	"github.com/oauthd/oauthd/internal/jobs"
)

// EventTypes is the one list of event types a webhook can subscribe to:
// <resource>.<past tense>. The audit actions map onto them (see TypeOf).
var EventTypes = []string{
	"oauth_client.created", "oauth_client.updated", "oauth_client.deleted", "oauth_client.secret_revealed",
	"api_client.created", "api_client.updated", "api_client.deleted", "api_client.secret_created",
	"api_client.secret_deleted", "api_client.tokens_revoked", "api_client.secret_expiring",
	"api_client.secret_rejected", "api_client.unused",
	"authorization.revoked",
	"connection.created", "connection.reconnect_requested", "connection.connected", "connection.authorization_failed",
	"connection.refreshed", "connection.refresh_failed", "connection.recovered", "connection.disconnected",
	"connection.token_read", "connection.deleted",
	"member.created", "member.updated", "member.deleted",
	"component.created", "component.updated", "component.deleted",
	"flow.created", "flow.updated", "flow.deleted",
	"webhook.created", "webhook.updated", "webhook.deleted", "webhook.secret_created",
	"webhook.secret_deleted", "webhook.disabled",
}

// renamed are the audit actions whose event type is not the plain
// past tense of the action: a secret's events belong to its client.
var renamed = map[string]string{
	"oauth_client.reveal_secret": "oauth_client.secret_revealed",
	"api_client_secret.create":   "api_client.secret_created",
	"api_client_secret.delete":   "api_client.secret_deleted",
	"api_client_secret.expiring": "api_client.secret_expiring",
	"api_client_secret.rejected": "api_client.secret_rejected",
	"api_client.revoke_tokens":   "api_client.tokens_revoked",
	"authorization.revoke":       "authorization.revoked",
	"webhook_secret.create":      "webhook.secret_created",
	"webhook_secret.delete":      "webhook.secret_deleted",
	"webhook.disable":            "webhook.disabled",
}

var pastTense = map[string]string{"create": "created", "update": "updated", "delete": "deleted"}

// TypeOf is the event type of an audit action ("api_client.create" →
// "api_client.created"; an action already named as an event type, such
// as the connections' "connection.refreshed", is its own); ok is false for
// an action with no event type.
func TypeOf(action string) (string, bool) {
	if t, ok := renamed[action]; ok {
		return t, true
	}
	if slices.Contains(EventTypes, action) {
		return action, true
	}
	resource, verb, _ := strings.Cut(action, ".")
	t := resource + "." + pastTense[verb]
	return t, pastTense[verb] != "" && slices.Contains(EventTypes, t)
}

// ValidPattern reports whether p selects event types: "*", a resource
// wildcard ("api_client.*") naming a known resource, or a known type.
func ValidPattern(p string) bool {
	if p == "*" {
		return true
	}
	if resource, ok := strings.CutSuffix(p, ".*"); ok {
		return slices.ContainsFunc(EventTypes, func(t string) bool { return strings.HasPrefix(t, resource+".") })
	}
	return slices.Contains(EventTypes, p)
}

// Matches reports whether any of patterns selects eventType.
func Matches(patterns []string, eventType string) bool {
	for _, p := range patterns {
		if p == "*" || p == eventType {
			return true
		}
		if resource, ok := strings.CutSuffix(p, ".*"); ok && strings.HasPrefix(eventType, resource+".") {
			return true
		}
	}
	return false
}

// Event is what a webhook receives (the request body).
type Event struct {
	ID         uuid.UUID      `json:"id"`
	Type       string         `json:"type"`
	TenantID   uuid.UUID      `json:"tenant_id"`
	OccurredAt time.Time      `json:"occurred_at"`
	Data       map[string]any `json:"data"`
}

// Outbox publishes events that are not audit events (every audit event is
// published by the database already: a trigger on audit_events queues it
// in the recording transaction).
type Outbox struct {
	queue *jobs.Queue
}

// NewOutbox returns the outbox on queue; NewDispatcher must have
// registered the job kinds it enqueues.
func NewOutbox(queue *jobs.Queue) *Outbox { return &Outbox{queue: queue} }

// fanOutJob is a fan-out job's payload: an audit event to publish (queued
// by the trigger), or an event emitted as such.
type fanOutJob struct {
	TenantID     uuid.UUID  `json:"tenant_id"`
	AuditEventID *uuid.UUID `json:"audit_event_id,omitempty"`
	Event        *Event     `json:"event,omitempty"`
}

// Emit publishes an event that is not an audit event (for example
// connection.refresh_failed from a background refresh), in the transaction
// carried by ctx, so it goes out exactly when that transaction commits.
// data holds ids and names, never secrets or tokens; keys that look like
// secrets are dropped all the same.
func (o *Outbox) Emit(ctx context.Context, tenantID uuid.UUID, eventType, resourceType, resourceID string, data map[string]any) error {
	if !slices.Contains(EventTypes, eventType) {
		return fmt.Errorf("emit %q: not an event type", eventType)
	}
	ev := &Event{ID: uuid.New(), Type: eventType, TenantID: tenantID,
		OccurredAt: o.queue.Clock().Now().UTC().Truncate(time.Microsecond), Data: eventData(resourceType, resourceID, data)}
	resource, _, _ := strings.Cut(eventType, ".")
	// An event no webhook wants is not queued at all.
	if _, err := o.queue.Enqueue(ctx, jobs.Spec{Kind: fanOutKind, Lane: "events:" + tenantID.String(),
		Payload: fanOutJob{TenantID: tenantID, Event: ev},
		OnlyIf:  subscribed, OnlyIfArgs: []any{tenantID, resource + ".*", eventType}}); err != nil {
		return fmt.Errorf("emit %s: %w", eventType, err)
	}
	return nil
}

// subscribed is true when an active webhook of the tenant subscribes to
// the event's type: "*", its resource's wildcard or the type itself (the
// partial index webhooks_active finds the tenant's few rows).
const subscribed = `EXISTS (SELECT 1 FROM webhooks w WHERE w.tenant_id = ? AND w.active
	AND jsonb_exists_any(w.events, ARRAY['*', ?, ?]::text[]))`

// fromAudit is the event of an audit event; ok is false for an action
// without an event type.
func fromAudit(e *audit.Event) (*Event, bool, error) {
	eventType, ok := TypeOf(e.Action)
	if !ok {
		return nil, false, nil
	}
	var details map[string]any
	if len(e.Details) > 0 {
		if err := json.Unmarshal(e.Details, &details); err != nil {
			return nil, false, fmt.Errorf("audit event %s details: %w", e.ID, err)
		}
	}
	data := eventData(e.ResourceType, e.ResourceID, details)
	actor := map[string]any{}
	if e.ActorID != nil {
		actor["user_id"] = e.ActorID.String()
	}
	if e.ActorEmail != "" {
		actor["email"] = e.ActorEmail
	}
	if e.ActorClient != "" {
		actor["client_id"] = e.ActorClient
	}
	if len(actor) > 0 {
		data["actor"] = actor
	}
	return &Event{ID: e.ID, Type: eventType, TenantID: e.TenantID, OccurredAt: e.CreatedAt.UTC(), Data: data}, true, nil
}

// eventData is an event's data: the resource, then the details minus
// anything that could be a secret (audit details never hold one; this is
// the second lock on that door).
func eventData(resourceType, resourceID string, details map[string]any) map[string]any {
	data := map[string]any{"resource_type": resourceType, "resource_id": resourceID}
	for k, v := range details {
		if secretLike(k) {
			continue
		}
		if k == "url" {
			if s, ok := v.(string); ok {
				v = RedactURL(s)
			}
		}
		data[k] = v
	}
	return data
}

func secretLike(key string) bool {
	k := strings.ToLower(key)
	if strings.HasSuffix(k, "_hint") || k == "hint" {
		return false
	}
	for _, w := range []string{"secret", "token", "password", "apikey", "api_key", "sealed", "hash"} {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// RedactURL drops what in a URL may be a credential (userinfo, the query
// and the fragment: receivers often take a token there), for events and
// the audit trail.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.User, u.RawQuery, u.Fragment, u.RawFragment = nil, "", "", ""
	return u.String()
}
