package webhooks

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/credential"
	"github.com/oauthd/oauthd/internal/fault"
	"github.com/oauthd/oauthd/internal/jobs"
	"github.com/oauthd/oauthd/internal/listing"
)

// Transactor runs a function in one database transaction carried by ctx.
type Transactor interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Recorder writes audit events in the caller's transaction.
type Recorder interface {
	Record(ctx context.Context, tenantID uuid.UUID, action, resourceType, resourceID string, details map[string]any) error
}

// Sealer encrypts secrets at rest (the keyring).
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, string)
	Open(ciphertext []byte, keyID string, aad []byte) ([]byte, error)
}

// URLChecker says what is wrong with a URL oauthd would call ("" when
// nothing is): the outbound client's address rule, applied when saving.
type URLChecker interface {
	CheckURL(ctx context.Context, raw string) string
}

// Service applies the rules of webhooks.
type Service struct {
	tx     Transactor
	store  *Store
	audit  Recorder
	sealer Sealer
	urls   URLChecker
	clock  jobs.Clock
}

// NewService wires the service.
func NewService(tx Transactor, store *Store, audit Recorder, sealer Sealer, urls URLChecker, clock jobs.Clock) *Service {
	if clock == nil {
		clock = jobs.SystemClock{}
	}
	return &Service{tx: tx, store: store, audit: audit, sealer: sealer, urls: urls, clock: clock}
}

const resourceType = "webhook"

// SecretPrefix starts every webhook signing secret.
const SecretPrefix = "whsec_"

// DefaultOverlap is how long the previous secrets keep signing after a new
// one is created, unless the rotation says otherwise.
const DefaultOverlap = 24 * time.Hour

// MaxOverlap bounds the overlap a rotation may ask for.
const MaxOverlap = 7 * 24 * time.Hour

func (s *Service) validate(ctx context.Context, url *string, events *[]string, description *string) error {
	var ps fault.Problems
	if url != nil {
		if why := s.urls.CheckURL(ctx, *url); why != "" {
			ps.Add(fault.InvalidAttribute("url", "invalid_webhook_url", "url "+why))
		}
	}
	if events != nil {
		switch {
		case len(*events) == 0:
			ps.Add(fault.InvalidAttribute("events", "events_required",
				`events must list at least one event type or pattern, such as "api_client.*" or "*"`))
		case len(*events) > maxEventPatterns:
			ps.Add(fault.InvalidAttribute("events", "too_many_events", fmt.Sprintf("events lists at most %d patterns", maxEventPatterns)))
		default:
			var unknown []string
			for _, p := range *events {
				if !ValidPattern(p) {
					unknown = append(unknown, fmt.Sprintf("%q", p))
				}
			}
			if len(unknown) > 0 {
				ps.Add(fault.InvalidAttribute("events", "unknown_event_type", "events names no known event type: "+
					strings.Join(unknown, ", ")+`; use "*", a resource such as "api_client.*", or a type listed in the API documentation`))
			}
		}
	}
	if description != nil && (utf8.RuneCountInString(*description) > maxDescriptionLen || !utf8.ValidString(*description) ||
		strings.ContainsRune(*description, 0)) {
		ps.Add(fault.InvalidAttribute("description", "invalid_description",
			fmt.Sprintf("description must be UTF-8 text of at most %d characters without NUL", maxDescriptionLen)))
	}
	return ps.Err()
}

func normalizeEvents(events []string) []string {
	out := slices.Clone(events)
	slices.Sort(out)
	return slices.Compact(out)
}

// Create adds a webhook with its first signing secret, which is returned
// this once.
func (s *Service) Create(ctx context.Context, tenantID uuid.UUID, in NewWebhook) (*Webhook, string, error) {
	if err := s.validate(ctx, &in.URL, &in.Events, &in.Description); err != nil {
		return nil, "", fmt.Errorf("create webhook: %w", err)
	}
	w := &Webhook{TenantID: tenantID, ID: uuid.New(), URL: in.URL, Events: normalizeEvents(in.Events),
		Description: in.Description, Active: in.Active == nil || *in.Active}
	var plain string
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.lockTenantWebhooks(ctx, tenantID); err != nil {
			return err
		}
		n, err := s.store.count(ctx, tenantID)
		if err != nil {
			return err
		}
		if n >= maxWebhooksPerTenant {
			return ErrTooMany
		}
		if err := s.store.create(ctx, w); err != nil {
			return err
		}
		var row *secretRow
		if plain, row, err = s.newSecret(ctx, w); err != nil {
			return err
		}
		return s.audit.Record(ctx, tenantID, "webhook.create", resourceType, w.ID.String(),
			map[string]any{"url": RedactURL(w.URL), "events": w.Events, "active": w.Active, "secret_hint": row.Hint})
	})
	if err != nil {
		return nil, "", fmt.Errorf("create webhook: %w", err)
	}
	w, err = s.store.get(ctx, tenantID, w.ID, false)
	if err != nil {
		return nil, "", fmt.Errorf("create webhook: %w", err)
	}
	return w, plain, nil
}

// newSecret stores a new signing secret of w, sealed, and returns it.
func (s *Service) newSecret(ctx context.Context, w *Webhook) (string, *secretRow, error) {
	plain := credential.Random(SecretPrefix, 32)
	row := &secretRow{Secret: Secret{TenantID: w.TenantID, WebhookID: w.ID, ID: uuid.New(), Hint: credential.Hint(plain)}}
	row.Sealed, row.KeyID = s.sealer.Seal([]byte(plain), secretAAD(row.TenantID, row.WebhookID, row.ID))
	return plain, row, s.store.createSecret(ctx, row)
}

// secretAAD binds a sealed secret to its row: a ciphertext copied to
// another webhook or tenant does not open.
func secretAAD(tenantID, webhookID, id uuid.UUID) []byte {
	return []byte("webhook-secret:" + tenantID.String() + ":" + webhookID.String() + ":" + id.String())
}

// Get returns one webhook.
func (s *Service) Get(ctx context.Context, tenantID, id uuid.UUID) (*Webhook, error) {
	w, err := s.store.get(ctx, tenantID, id, false)
	if err != nil {
		return nil, fmt.Errorf("get webhook: %w", err)
	}
	return w, nil
}

// List returns a page of the tenant's webhooks.
func (s *Service) List(ctx context.Context, tenantID uuid.UUID, f Filter, p listing.Params) (listing.Page[Webhook], error) {
	page, err := s.store.list(ctx, tenantID, f, p)
	if err != nil {
		return page, fmt.Errorf("list webhooks: %w", err)
	}
	return page, nil
}

// Update changes a webhook. Switching it on again (active: true) clears
// the reason oauthd switched it off and starts its failure count afresh.
func (s *Service) Update(ctx context.Context, tenantID, id uuid.UUID, p Patch) (*Webhook, error) {
	if err := s.validate(ctx, p.URL, p.Events, p.Description); err != nil {
		return nil, fmt.Errorf("update webhook: %w", err)
	}
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		w, err := s.store.get(ctx, tenantID, id, true)
		if err != nil {
			return err
		}
		var changed []string
		if p.URL != nil && *p.URL != w.URL {
			w.URL, changed = *p.URL, append(changed, "url")
		}
		if p.Events != nil && !slices.Equal(normalizeEvents(*p.Events), w.Events) {
			w.Events, changed = normalizeEvents(*p.Events), append(changed, "events")
		}
		if p.Description != nil && *p.Description != w.Description {
			w.Description, changed = *p.Description, append(changed, "description")
		}
		if p.Active != nil && *p.Active != w.Active {
			w.Active, changed = *p.Active, append(changed, "active")
		}
		if p.Active != nil && *p.Active {
			w.FailingSince, w.DisabledReason, w.DisabledAt = nil, nil, nil
		}
		if err := s.store.save(ctx, w); err != nil {
			return err
		}
		return s.audit.Record(ctx, tenantID, "webhook.update", resourceType, id.String(),
			map[string]any{"url": RedactURL(w.URL), "events": w.Events, "active": w.Active, "changed": changed})
	})
	if err != nil {
		return nil, fmt.Errorf("update webhook: %w", err)
	}
	return s.Get(ctx, tenantID, id)
}

// Delete removes a webhook with its secrets and delivery log; deliveries
// still queued for it are dropped when they come up.
func (s *Service) Delete(ctx context.Context, tenantID, id uuid.UUID) error {
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		w, err := s.store.get(ctx, tenantID, id, true)
		if err != nil {
			return err
		}
		if err := s.store.delete(ctx, tenantID, id); err != nil {
			return err
		}
		return s.audit.Record(ctx, tenantID, "webhook.delete", resourceType, id.String(), map[string]any{"url": RedactURL(w.URL)})
	})
	if err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	return nil
}

// CreateSecret rotates the signing secret: the new secret is returned this
// once, and the webhook's other secrets keep signing for overlap (default
// DefaultOverlap; 0 stops them at once), so a receiver can switch over
// without rejecting a delivery. Deliveries carry one signature per live
// secret.
func (s *Service) CreateSecret(ctx context.Context, tenantID, webhookID uuid.UUID, overlap *time.Duration) (*Secret, string, error) {
	d := DefaultOverlap
	if overlap != nil {
		d = *overlap
	}
	if d < 0 || d > MaxOverlap {
		return nil, "", fmt.Errorf("create webhook secret: %w", fault.InvalidAttribute("previous_secrets_expire_in",
			"invalid_overlap", fmt.Sprintf("previous_secrets_expire_in must be a whole number of seconds from 0 to %d", int(MaxOverlap.Seconds()))))
	}
	var plain string
	var row *secretRow
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		w, err := s.store.get(ctx, tenantID, webhookID, true)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		live, err := s.store.liveSecrets(ctx, tenantID, webhookID, now)
		if err != nil {
			return err
		}
		if len(live) >= maxActiveSecrets {
			return ErrTooManySecrets
		}
		if plain, row, err = s.newSecret(ctx, w); err != nil {
			return err
		}
		if err := s.store.expireOthers(ctx, tenantID, webhookID, row.ID, now, now.Add(d)); err != nil {
			return err
		}
		return s.audit.Record(ctx, tenantID, "webhook_secret.create", "webhook-secret", row.ID.String(),
			map[string]any{"webhook_id": webhookID, "hint": row.Hint, "previous_secrets_expire_at": now.Add(d)})
	})
	if err != nil {
		return nil, "", fmt.Errorf("create webhook secret: %w", err)
	}
	secrets, err := s.store.secrets(ctx, tenantID, webhookID)
	if err != nil {
		return nil, "", fmt.Errorf("create webhook secret: %w", err)
	}
	for i := range secrets {
		if secrets[i].ID == row.ID {
			return &secrets[i], plain, nil
		}
	}
	return &row.Secret, plain, nil
}

// Secrets lists a webhook's secrets (hints, not the secrets), oldest first.
func (s *Service) Secrets(ctx context.Context, tenantID, webhookID uuid.UUID) ([]Secret, error) {
	if _, err := s.store.get(ctx, tenantID, webhookID, false); err != nil {
		return nil, fmt.Errorf("list webhook secrets: %w", err)
	}
	out, err := s.store.secrets(ctx, tenantID, webhookID)
	if err != nil {
		return nil, fmt.Errorf("list webhook secrets: %w", err)
	}
	return out, nil
}

// DeleteSecret removes a secret at once (a leaked one); the webhook's last
// live secret cannot go, since every delivery must be signed.
func (s *Service) DeleteSecret(ctx context.Context, tenantID, webhookID, secretID uuid.UUID) error {
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.store.get(ctx, tenantID, webhookID, true); err != nil {
			return err
		}
		live, err := s.store.liveSecrets(ctx, tenantID, webhookID, s.clock.Now())
		if err != nil {
			return err
		}
		if len(live) == 1 && live[0].ID == secretID {
			return ErrLastSecret
		}
		if err := s.store.deleteSecret(ctx, tenantID, webhookID, secretID); err != nil {
			return err
		}
		return s.audit.Record(ctx, tenantID, "webhook_secret.delete", "webhook-secret", secretID.String(),
			map[string]any{"webhook_id": webhookID})
	})
	if err != nil {
		return fmt.Errorf("delete webhook secret: %w", err)
	}
	return nil
}

// Deliveries returns a page of a webhook's delivery log, newest first.
func (s *Service) Deliveries(ctx context.Context, tenantID, webhookID uuid.UUID, f DeliveryFilter, p listing.Params) (listing.Page[Delivery], error) {
	if _, err := s.store.get(ctx, tenantID, webhookID, false); err != nil {
		return listing.Page[Delivery]{}, fmt.Errorf("list webhook deliveries: %w", err)
	}
	page, err := s.store.listDeliveries(ctx, tenantID, webhookID, f, p)
	if err != nil {
		return page, fmt.Errorf("list webhook deliveries: %w", err)
	}
	return page, nil
}
