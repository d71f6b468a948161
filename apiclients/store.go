package apiclients

import (
	"context"
	"errors"
	"fmt"
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
	"last_used_at": "coalesce(api_clients.last_used_at, '-infinity')", // never used sorts as the oldest use
}

func (s *Store) list(ctx context.Context, tenantID uuid.UUID, f Filter, p listing.Params) (listing.Page[Client], error) {
	var out listing.Page[Client]
	narrow := func(q *gorm.DB) *gorm.DB {
		if f.Unused == nil {
			return q
		}
		if *f.Unused {
			return q.Where("coalesce(api_clients.last_used_at, api_clients.created_at) <= ?", f.IdleSince)
		}
		return q.Where("coalesce(api_clients.last_used_at, api_clients.created_at) > ?", f.IdleSince)
	}
	if err := narrow(s.clients(ctx, tenantID)).Count(&out.Total).Error; err != nil {
		return out, err
	}
	return out, listing.Find(narrow(s.scoped(ctx, tenantID)), p, listing.Order{Sorts: ListSorts, Default: "api_clients.created_at", Tiebreak: "api_clients.id"}, &out)
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

// deleteSecret deletes a secret and keeps its fingerprint among the
// retired secrets, so a later use of it is recognised (secret_rejected).
func (s *Store) deleteSecret(ctx context.Context, tenantID, clientPK, id uuid.UUID) error {
	var deleted int64
	err := s.db.Conn(ctx).Raw(`
		WITH d AS (
			DELETE FROM api_client_secrets WHERE tenant_id = ? AND client_pk = ? AND id = ?
			RETURNING tenant_id, client_pk, id, fingerprint, hint
		), kept AS (
			INSERT INTO api_client_retired_secrets (tenant_id, client_pk, id, fingerprint, hint)
			SELECT tenant_id, client_pk, id, fingerprint, hint FROM d WHERE fingerprint IS NOT NULL
		)
		SELECT count(*) FROM d`, tenantID, clientPK, id).Scan(&deleted).Error
	if err == nil && deleted == 0 {
		return ErrSecretNotFound
	}
	return err
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

// The lifecycle queries below span tenants on purpose: they are the
// periodic job's, which looks at every tenant's clients at once. Each
// returns rows carrying their tenant, and every write is keyed by it.

// retiredSecret finds an expired or deleted secret of the client with this
// fingerprint.
func (s *Store) retiredSecret(ctx context.Context, tenantID, clientPK uuid.UUID, fp []byte) (*retiredHit, error) {
	var hits []retiredHit
	err := s.db.Conn(ctx).Raw(`
		SELECT tenant_id, id, hint, 'expired' AS reason FROM api_client_secrets
		WHERE tenant_id = ? AND client_pk = ? AND fingerprint = ? AND expires_at <= now()
		UNION ALL
		SELECT tenant_id, id, hint, 'deleted' FROM api_client_retired_secrets
		WHERE tenant_id = ? AND client_pk = ? AND fingerprint = ?
		LIMIT 1`, tenantID, clientPK, fp, tenantID, clientPK, fp).Scan(&hits).Error
	if err != nil || len(hits) == 0 {
		return nil, err
	}
	return &hits[0], nil
}

// claimRejectionNotice marks that the secret's rejection is being told,
// unless it was within every; it reports whether this caller should tell.
func (s *Store) claimRejectionNotice(ctx context.Context, hit *retiredHit, every time.Duration) (bool, error) {
	table := "api_client_secrets"
	if hit.Reason == "deleted" {
		table = "api_client_retired_secrets"
	}
	res := s.db.Conn(ctx).Exec(`UPDATE `+table+` SET rejected_notified_at = now()
		WHERE tenant_id = ? AND id = ? AND (rejected_notified_at IS NULL OR rejected_notified_at <= now() - ?::interval)`,
		hit.TenantID, hit.ID, fmt.Sprintf("%d seconds", int(every.Seconds())))
	return res.RowsAffected == 1, res.Error
}

// claimExpiryWarnings marks and returns the secrets whose next warning is
// due at now: the smallest of days that expiry is within and that was not
// sent yet (a secret created 12 hours before its expiry gets the 1-day
// warning only).
func (s *Store) claimExpiryWarnings(ctx context.Context, now time.Time, days []int) ([]expiryWarning, error) {
	var out []expiryWarning
	// days is {7, 1}: the query is written for those two thresholds.
	if len(days) != 2 {
		return nil, fmt.Errorf("expiry warnings: want two thresholds, got %v", days)
	}
	far, near := now.Add(time.Duration(days[0])*24*time.Hour), now.Add(time.Duration(days[1])*24*time.Hour)
	err := s.db.Conn(ctx).Raw(`
		WITH due AS (
			SELECT tenant_id, id, CASE WHEN expires_at <= ? THEN ?::int ELSE ?::int END AS days
			FROM api_client_secrets
			WHERE expires_at > ? AND expires_at <= ?
			FOR UPDATE SKIP LOCKED
		)
		UPDATE api_client_secrets s SET expiry_warned_days = due.days
		FROM due, api_clients c
		WHERE s.tenant_id = due.tenant_id AND s.id = due.id
		  AND (s.expiry_warned_days IS NULL OR s.expiry_warned_days > due.days)
		  AND c.tenant_id = s.tenant_id AND c.id = s.client_pk
		RETURNING s.tenant_id, s.client_pk, s.id, c.client_id, s.hint, s.expires_at, due.days`,
		near, days[1], days[0], now, far).Scan(&out).Error
	return out, err
}

// claimUnused marks and returns the clients idle (no token, or never used
// since creation) for after at now and not yet announced for this idle
// spell.
func (s *Store) claimUnused(ctx context.Context, now time.Time, after time.Duration) ([]Client, error) {
	var out []Client
	err := s.db.Conn(ctx).Raw(`
		UPDATE api_clients SET unused_notified_at = ?
		WHERE coalesce(last_used_at, created_at) <= ?
		  AND (unused_notified_at IS NULL OR unused_notified_at < coalesce(last_used_at, created_at))
		RETURNING `+clientColumns, now, now.Add(-after)).Scan(&out).Error
	return out, err
}

func (s *Store) purgeRetired(ctx context.Context, before time.Time) error {
	return s.db.Conn(ctx).Exec(`DELETE FROM api_client_retired_secrets WHERE deleted_at < ?`, before).Error
}
