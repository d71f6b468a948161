// Package oauthclients owns tenant OAuth clients (elastic.io's OAuth clients management docs): the id and
// secret of a third-party OAuth application that a tenant stores for one
// integration component. One per component per tenant; the secret is sealed
// at rest and never returned except by an audited reveal.
package oauthclients

import (
	"time"

	"github.com/google/uuid"
)

// Client is a tenant's OAuth client for one component.
type Client struct {
	TenantID          uuid.UUID
	ID                uuid.UUID
	ComponentTenantID uuid.UUID
	ComponentID       uuid.UUID
	ClientID          string
	SecretCiphertext  []byte
	SecretKeyID       string
	SecretHint        string
	CreatedAt         time.Time
	UpdatedAt         time.Time

	// Usable is false once the component is deleted: the client stays so it
	// can be read and deleted, but nothing can use it.
	Usable bool `gorm:"->;-:migration"`
}

// TableName is oauth_clients.
func (Client) TableName() string { return "oauth_clients" }

// NewClient is the input for creating a client, as the caller wrote it.
type NewClient struct {
	ClientID     string
	ClientSecret string
	ComponentID  string
}

// Patch changes the fields that are set.
type Patch struct {
	ClientID     *string
	ClientSecret *string
	ComponentID  *string
}

// Filter narrows a listing.
type Filter struct {
	ComponentID *uuid.UUID
}

// Component is what this package needs to know about a component.
type Component struct {
	TenantID       uuid.UUID
	ID             uuid.UUID
	Name           string
	UseOAuthClient bool
}

// FlowRef names a flow that blocks a change.
type FlowRef struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
}
