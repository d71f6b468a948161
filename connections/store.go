package connections

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/listing"
)

// Store keeps connections in Postgres. Every query on a tenant's rows starts
// from rows(), which scopes it by tenant, so another tenant's id finds
// nothing; only the browser dance finds a row by the digest of a single-use
// secret it alone was given.
type Store struct{ db *database.DB }

// NewStore returns a store on db.
func NewStore(db *database.DB) *Store { return &Store{db: db} }

func (s *Store) rows(ctx context.Context, tenantID uuid.UUID) *gorm.DB {
	return s.db.Conn(ctx).Model(&Connection{}).Where("connections.tenant_id = ?", tenantID)
}

// withClient selects connections with the id of the tenant's current OAuth
// client for their component (one index lookup each).
func (s *Store) withClient(ctx context.Context, tenantID uuid.UUID) *gorm.DB {
	return s.rows(ctx, tenantID).Select(`connections.*, (SELECT oc.id FROM oauth_clients oc
		WHERE oc.tenant_id = connections.tenant_id AND oc.component_id = connections.component_id) AS oauth_client_id`)
}

func (s *Store) create(ctx context.Context, c *Connection) error {
	err := s.db.Conn(ctx).Create(c).Error
	if database.IsUniqueViolation(err, "connections_name_key") {
		return ErrNameTaken
	}
	return err
}

// get finds a connection; forUpdate takes its row lock until the caller's
// transaction ends, which is what serialises refreshes across instances.
func (s *Store) get(ctx context.Context, tenantID, id uuid.UUID, forUpdate bool) (*Connection, error) {
	q := s.withClient(ctx, tenantID).Where("connections.id = ?", id)
	if forUpdate {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate, Table: clause.Table{Name: "connections"}})
	}
	var c Connection
	if err := q.Take(&c).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	return &c, nil
}

// ListSorts are the fields a tenant's connections sort by.
var ListSorts = listing.Sorts{"name": "name", "created_at": "created_at", "updated_at": "updated_at"}

func (s *Store) list(ctx context.Context, tenantID uuid.UUID, f Filter, p listing.Params) (listing.Page[Connection], error) {
	var out listing.Page[Connection]
	q := s.withClient(ctx, tenantID)
	if f.ComponentID != nil {
		q = q.Where("component_id = ?", *f.ComponentID)
	}
	if f.State != "" {
		q = q.Where("state = ?", f.State)
	}
	if err := q.Session(&gorm.Session{}).Select("count(*)").Count(&out.Total).Error; err != nil {
		return out, err
	}
	return out, listing.Find(q, p, listing.Order{Sorts: ListSorts, Default: "created_at", Tiebreak: "id"}, &out)
}

// save writes every column of an existing connection, scoped by tenant.
func (s *Store) save(ctx context.Context, c *Connection) error {
	res := s.rows(ctx, c.TenantID).Where("id = ?", c.ID).Select("*").Omit("tenant_id", "id", "created_at", "oauth_client_id").Updates(c)
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrNotFound
	}
	return res.Error
}

func (s *Store) delete(ctx context.Context, tenantID, id uuid.UUID) error {
	res := s.rows(ctx, tenantID).Where("id = ?", id).Delete(&Connection{})
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrNotFound
	}
	return res.Error
}

// byLink finds and locks the connection whose authorize_url capability has
// this digest, while it has not expired.
func (s *Store) byLink(ctx context.Context, digest []byte, now time.Time) (*Connection, error) {
	var c Connection
	err := s.db.Conn(ctx).Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
		Where("link_digest = ? AND link_expires_at > ?", digest, now).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrLinkInvalid
	}
	return &c, err
}

// byState finds and locks the connection waiting for the provider's answer
// to this state, while it has not expired.
func (s *Store) byState(ctx context.Context, digest []byte, now time.Time) (*Connection, error) {
	var c Connection
	err := s.db.Conn(ctx).Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
		Where("state_digest = ? AND state_expires_at > ?", digest, now).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrStateInvalid
	}
	return &c, err
}

// tenantByState is the tenant of the connection waiting for the provider's
// answer to this state, read without a lock (byState locks it after).
func (s *Store) tenantByState(ctx context.Context, digest []byte, now time.Time) (uuid.UUID, error) {
	var c Connection
	err := s.db.Conn(ctx).Select("tenant_id").Where("state_digest = ? AND state_expires_at > ?", digest, now).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return uuid.Nil, ErrStateInvalid
	}
	return c.TenantID, err
}

// forComponent locks the tenant's connections of a component.
func (s *Store) forComponent(ctx context.Context, tenantID, componentID uuid.UUID) ([]Connection, error) {
	var out []Connection
	err := s.rows(ctx, tenantID).Where("component_id = ?", componentID).Order("id").
		Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Find(&out).Error
	return out, err
}

// due lists ready connections whose access token expires before horizon
// and that are not in backoff, soonest first (the index connections_due).
func (s *Store) due(ctx context.Context, horizon, now time.Time, limit int) ([]Connection, error) {
	var out []Connection
	err := s.db.Conn(ctx).Model(&Connection{}).Select("tenant_id", "id").
		Where("state = ? AND refresh_token IS NOT NULL AND expires_at < ? AND (retry_at IS NULL OR retry_at <= ?)", StateReady, horizon, now).
		Order("expires_at").Limit(limit).Find(&out).Error
	return out, err
}

// tokenRow reads a connection for access-token: the row alone, without
// the OAuth client's id that answers about the connection carry.
func (s *Store) tokenRow(ctx context.Context, tenantID, id uuid.UUID) (*Connection, error) {
	var c Connection
	if err := s.rows(ctx, tenantID).Where("id = ?", id).Take(&c).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	return &c, nil
}
