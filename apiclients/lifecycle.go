package apiclients

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// The lifecycle events (published as webhooks events through the audit
// trail): a secret about to expire (api_client_secret.expiring, 7 days and
// 1 day before), a deleted or expired secret still presented
// (api_client_secret.rejected), and a client that has gone without a token
// for Options.UnusedAfter (api_client.unused).

// DefaultUnusedAfter is OAUTHD_UNUSED_AFTER's default.
const DefaultUnusedAfter = 90 * 24 * time.Hour

// rejectionNoticeEvery bounds the secret_rejected events of one secret: a
// deploy still using a deleted secret retries often, and one event an hour
// says it all.
const rejectionNoticeEvery = time.Hour

// retiredRetention is how long a deleted secret is still recognised.
const retiredRetention = 90 * 24 * time.Hour

// expiryWarnings are the days before expiry at which a secret is announced.
var expiryWarnings = []int{7, 1}

func (s *Service) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) unusedAfter() time.Duration {
	if s.opts.UnusedAfter > 0 {
		return s.opts.UnusedAfter
	}
	return DefaultUnusedAfter
}

// fingerprint is a keyed SHA-256 of a secret. Secrets are 32 random bytes,
// so a fast hash is safe here (as for API keys); the key keeps a copy of
// the database alone from confirming a guess.
func (s *Service) fingerprint(secret string) []byte {
	m := hmac.New(sha256.New, s.opts.FingerprintKey)
	m.Write([]byte(secret))
	return m.Sum(nil)
}

// noteRejected records api_client_secret.rejected when secret, which
// matched none of c's live secrets, is one of its expired or deleted ones.
func (s *Service) noteRejected(ctx context.Context, c *Client, secret string) error {
	hit, err := s.store.retiredSecret(ctx, c.TenantID, c.ID, s.fingerprint(secret))
	if err != nil || hit == nil {
		return err
	}
	return s.tx.InTx(ctx, func(ctx context.Context) error {
		claimed, err := s.store.claimRejectionNotice(ctx, hit, rejectionNoticeEvery)
		if err != nil || !claimed {
			return err
		}
		return s.audit.Record(ctx, c.TenantID, "api_client_secret.rejected", "api-client-secret", hit.ID.String(),
			map[string]any{"api_client_id": c.ID, "client_id": c.ClientID, "secret_hint": hit.Hint, "reason": hit.Reason})
	})
}

// NotifyLifecycle is the periodic job: it records the expiry warnings and
// the unused clients due at the service's now, and forgets deleted secrets
// past their retention. Each warning is sent once (the rows remember it).
func (s *Service) NotifyLifecycle(ctx context.Context) error {
	now := s.now()
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		due, err := s.store.claimExpiryWarnings(ctx, now, expiryWarnings)
		if err != nil {
			return err
		}
		for _, w := range due {
			if err := s.audit.Record(ctx, w.TenantID, "api_client_secret.expiring", "api-client-secret", w.ID.String(),
				map[string]any{"api_client_id": w.ClientPK, "client_id": w.ClientID, "secret_hint": w.Hint,
					"expires_at": w.ExpiresAt.UTC(), "days_left": w.Days}); err != nil {
				return err
			}
		}
		idle, err := s.store.claimUnused(ctx, now, s.unusedAfter())
		if err != nil {
			return err
		}
		for _, c := range idle {
			if err := s.audit.Record(ctx, c.TenantID, "api_client.unused", resourceType, c.ID.String(),
				map[string]any{"client_id": c.ClientID, "name": c.Name, "last_used_at": c.LastUsedAt,
					"unused_for_days": int(s.unusedAfter().Hours() / 24)}); err != nil {
				return err
			}
		}
		return s.store.purgeRetired(ctx, now.Add(-retiredRetention))
	})
	if err != nil {
		return fmt.Errorf("api client lifecycle events: %w", err)
	}
	return nil
}

// retiredHit is an expired or deleted secret that was presented.
type retiredHit struct {
	TenantID uuid.UUID
	ID       uuid.UUID
	Hint     string
	Reason   string // "expired" or "deleted"
}

// expiryWarning is a secret whose warning is due.
type expiryWarning struct {
	TenantID  uuid.UUID
	ClientPK  uuid.UUID
	ID        uuid.UUID
	ClientID  string
	Hint      string
	ExpiresAt time.Time
	Days      int
}
