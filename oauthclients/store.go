package oauthclients

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/listing"
)

// Store keeps OAuth clients in Postgres. Every query starts from rows(),
// which scopes it by tenant, so another tenant's id finds nothing.
type Store struct{ db *database.DB }

// NewStore returns a store on db.
func NewStore(db *database.DB) *Store { return &Store{db: db} }

const clientColumns = `oauth_clients.*, (c.deleted_at IS NULL) AS usable`

// rows selects the tenant's clients.
func (s *Store) rows(ctx context.Context, tenantID uuid.UUID) *gorm.DB {
	return s.db.Conn(ctx).Table("oauth_clients").Where("oauth_clients.tenant_id = ?", tenantID)
}

// scoped selects the tenant's clients joined to their components (for usable).
func (s *Store) scoped(ctx context.Context, tenantID uuid.UUID) *gorm.DB {
	return s.rows(ctx, tenantID).
		Joins("JOIN components c ON c.tenant_id = oauth_clients.component_tenant_id AND c.id = oauth_clients.component_id")
}

func (s *Store) get(ctx context.Context, tenantID, id uuid.UUID, forUpdate bool) (*Client, error) {
	q := s.scoped(ctx, tenantID).Select(clientColumns).Where("oauth_clients.id = ?", id)
	if forUpdate {
		q = q.Clauses(lockRow)
	}
	var c Client
	if err := q.Take(&c).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	return &c, nil
}

// ListSorts are the fields a tenant's OAuth clients sort by.
var ListSorts = listing.Sorts{
	"created_at": "oauth_clients.created_at", "updated_at": "oauth_clients.updated_at", "client_id": "oauth_clients.client_id",
}

func (s *Store) list(ctx context.Context, tenantID uuid.UUID, f Filter, p listing.Params) (listing.Page[Client], error) {
	var out listing.Page[Client]
	q := s.scoped(ctx, tenantID).Select(clientColumns)
	// The unfiltered total is kept by a trigger (migration 00002): one row to
	// read whatever the tenant's size, where count(*) reads them all. A
	// filtered count reads at most one row (one client per component).
	total := s.db.Conn(ctx).Raw("SELECT coalesce((SELECT n FROM oauth_client_counts WHERE tenant_id = ?), 0)", tenantID)
	if f.ComponentID != nil {
		q = q.Where("oauth_clients.component_id = ?", *f.ComponentID)
		total = s.rows(ctx, tenantID).Select("count(*)").Where("component_id = ?", *f.ComponentID)
	}
	if err := total.Scan(&out.Total).Error; err != nil {
		return out, err
	}
	return out, listing.Find(q, p, listing.Order{Sorts: ListSorts, Default: "oauth_clients.created_at", Tiebreak: "oauth_clients.id"}, &out)
}

func (s *Store) create(ctx context.Context, c *Client) error {
	err := s.db.Conn(ctx).Omit("Usable").Create(c).Error
	if database.IsUniqueViolation(err, "oauth_clients_one_per_component") {
		return ErrExists
	}
	return err
}

// save updates an existing client, scoped by tenant; it never inserts
// (GORM's Save would, when the update matches no row).
func (s *Store) save(ctx context.Context, c *Client) error {
	res := s.rows(ctx, c.TenantID).Where("id = ?", c.ID).
		Updates(map[string]any{
			"component_tenant_id": c.ComponentTenantID, "component_id": c.ComponentID, "client_id": c.ClientID,
			"secret_ciphertext": c.SecretCiphertext, "secret_key_id": c.SecretKeyID, "secret_hint": c.SecretHint,
			"updated_at": c.UpdatedAt,
		})
	if database.IsUniqueViolation(res.Error, "oauth_clients_one_per_component") {
		return ErrExists
	}
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrNotFound
	}
	return res.Error
}

func (s *Store) delete(ctx context.Context, tenantID, id uuid.UUID) error {
	res := s.rows(ctx, tenantID).Where("id = ?", id).Delete(&Client{})
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrNotFound
	}
	return res.Error
}

// forComponent finds the tenant's client for a component.
func (s *Store) forComponent(ctx context.Context, tenantID, componentID uuid.UUID) (*Client, error) {
	var c Client
	err := s.scoped(ctx, tenantID).Select(clientColumns).Where("oauth_clients.component_id = ?", componentID).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return &c, nil
}
