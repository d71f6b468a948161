package apiclients

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/credential"
	"github.com/oauthd/oauthd/internal/fault"
	"github.com/oauthd/oauthd/policy"
)

// newSecretRow makes a secret for c: the plain secret, shown once, and the
// row that keeps only its digest.
func (s *Service) newSecretRow(c *Client, expiresAt *time.Time) (string, *secretRow) {
	plain := newSecret()
	return plain, &secretRow{
		Secret:      Secret{TenantID: c.TenantID, ClientPK: c.ID, ID: uuid.New(), Hint: credential.Hint(plain), ExpiresAt: expiresAt},
		Hash:        hashSecret(plain),
		Fingerprint: s.fingerprint(plain),
	}
}

// CreateSecret adds a secret to a confidential client, for rotation
// without downtime: the old secrets keep working until deleted or expired.
// The secret is returned this once. A secret yields tokens with the
// client's rights, so the acting member (may) must hold them all.
func (s *Service) CreateSecret(ctx context.Context, tenantID, clientPK uuid.UUID, expiresAt *time.Time, may policy.Allowance) (*Secret, string, error) {
	if expiresAt != nil {
		if !expiresAt.After(time.Now()) {
			return nil, "", fmt.Errorf("create api client secret: %w",
				fault.InvalidAttribute("expires_at", "expires_in_past", "expires_at must be in the future"))
		}
		t := expiresAt.UTC().Truncate(time.Second)
		expiresAt = &t
	}
	// The client is read first (without a lock), for the answers that need
	// no transaction; the transaction locks it and checks again.
	c, err := s.store.get(ctx, tenantID, clientPK, false)
	if err != nil {
		return nil, "", fmt.Errorf("create api client secret: %w", err)
	}
	if err := s.mayActOn(c, may); err != nil {
		return nil, "", fmt.Errorf("create api client secret: %w", err)
	}
	if c.Public() {
		return nil, "", fmt.Errorf("create api client secret: %w", ErrPublicClient)
	}
	plain, row := s.newSecretRow(c, expiresAt)
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		// The row lock serialises concurrent creates, so the count holds,
		// and a concurrent change of the client's roles cannot slip
		// between the check of the member's rights and the insert.
		locked, err := s.store.get(ctx, tenantID, clientPK, true)
		if err != nil {
			return err
		}
		if err := s.mayActOn(locked, may); err != nil {
			return err
		}
		n, err := s.store.activeSecretCount(ctx, tenantID, clientPK)
		if err != nil {
			return err
		}
		if n >= maxActiveSecrets {
			return ErrTooManySecrets
		}
		if err := s.store.createSecret(ctx, row); err != nil {
			return err
		}
		return s.audit.Record(ctx, tenantID, "api_client_secret.create", "api-client-secret", row.ID.String(),
			map[string]any{"api_client_id": clientPK, "client_id": c.ClientID, "expires_at": expiresAt})
	})
	if err != nil {
		return nil, "", fmt.Errorf("create api client secret: %w", err)
	}
	out := row.Secret
	out.CreatedAt = out.CreatedAt.UTC()
	return &out, plain, nil
}

// Secrets lists a client's secrets (without the secrets), oldest first,
// expired ones included until deleted.
func (s *Service) Secrets(ctx context.Context, tenantID, clientPK uuid.UUID) ([]Secret, error) {
	if _, err := s.store.get(ctx, tenantID, clientPK, false); err != nil {
		return nil, fmt.Errorf("list api client secrets: %w", err)
	}
	out, err := s.store.secrets(ctx, tenantID, clientPK)
	if err != nil {
		return nil, fmt.Errorf("list api client secrets: %w", err)
	}
	return out, nil
}

// DeleteSecret removes a secret; it stops working at once, on every
// instance, because authentication only ever compares against the rows it
// has just loaded. The acting member (may) must hold everything the
// client can do.
func (s *Service) DeleteSecret(ctx context.Context, tenantID, clientPK, secretID uuid.UUID, may policy.Allowance) error {
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		c, err := s.store.get(ctx, tenantID, clientPK, true)
		if err != nil {
			return err
		}
		if err := s.mayActOn(c, may); err != nil {
			return err
		}
		if err := s.store.deleteSecret(ctx, tenantID, clientPK, secretID); err != nil {
			return err
		}
		return s.audit.Record(ctx, tenantID, "api_client_secret.delete", "api-client-secret", secretID.String(),
			map[string]any{"api_client_id": clientPK, "client_id": c.ClientID})
	})
	if err != nil {
		return fmt.Errorf("delete api client secret: %w", err)
	}
	return nil
}
