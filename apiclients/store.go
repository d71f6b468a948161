package apiclients

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

// Store keeps API clients and their secrets in Postgres. Every query on a
// tenant's clients starts from clients() and every query on a client's
// secrets from secretRows(), which add the tenant, so another tenant's id
// finds nothing; only the lookups by the public client_id (which the token
// endpoint receives alone) span tenants.
type Store struct{ db *database.DB }

// NewStore returns a store on db.
func NewStore(db *database.DB) *Store { return &Store{db: db} }

const clientColumns = `api_clients.tenant_id, api_clients.id, api_clients.client_id, api_clients.name,
	api_clients.client_type, api_clients.grant_types, api_clients.redirect_uris, api_clients.roles,
	api_clients.scopes, api_clients.require_pkce, api_clients.access_token_ttl_seconds,
	api_clients.refresh_token_ttl_seconds, api_clients.template, api_clients.created_by,
	api_clients.tokens_valid_after,
	api_clients.last_used_at, api_clients.created_at, api_clients.updated_at`

// clients selects the tenant's client rows.
func (s *Store) clients(ctx context.Context, tenantID uuid.UUID) *gorm.DB {
	return s.db.Conn(ctx).Model(&Client{}).Where("api_clients.tenant_id = ?", tenantID)
}

// secretRows selects one client's secret rows.
func (s *Store) secretRows(ctx context.Context, tenantID, clientPK uuid.UUID) *gorm.DB {
	return s.db.Conn(ctx).Model(&secretRow{}).Where("tenant_id = ? AND client_pk = ?", tenantID, clientPK)
}

func (s *Store) scoped(ctx context.Context, tenantID uuid.UUID) *gorm.DB {
	return s.clients(ctx, tenantID).Select(clientColumns)
}

func notFound(err, sentinel error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return sentinel
	}
	return err
}

func (s *Store) get(ctx context.Context, tenantID, id uuid.UUID, forUpdate bool) (*Client, error) {
	q := s.scoped(ctx, tenantID).Where("api_clients.id = ?", id)
	if forUpdate {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	var c Client
	if err := q.Take(&c).Error; err != nil {
		return nil, notFound(err, ErrNotFound)
	}
	return &c, nil
}

func (s *Store) byClientID(ctx context.Context, clientID string) (*Client, error) {
	var c Client
	err := s.db.Conn(ctx).Table("api_clients").Select(clientColumns).Where("client_id = ?", clientID).Take(&c).Error
	if err != nil {
		return nil, notFound(err, ErrNotFound)
	}
	return &c, nil
}

// ListSorts are the fields a tenant's API clients sort by.
var ListSorts = listing.Sorts{
	"name": "lower(api_clients.name)", "created_at": "api_clients.created_at", "updated_at": "api_clients.updated_at",
	"last_used_at": "api_clients.last_used_at",
}

func (s *Store) list(ctx context.Context, tenantID uuid.UUID, p listing.Params) (listing.Page[Client], error) {
	var out listing.Page[Client]
	if err := s.clients(ctx, tenantID).Count(&out.Total).Error; err != nil {
		return out, err
	}
	q, err := listing.Apply(s.scoped(ctx, tenantID), p, ListSorts, "api_clients.created_at", "api_clients.id")
	if err != nil {
		return out, err
	}
	return out, q.Find(&out.Items).Error
}

func (s *Store) create(ctx context.Context, c *Client) error {
	return s.db.Conn(ctx).Create(c).Error
}

// save writes the changeable fields of an existing client, scoped by tenant.
func (s *Store) save(ctx context.Context, c *Client) error {
	res := s.clients(ctx, c.TenantID).Where("id = ?", c.ID).
		Select("name", "grant_types", "redirect_uris", "roles", "scopes", "require_pkce",
			"access_token_ttl_seconds", "refresh_token_ttl_seconds", "updated_at").
		Updates(c)
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrNotFound
	}
	return res.Error
}

func (s *Store) delete(ctx context.Context, tenantID, id uuid.UUID) error {
	res := s.clients(ctx, tenantID).Where("id = ?", id).Delete(&Client{})
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrNotFound
	}
	return res.Error
}

// revokeTokens moves tokens_valid_after to now and revokes the client's
// grants, so every access and refresh token it has issued stops working.
func (s *Store) revokeTokens(ctx context.Context, tenantID, id uuid.UUID) error {
	res := s.clients(ctx, tenantID).Where("id = ?", id).Update("tokens_valid_after", gorm.Expr("now()"))
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return s.db.Conn(ctx).Exec(`UPDATE grants SET revoked_at = now()
		WHERE tenant_id = ? AND client_pk = ? AND revoked_at IS NULL`, tenantID, id).Error
}

// touchInterval limits last_used_at writes to one a minute per row.
const touchInterval = time.Minute

func (s *Store) touchClient(ctx context.Context, tenantID, id uuid.UUID) error {
	return s.clients(ctx, tenantID).Where("id = ? AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')", id).
		UpdateColumn("last_used_at", gorm.Expr("now()")).Error
}

func (s *Store) touchSecret(ctx context.Context, tenantID, id uuid.UUID) error {
	return s.db.Conn(ctx).Model(&secretRow{}).
		Where("tenant_id = ? AND id = ? AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')", tenantID, id).
		UpdateColumn("last_used_at", gorm.Expr("now()")).Error
}

// --- secrets ---

func (s *Store) createSecret(ctx context.Context, r *secretRow) error {
	return s.db.Conn(ctx).Create(r).Error
}

func (s *Store) secrets(ctx context.Context, tenantID, clientPK uuid.UUID) ([]Secret, error) {
	var rows []secretRow
	err := s.secretRows(ctx, tenantID, clientPK).Order("created_at, id").Find(&rows).Error
	out := make([]Secret, len(rows))
	for i, r := range rows {
		out[i] = r.Secret
	}
	return out, err
}

// activeSecretCount counts the client's unexpired secrets.
func (s *Store) activeSecretCount(ctx context.Context, tenantID, clientPK uuid.UUID) (int64, error) {
	var n int64
	err := s.secretRows(ctx, tenantID, clientPK).Where("expires_at IS NULL OR expires_at > now()").Count(&n).Error
	return n, err
}

func (s *Store) deleteSecret(ctx context.Context, tenantID, clientPK, id uuid.UUID) error {
	res := s.secretRows(ctx, tenantID, clientPK).Where("id = ?", id).Delete(&secretRow{})
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrSecretNotFound
	}
	return res.Error
}

// credentialRow is one row of the authentication query: the client, and
// one of its active secrets when it has any.
type credentialRow struct {
	Client
	SecretID         *uuid.UUID
	SecretHash       *string
	SecretLastUsedAt *time.Time
	SecretExpiresAt  *time.Time
}

// credentials loads a client by its public id together with its active
// (unexpired) secrets, in one query. The token endpoint runs it on every
// request.
func (s *Store) credentials(ctx context.Context, clientID string) (*Client, []secretRow, error) {
	var rows []credentialRow
	err := s.db.Conn(ctx).Table("api_clients").
		Select(clientColumns+`, s.id AS secret_id, s.hash AS secret_hash, s.last_used_at AS secret_last_used_at, s.expires_at AS secret_expires_at`).
		Joins(`LEFT JOIN api_client_secrets s ON s.tenant_id = api_clients.tenant_id AND s.client_pk = api_clients.id
			AND (s.expires_at IS NULL OR s.expires_at > now())`).
		Where("api_clients.client_id = ?", clientID).
		Order("s.created_at DESC").
		Find(&rows).Error
	if err != nil {
		return nil, nil, err
	}
	if len(rows) == 0 {
		return nil, nil, ErrNotFound
	}
	c := rows[0].Client
	var secrets []secretRow
	for _, r := range rows {
		if r.SecretID != nil && r.SecretHash != nil {
			secrets = append(secrets, secretRow{
				Secret: Secret{TenantID: c.TenantID, ClientPK: c.ID, ID: *r.SecretID, LastUsedAt: r.SecretLastUsedAt, ExpiresAt: r.SecretExpiresAt},
				Hash:   *r.SecretHash,
			})
		}
	}
	return &c, secrets, nil
}
