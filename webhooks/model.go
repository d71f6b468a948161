package webhooks

import (
	"time"

	"github.com/google/uuid"
)

// Webhook is a tenant's subscription: events matching Events are POSTed
// to URL.
type Webhook struct {
	TenantID    uuid.UUID
	ID          uuid.UUID
	URL         string
	Events      []string `gorm:"serializer:json"`
	Description string
	Active      bool
	// FailingSince is when the current run of failed deliveries began.
	FailingSince *time.Time
	// DisabledReason says why oauthd switched the webhook off.
	DisabledReason *string
	DisabledAt     *time.Time
	CreatedAt      time.Time `gorm:"->"`
	UpdatedAt      time.Time `gorm:"->"`
}

// TableName is webhooks.
func (Webhook) TableName() string { return "webhooks" }

// Secret is a signing secret of a webhook, without the secret.
type Secret struct {
	TenantID  uuid.UUID
	WebhookID uuid.UUID
	ID        uuid.UUID
	Hint      string
	ExpiresAt *time.Time
	CreatedAt time.Time `gorm:"->"`
}

// secretRow is a Secret with the sealed secret.
type secretRow struct {
	Secret
	Sealed []byte
	KeyID  string
}

func (secretRow) TableName() string { return "webhook_secrets" }

// Delivery is one attempt to deliver an event to a webhook.
type Delivery struct {
	TenantID   uuid.UUID
	WebhookID  uuid.UUID
	ID         uuid.UUID
	EventID    uuid.UUID
	EventType  string
	Attempt    int
	Success    bool
	StatusCode *int
	Error      *string
	DurationMS int `gorm:"column:duration_ms"`
	CreatedAt  time.Time
}

// TableName is webhook_deliveries.
func (Delivery) TableName() string { return "webhook_deliveries" }

// NewWebhook is what creating a webhook takes.
type NewWebhook struct {
	URL         string
	Events      []string
	Description string
	Active      *bool // default true
}

// Patch changes the attributes that are set.
type Patch struct {
	URL         *string
	Events      *[]string
	Description *string
	Active      *bool
}

// Filter narrows a listing of webhooks.
type Filter struct{ Active *bool }

// DeliveryFilter narrows the delivery log.
type DeliveryFilter struct {
	EventID *uuid.UUID
	Success *bool
}
