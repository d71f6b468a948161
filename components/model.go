// Package components owns integration components (their component.json
// descriptor and visibility) and flows, the ordered lists of components
// that make a tenant's OAuth client "in use".
package components

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
)

// Visibility values.
const (
	VisibilityTenant = "tenant"
	VisibilityGlobal = "global"
)

// Component is an integration component. A global one is visible to every
// tenant but owned, and editable, by one.
type Component struct {
	TenantID       uuid.UUID
	ID             uuid.UUID
	Name           string
	Visibility     string
	Descriptor     json.RawMessage `gorm:"type:jsonb"`
	UseOAuthClient bool            `gorm:"column:use_oauth_client"`
	CreatedAt      time.Time
	UpdatedAt      time.Time
	DeletedAt      *time.Time

	// As seen by the tenant that asked: whether it owns the component, and
	// whether its flows may include it now (a component that needs an OAuth
	// client is unavailable until the tenant defines one).
	Owned     bool `gorm:"->;-:migration"`
	Available bool `gorm:"->;-:migration"`
}

// Flow is an ordered list of components in a tenant.
type Flow struct {
	TenantID     uuid.UUID
	ID           uuid.UUID
	Name         string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	ComponentIDs []uuid.UUID `gorm:"-"`
}

// FlowRef names a flow in an error.
type FlowRef struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
}

// NewComponent is the input for creating a component.
type NewComponent struct {
	Name       string
	Visibility string // "" means tenant
	Descriptor json.RawMessage
}

// ComponentPatch changes the fields that are set.
type ComponentPatch struct {
	Name       *string
	Visibility *string
	Descriptor json.RawMessage // nil leaves it unchanged
}

// NewFlow is the input for creating a flow; component ids are as the
// caller wrote them and are checked by the service.
type NewFlow struct {
	Name         string
	ComponentIDs []string
}

// FlowPatch changes the fields that are set.
type FlowPatch struct {
	Name         *string
	ComponentIDs *[]string
}

// Filter narrows a component listing.
type Filter struct {
	Visibility string
}

// FlowFilter narrows a flow listing.
type FlowFilter struct {
	ComponentID *uuid.UUID
}
