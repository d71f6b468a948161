// Package audit records who did what to which resource in a tenant, when
// and from where. Events are written in the same transaction as the change
// they describe, so a rolled-back change leaves no event. Secrets are never
// part of an event. Each event is also published to the tenant's webhooks:
// a trigger on audit_events queues it in the same transaction (see package
// webhooks).
//
// Reads that must be recorded but change nothing (a connection's access
// token handed out) are the exception: a Batcher writes them a few
// milliseconds later, many to a statement, committed asynchronously (see
// Batcher for what that may lose, and when); the trigger publishes them
// the same way, from the batch's transaction.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/listing"
)

// Actor is who is making the current request.
type Actor struct {
	UserID     *uuid.UUID
	Email      string
	RemoteAddr string
	RequestID  string
	// Client is the API client's client_id when the caller used an access token.
	Client string
}

type actorKey struct{}

// WithActor attaches the request's actor to ctx.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor attached to ctx (zero when none: a command).
func ActorFrom(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}

// Event is one recorded action.
type Event struct {
	TenantID     uuid.UUID
	ID           uuid.UUID
	Action       string
	ResourceType string
	ResourceID   string
	ActorID      *uuid.UUID
	ActorEmail   string
	ActorClient  string
	RemoteAddr   string
	RequestID    string
	Details      json.RawMessage `gorm:"type:jsonb"`
	CreatedAt    time.Time       `gorm:"->"`
}

// TableName is audit_events.
func (Event) TableName() string { return "audit_events" }

// Filter narrows a listing; empty fields match everything.
type Filter struct {
	Action       string
	ResourceType string
	ResourceID   string
}

// Log writes and reads audit events.
type Log struct{ db *database.DB }

// NewLog returns a log on db.
func NewLog(db *database.DB) *Log { return &Log{db: db} }

// Record writes an event in the caller's transaction.
func (l *Log) Record(ctx context.Context, tenantID uuid.UUID, action, resourceType, resourceID string, details map[string]any) error {
	e, err := newEvent(ctx, tenantID, action, resourceType, resourceID, details)
	if err != nil {
		return err
	}
	if err := l.db.Conn(ctx).Create(e).Error; err != nil {
		return fmt.Errorf("record %s: %w", action, err)
	}
	return nil
}

// newEvent is an event by the actor of ctx (its time is left to the
// database unless the caller sets CreatedAt).
func newEvent(ctx context.Context, tenantID uuid.UUID, action, resourceType, resourceID string, details map[string]any) (*Event, error) {
	a := ActorFrom(ctx)
	if details == nil {
		details = map[string]any{}
	}
	raw, err := json.Marshal(details)
	if err != nil {
		return nil, fmt.Errorf("audit details: %w", err)
	}
	return &Event{TenantID: tenantID, ID: uuid.New(), Action: action, ResourceType: resourceType, ResourceID: resourceID,
		ActorID: a.UserID, ActorEmail: a.Email, ActorClient: a.Client, RemoteAddr: a.RemoteAddr, RequestID: a.RequestID, Details: raw}, nil
}

// Get returns one event of the tenant.
func (l *Log) Get(ctx context.Context, tenantID, id uuid.UUID) (*Event, error) {
	var e Event
	err := l.db.Conn(ctx).Where("tenant_id = ? AND id = ?", tenantID, id).Take(&e).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("get audit event: %w", err)
	}
	return &e, nil
}

// ErrNotFound is Get's answer for an event that does not exist (or was
// deleted after the retention).
var ErrNotFound = errors.New("audit: no such event")

// ListSorts are the fields the audit trail sorts by.
var ListSorts = listing.Sorts{"created_at": "created_at", "action": "action"}

// List returns a tenant's events, newest first unless p sorts otherwise.
func (l *Log) List(ctx context.Context, tenantID uuid.UUID, f Filter, p listing.Params) (listing.Page[Event], error) {
	var out listing.Page[Event]
	q := l.db.Conn(ctx).Model(&Event{}).Where("tenant_id = ?", tenantID)
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.ResourceType != "" {
		q = q.Where("resource_type = ?", f.ResourceType)
	}
	if f.ResourceID != "" {
		q = q.Where("resource_id = ?", f.ResourceID)
	}
	if err := q.Count(&out.Total).Error; err != nil {
		return out, fmt.Errorf("count audit events: %w", err)
	}
	if err := listing.Find(q, p, listing.Order{Sorts: ListSorts, Default: "created_at DESC", Tiebreak: "id"}, &out); err != nil {
		return out, fmt.Errorf("list audit events: %w", err)
	}
	return out, nil
}
