package oauthclients

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/credential"
	"github.com/oauthd/oauthd/internal/fault"
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

// Components is what this package asks of the components package.
type Components interface {
	// LockVisible finds a live component the tenant can see and share-locks
	// it, so it cannot be deleted or changed until our transaction ends.
	LockVisible(ctx context.Context, tenantID, id uuid.UUID) (*Component, error)
	// FlowsUsing lists the tenant's flows that include the component.
	FlowsUsing(ctx context.Context, tenantID, componentID uuid.UUID) ([]FlowRef, error)
}

// ErrNoComponent is what Components.LockVisible returns for an id that names
// nothing the tenant can see.
var ErrNoComponent = errors.New("no visible component")

// Dependents are told, inside the transaction, when a component loses the
// tenant's OAuth client (deleted, or moved to another component), so that
// what was built on it (connections) can say so in the same commit.
type Dependents interface {
	OAuthClientReleased(ctx context.Context, tenantID, componentID uuid.UUID) error
}

// Service applies elastic.io's rules.
type Service struct {
	tx         Transactor
	store      *Store
	components Components
	sealer     Sealer
	audit      Recorder
	dependents Dependents
}

// SetDependents wires what must hear of released clients; the wiring calls
// it once, before the service is used.
func (s *Service) SetDependents(d Dependents) { s.dependents = d }

// released tells the dependents that the component has no client now.
func (s *Service) released(ctx context.Context, tenantID, componentID uuid.UUID) error {
	if s.dependents == nil {
		return nil
	}
	return s.dependents.OAuthClientReleased(ctx, tenantID, componentID)
}

// NewService wires the service.
func NewService(tx Transactor, store *Store, components Components, sealer Sealer, audit Recorder) *Service {
	return &Service{tx: tx, store: store, components: components, sealer: sealer, audit: audit}
}

// aad binds a ciphertext to its row.
func aad(tenantID, id uuid.UUID) []byte { return []byte(tenantID.String() + "/" + id.String()) }

func (s *Service) seal(c *Client, secret string) {
	c.SecretCiphertext, c.SecretKeyID = s.sealer.Seal([]byte(secret), aad(c.TenantID, c.ID))
	c.SecretHint = credential.Hint(secret)
}

// component resolves the component relationship for a client.
func (s *Service) component(ctx context.Context, tenantID uuid.UUID, raw string) (*Component, error) {
	if raw == "" {
		return nil, fault.InvalidRelationship("component", "required", "relationships.component is required")
	}
	id, err := uuid.Parse(raw)
	if err != nil || len(raw) != 36 {
		return nil, ErrComponentNotFound
	}
	comp, err := s.components.LockVisible(ctx, tenantID, id)
	if errors.Is(err, ErrNoComponent) {
		return nil, ErrComponentNotFound
	}
	if err != nil {
		return nil, err
	}
	if !comp.UseOAuthClient {
		return nil, ErrComponentWithoutOAuth
	}
	return comp, nil
}

// Create stores a new client for a component.
func (s *Service) Create(ctx context.Context, tenantID uuid.UUID, in NewClient) (*Client, error) {
	var ps fault.Problems
	checkCredential(&ps, "client_id", in.ClientID, maxClientID)
	checkCredential(&ps, "client_secret", in.ClientSecret, maxClientSecret)
	c := &Client{TenantID: tenantID, ID: uuid.New(), ClientID: in.ClientID}
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		comp, err := s.component(ctx, tenantID, in.ComponentID)
		if ps2, ok := fault.List(err); ok {
			ps = append(ps, ps2...)
		} else if err != nil {
			return err
		}
		if err := ps.Err(); err != nil {
			return err
		}
		c.ComponentTenantID, c.ComponentID = comp.TenantID, comp.ID
		s.seal(c, in.ClientSecret)
		if err := s.store.create(ctx, c); err != nil {
			return err
		}
		return s.audit.Record(ctx, tenantID, "oauth_client.create", "oauth-client", c.ID.String(),
			map[string]any{"component_id": comp.ID, "client_id": c.ClientID})
	})
	if err != nil {
		return nil, fmt.Errorf("create oauth client: %w", err)
	}
	return s.store.get(ctx, tenantID, c.ID, false)
}

// Get finds one client.
func (s *Service) Get(ctx context.Context, tenantID, id uuid.UUID) (*Client, error) {
	return s.store.get(ctx, tenantID, id, false)
}

// List returns a page of the tenant's clients.
func (s *Service) List(ctx context.Context, tenantID uuid.UUID, f Filter, p listing.Params) (listing.Page[Client], error) {
	page, err := s.store.list(ctx, tenantID, f, p)
	if err != nil {
		return page, fmt.Errorf("list oauth clients: %w", err)
	}
	return page, nil
}

// Update changes any subset of client_id, client_secret and component.
// Moving a client off a component that flows still use is refused like a
// delete would be.
func (s *Service) Update(ctx context.Context, tenantID, id uuid.UUID, patch Patch) (*Client, error) {
	var ps fault.Problems
	if patch.ClientID != nil {
		checkCredential(&ps, "client_id", *patch.ClientID, maxClientID)
	}
	if patch.ClientSecret != nil {
		checkCredential(&ps, "client_secret", *patch.ClientSecret, maxClientSecret)
	}
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		c, err := s.store.get(ctx, tenantID, id, true)
		if err != nil {
			return err
		}
		changed := []string{}
		var moveTo *Component
		if patch.ComponentID != nil && *patch.ComponentID != c.ComponentID.String() {
			comp, err := s.component(ctx, tenantID, *patch.ComponentID)
			if cps, ok := fault.List(err); ok {
				ps = append(ps, cps...)
			} else if err != nil {
				return err
			}
			moveTo = comp
		}
		if err := ps.Err(); err != nil {
			return err
		}
		if moveTo != nil && moveTo.ID != c.ComponentID {
			if err := s.refuseInUse(ctx, c, "the OAuth client cannot move off its component"); err != nil {
				return err
			}
			if err := s.released(ctx, tenantID, c.ComponentID); err != nil {
				return err
			}
			c.ComponentTenantID, c.ComponentID = moveTo.TenantID, moveTo.ID
			changed = append(changed, "component")
		}
		if patch.ClientID != nil && *patch.ClientID != c.ClientID {
			c.ClientID = *patch.ClientID
			changed = append(changed, "client_id")
		}
		if patch.ClientSecret != nil {
			s.seal(c, *patch.ClientSecret)
			changed = append(changed, "client_secret")
		}
		if len(changed) == 0 {
			return nil // nothing to write: no new updated_at, no audit event
		}
		c.UpdatedAt = time.Now().UTC()
		if err := s.store.save(ctx, c); err != nil {
			return err
		}
		return s.audit.Record(ctx, tenantID, "oauth_client.update", "oauth-client", id.String(),
			map[string]any{"changed": changed, "component_id": c.ComponentID, "client_id": c.ClientID})
	})
	if err != nil {
		return nil, fmt.Errorf("update oauth client: %w", err)
	}
	return s.store.get(ctx, tenantID, id, false)
}

// refuseInUse returns the 409 naming each flow that includes the client's
// component. The caller holds the client's row lock, so no flow can add the
// component between this check and the caller's change.
func (s *Service) refuseInUse(ctx context.Context, c *Client, what string) error {
	flows, err := s.components.FlowsUsing(ctx, c.TenantID, c.ComponentID)
	if err != nil {
		return err
	}
	if len(flows) == 0 {
		return nil
	}
	names := make([]string, len(flows))
	for i, f := range flows {
		names[i] = fmt.Sprintf("%q (%s)", f.Name, f.ID)
	}
	p := ErrInUse.With(fmt.Sprintf("%s while flows in this tenant include component %s: %s; remove the component from those flows first",
		what, c.ComponentID, strings.Join(names, ", ")))
	p.Meta = map[string]any{"flows": flows}
	return p
}

// Delete removes a client that no flow uses. The check and the delete are
// one transaction holding the client's row lock.
func (s *Service) Delete(ctx context.Context, tenantID, id uuid.UUID) error {
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		c, err := s.store.get(ctx, tenantID, id, true)
		if err != nil {
			return err
		}
		if err := s.refuseInUse(ctx, c, "the OAuth client cannot be deleted"); err != nil {
			return err
		}
		if err := s.store.delete(ctx, tenantID, id); err != nil {
			return err
		}
		if err := s.released(ctx, tenantID, c.ComponentID); err != nil {
			return err
		}
		return s.audit.Record(ctx, tenantID, "oauth_client.delete", "oauth-client", id.String(),
			map[string]any{"component_id": c.ComponentID, "client_id": c.ClientID})
	})
	if err != nil {
		return fmt.Errorf("delete oauth client: %w", err)
	}
	return nil
}

// RevealSecret decrypts the stored secret. Every reveal is audited, in the
// same transaction, so there is no reveal without its record.
func (s *Service) RevealSecret(ctx context.Context, tenantID, id uuid.UUID) (*Client, string, error) {
	var c *Client
	var secret []byte
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if c, err = s.store.get(ctx, tenantID, id, false); err != nil {
			return err
		}
		if secret, err = s.sealer.Open(c.SecretCiphertext, c.SecretKeyID, aad(c.TenantID, c.ID)); err != nil {
			return err
		}
		return s.audit.Record(ctx, tenantID, "oauth_client.reveal_secret", "oauth-client", id.String(),
			map[string]any{"component_id": c.ComponentID, "client_id": c.ClientID})
	})
	if err != nil {
		return nil, "", fmt.Errorf("reveal oauth client secret: %w", err)
	}
	return c, string(secret), nil
}

// ForComponent finds the tenant's OAuth client for a component and opens
// its secret, for oauthd's own use at the provider (connecting and
// refreshing accounts): the secret goes to the provider, not to a caller,
// so this is not a reveal. ErrNotFound when the tenant has none.
func (s *Service) ForComponent(ctx context.Context, tenantID, componentID uuid.UUID) (*Client, string, error) {
	c, err := s.store.forComponent(ctx, tenantID, componentID)
	if err != nil {
		return nil, "", err
	}
	secret, err := s.sealer.Open(c.SecretCiphertext, c.SecretKeyID, aad(c.TenantID, c.ID))
	if err != nil {
		return nil, "", fmt.Errorf("open oauth client secret: %w", err)
	}
	return c, string(secret), nil
}

// RevealForComponent is ForComponent for a caller who reads the secret
// (the legacy envVars link): audited as a reveal, in the same transaction,
// with via saying which endpoint revealed it.
func (s *Service) RevealForComponent(ctx context.Context, tenantID, componentID uuid.UUID, via string) (*Client, string, error) {
	var c *Client
	var secret string
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if c, secret, err = s.ForComponent(ctx, tenantID, componentID); err != nil {
			return err
		}
		return s.audit.Record(ctx, tenantID, "oauth_client.reveal_secret", "oauth-client", c.ID.String(),
			map[string]any{"component_id": c.ComponentID, "client_id": c.ClientID, "via": via})
	})
	if err != nil {
		return nil, "", fmt.Errorf("reveal oauth client secret: %w", err)
	}
	return c, secret, nil
}
