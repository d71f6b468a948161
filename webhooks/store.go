package webhooks

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/listing"
)

// Store keeps webhooks, their secrets and deliveries. Every query starts
// from one of the scoped helpers, which add the tenant, so another
// tenant's id finds nothing.
type Store struct{ db *database.DB }

// NewStore returns a store on db.
func NewStore(db *database.DB) *Store { return &Store{db: db} }

func (s *Store) webhooks(ctx context.Context, tenantID uuid.UUID) *gorm.DB {
	return s.db.Conn(ctx).Model(&Webhook{}).Where("tenant_id = ?", tenantID)
}

func (s *Store) secretRows(ctx context.Context, tenantID, webhookID uuid.UUID) *gorm.DB {
	return s.db.Conn(ctx).Model(&secretRow{}).Where("tenant_id = ? AND webhook_id = ?", tenantID, webhookID)
}

func (s *Store) deliveries(ctx context.Context, tenantID, webhookID uuid.UUID) *gorm.DB {
	return s.db.Conn(ctx).Model(&Delivery{}).Where("tenant_id = ? AND webhook_id = ?", tenantID, webhookID)
}

func notFound(err, sentinel error) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return sentinel
	}
	return err
}

func (s *Store) get(ctx context.Context, tenantID, id uuid.UUID, forUpdate bool) (*Webhook, error) {
	q := s.webhooks(ctx, tenantID).Where("id = ?", id)
	if forUpdate {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	var w Webhook
	if err := q.Take(&w).Error; err != nil {
		return nil, notFound(err, ErrNotFound)
	}
	return &w, nil
}

// ListSorts are the fields a tenant's webhooks sort by.
var ListSorts = listing.Sorts{"created_at": "created_at", "updated_at": "updated_at", "url": "url"}

func (s *Store) list(ctx context.Context, tenantID uuid.UUID, f Filter, p listing.Params) (listing.Page[Webhook], error) {
	var out listing.Page[Webhook]
	q := s.webhooks(ctx, tenantID)
	if f.Active != nil {
		q = q.Where("active = ?", *f.Active)
	}
	if err := q.Count(&out.Total).Error; err != nil {
		return out, err
	}
	return out, listing.Find(q, p, listing.Order{Sorts: ListSorts, Default: "created_at", Tiebreak: "id"}, &out)
}

// lockTenantWebhooks serialises the creates of one tenant, so the count
// against the limit holds under concurrency.
func (s *Store) lockTenantWebhooks(ctx context.Context, tenantID uuid.UUID) error {
	return s.db.Conn(ctx).Exec(`SELECT pg_advisory_xact_lock(hashtextextended('webhooks:' || ?::text, 0))`, tenantID).Error
}

func (s *Store) count(ctx context.Context, tenantID uuid.UUID) (int64, error) {
	var n int64
	err := s.webhooks(ctx, tenantID).Count(&n).Error
	return n, err
}

func (s *Store) create(ctx context.Context, w *Webhook) error {
	return s.db.Conn(ctx).Create(w).Error
}

func (s *Store) save(ctx context.Context, w *Webhook) error {
	return s.webhooks(ctx, w.TenantID).Where("id = ?", w.ID).Updates(map[string]any{
		"url": w.URL, "events": jsonStrings(w.Events), "description": w.Description, "active": w.Active,
		"failing_since": w.FailingSince, "disabled_reason": w.DisabledReason, "disabled_at": w.DisabledAt,
		"updated_at": gorm.Expr("clock_timestamp()"),
	}).Error
}

func (s *Store) delete(ctx context.Context, tenantID, id uuid.UUID) error {
	res := s.webhooks(ctx, tenantID).Where("id = ?", id).Delete(&Webhook{})
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrNotFound
	}
	return res.Error
}

// activeFor lists the tenant's active webhooks (the fan-out's question).
func (s *Store) activeFor(ctx context.Context, tenantID uuid.UUID) ([]Webhook, error) {
	var out []Webhook
	err := s.webhooks(ctx, tenantID).Select("tenant_id, id, events").Where("active").Order("created_at, id").Find(&out).Error
	return out, err
}

// forDelivery loads a webhook with its live secrets (newest first) in one
// query: every delivery asks.
func (s *Store) forDelivery(ctx context.Context, tenantID, id uuid.UUID, now time.Time) (*Webhook, []secretRow, error) {
	var rows []struct {
		Webhook
		SecretID     *uuid.UUID
		SecretSealed []byte
		SecretKeyID  *string
	}
	err := s.db.Conn(ctx).Raw(`
		SELECT w.tenant_id, w.id, w.url, w.events, w.description, w.active, w.failing_since, w.disabled_reason,
		       w.disabled_at, w.created_at, w.updated_at, s.id AS secret_id, s.sealed AS secret_sealed, s.key_id AS secret_key_id
		FROM webhooks w
		LEFT JOIN webhook_secrets s ON s.tenant_id = w.tenant_id AND s.webhook_id = w.id AND (s.expires_at IS NULL OR s.expires_at > ?)
		WHERE w.tenant_id = ? AND w.id = ?
		ORDER BY s.created_at DESC, s.id`, now, tenantID, id).Scan(&rows).Error
	if err != nil {
		return nil, nil, err
	}
	if len(rows) == 0 {
		return nil, nil, ErrNotFound
	}
	w := rows[0].Webhook
	var secrets []secretRow
	for _, r := range rows {
		if r.SecretID != nil {
			secrets = append(secrets, secretRow{Secret: Secret{TenantID: w.TenantID, WebhookID: w.ID, ID: *r.SecretID},
				Sealed: r.SecretSealed, KeyID: *r.SecretKeyID})
		}
	}
	return &w, secrets, nil
}

func (s *Store) createSecret(ctx context.Context, r *secretRow) error {
	return s.db.Conn(ctx).Create(r).Error
}

func (s *Store) secrets(ctx context.Context, tenantID, webhookID uuid.UUID) ([]Secret, error) {
	var out []Secret
	err := s.secretRows(ctx, tenantID, webhookID).Select("tenant_id, webhook_id, id, hint, expires_at, created_at").
		Order("created_at, id").Find(&out).Error
	return out, err
}

// liveSecrets are the secrets that sign deliveries at now, newest first.
func (s *Store) liveSecrets(ctx context.Context, tenantID, webhookID uuid.UUID, now time.Time) ([]secretRow, error) {
	var out []secretRow
	err := s.secretRows(ctx, tenantID, webhookID).Where("expires_at IS NULL OR expires_at > ?", now).
		Order("created_at DESC, id").Find(&out).Error
	return out, err
}

// expireOthers makes every secret but keep stop signing at until (or
// sooner, if it already expires sooner).
func (s *Store) expireOthers(ctx context.Context, tenantID, webhookID, keep uuid.UUID, now, until time.Time) error {
	return s.secretRows(ctx, tenantID, webhookID).
		Where("id <> ? AND (expires_at IS NULL OR expires_at > ?)", keep, until).
		Update("expires_at", until).Error
}

func (s *Store) deleteSecret(ctx context.Context, tenantID, webhookID, id uuid.UUID) error {
	res := s.secretRows(ctx, tenantID, webhookID).Where("id = ?", id).Delete(&secretRow{})
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrSecretNotFound
	}
	return res.Error
}

func (s *Store) recordDelivery(ctx context.Context, d *Delivery) error {
	return s.db.Conn(ctx).Create(d).Error
}

// DeliverySorts are the fields a webhook's delivery log sorts by.
var DeliverySorts = listing.Sorts{"created_at": "created_at"}

func (s *Store) listDeliveries(ctx context.Context, tenantID, webhookID uuid.UUID, f DeliveryFilter, p listing.Params) (listing.Page[Delivery], error) {
	var out listing.Page[Delivery]
	q := s.deliveries(ctx, tenantID, webhookID)
	if f.EventID != nil {
		q = q.Where("event_id = ?", *f.EventID)
	}
	if f.Success != nil {
		q = q.Where("success = ?", *f.Success)
	}
	if err := q.Count(&out.Total).Error; err != nil {
		return out, err
	}
	return out, listing.Find(q, p, listing.Order{Sorts: DeliverySorts, Default: "created_at DESC", Tiebreak: "id"}, &out)
}

// jsonStrings writes a list into a jsonb column from an update map (where
// the model's serializer does not apply).
func jsonStrings(l []string) any {
	if l == nil {
		l = []string{}
	}
	b, _ := json.Marshal(l)
	return gorm.Expr("?::jsonb", string(b))
}
