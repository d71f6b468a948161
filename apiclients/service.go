package apiclients

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/bounded"
	"github.com/oauthd/oauthd/internal/changes"
	"github.com/oauthd/oauthd/internal/fault"
	"github.com/oauthd/oauthd/internal/flight"
	"github.com/oauthd/oauthd/internal/listing"
	"github.com/oauthd/oauthd/policy"
)

// Transactor runs a function in one database transaction carried by ctx.
type Transactor interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Policy is what the service asks of the permission policy (the
// enforcer): which roles exist, and whether a client's rights are within
// the acting member's own.
type Policy interface {
	Roles() []string
	ExceedingClientGrant(r policy.ClientRights, may policy.Allowance) (fault.Problems, error)
	ExceedingClient(r policy.ClientRights, may policy.Allowance) (fault.Problems, error)
}

// Recorder writes audit events in the caller's transaction.
type Recorder interface {
	Record(ctx context.Context, tenantID uuid.UUID, action, resourceType, resourceID string, details map[string]any) error
}

// Service applies the rules of API clients.
type Service struct {
	tx       Transactor
	store    *Store
	policy   Policy
	audit    Recorder
	opts     Options
	verified *verifiedCache
	creds    *changes.Cache[string, credentials]
	// touches are the last_used_at writes of this instance (bounded: when
	// it empties itself, a client or secret is written once more).
	touches *bounded.Map[uuid.UUID, time.Time]
	// touchFlights shares a last_used_at write among concurrent requests.
	touchFlights flight.Group[uuid.UUID, struct{}]
	// dummyHash is compared against for an unknown client, so it costs
	// what a wrong secret costs.
	dummyHash string
}

// NewService wires the service.
func NewService(tx Transactor, store *Store, pol Policy, audit Recorder, o Options) *Service {
	if o.Changes != nil {
		tx = changes.BumpAfterCommit(tx, o.Changes)
	}
	s := &Service{tx: tx, store: store, policy: pol, audit: audit, opts: o,
		verified: newVerifiedCache(verifiedCacheSize), touches: bounded.New[uuid.UUID, time.Time](touchesSize),
		creds: changes.NewCache[string, credentials](o.Changes, credentialsTTL, credentialsCacheSize)}
	s.dummyHash = hashSecret(newSecret())
	return s
}

const resourceType = "api-client"

func (s *Service) validate(c *Client) error {
	v := validator{roles: s.policy.Roles(), bounds: s.opts.Bounds}
	v.client(c)
	return v.ps.Err()
}

// normalize makes a client's lists non-nil (they are stored as JSON arrays)
// and applies the rule that public clients always use PKCE.
func normalize(c *Client) {
	for _, l := range []*[]string{&c.GrantTypes, &c.RedirectURIs, &c.Roles, &c.Scopes} {
		if *l == nil {
			*l = []string{}
		}
	}
	if c.ClientType == TypePublic {
		c.RequirePKCE = true
	}
}

// rightsOf is what c can do, for the rule that nobody grants a right they
// lack.
func rightsOf(c *Client) policy.ClientRights {
	return policy.ClientRights{Roles: c.Roles, Scopes: c.Scopes}
}

// mayActOn refuses (403 client_exceeds_own) when c can do something that
// may does not hold: a member who could mint its secrets, widen its grant
// types or redirect URIs, or revoke its tokens would wield, or take away,
// rights they lack.
func (s *Service) mayActOn(c *Client, may policy.Allowance) error {
	ps, err := s.policy.ExceedingClient(rightsOf(c), may)
	if err != nil {
		return err
	}
	return ps.Err()
}

// Create adds a client. A confidential client gets its first secret, which
// is returned this once ("" for a public client). The client's roles and
// scopes (its template's included) must be within may, the acting
// member's rights (nil: no limit).
func (s *Service) Create(ctx context.Context, tenantID uuid.UUID, createdBy *uuid.UUID, in NewClient, may policy.Allowance) (*Client, string, error) {
	var ps fault.Problems
	if in.Template != "" {
		t, ok := templateByID(in.Template)
		if !ok {
			ps.Add(fault.InvalidAttribute("template", "unknown_template",
				fmt.Sprintf("unknown template %q; GET /v2/api-client-templates lists them", fault.Short(in.Template))))
		} else {
			in = t.apply(in)
		}
	}
	c := &Client{
		TenantID: tenantID, ID: uuid.New(), ClientID: newClientID(), Name: in.Name, ClientType: in.ClientType,
		GrantTypes: in.GrantTypes, RedirectURIs: in.RedirectURIs, Roles: in.Roles, Scopes: in.Scopes,
		RequirePKCE: in.RequirePKCE, AccessTokenTTL: in.AccessTokenTTL, RefreshTokenTTL: in.RefreshTokenTTL,
		Template: in.Template, CreatedBy: createdBy,
	}
	normalize(c)
	if err := s.validate(c); err != nil {
		ps2, _ := fault.List(err)
		ps = append(ps, ps2...)
	}
	beyond, err := s.policy.ExceedingClientGrant(rightsOf(c), may)
	if err != nil {
		return nil, "", fmt.Errorf("create api client: %w", err)
	}
	ps = append(ps, beyond...)
	if err := ps.Err(); err != nil {
		return nil, "", fmt.Errorf("create api client: %w", err)
	}
	var plain string
	var secret *secretRow
	if !c.Public() {
		plain, secret = s.newSecretRow(c, nil)
	}
	err = s.tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.create(ctx, c); err != nil {
			return err
		}
		if secret != nil {
			if err := s.store.createSecret(ctx, secret); err != nil {
				return err
			}
		}
		return s.audit.Record(ctx, tenantID, "api_client.create", resourceType, c.ID.String(), map[string]any{
			"client_id": c.ClientID, "name": c.Name, "client_type": c.ClientType, "grant_types": c.GrantTypes,
			"roles": c.Roles, "scopes": c.Scopes, "template": c.Template,
		})
	})
	if err != nil {
		return nil, "", fmt.Errorf("create api client: %w", err)
	}
	got, err := s.store.get(ctx, tenantID, c.ID, false)
	if err != nil {
		return nil, "", fmt.Errorf("create api client: %w", err)
	}
	return got, plain, nil
}

// Get finds one client of the tenant.
func (s *Service) Get(ctx context.Context, tenantID, id uuid.UUID) (*Client, error) {
	return s.store.get(ctx, tenantID, id, false)
}

// ByClientID finds a client by its public id, in any tenant.
func (s *Service) ByClientID(ctx context.Context, clientID string) (*Client, error) {
	if !PlausibleClientID(clientID) {
		return nil, ErrNotFound // names no client; and never sent to Postgres
	}
	return s.store.byClientID(ctx, clientID)
}

// Filter narrows a listing of clients.
type Filter struct {
	// Unused, when set, keeps the clients that have (true) or have not
	// (false) gone without a token for Options.UnusedAfter.
	Unused *bool
	// IdleSince is set by List from Unused.
	IdleSince time.Time
}

// List returns a page of the tenant's clients.
func (s *Service) List(ctx context.Context, tenantID uuid.UUID, f Filter, p listing.Params) (listing.Page[Client], error) {
	f.IdleSince = s.now().Add(-s.unusedAfter())
	page, err := s.store.list(ctx, tenantID, f, p)
	if err != nil {
		return page, fmt.Errorf("list api clients: %w", err)
	}
	return page, nil
}

// Update changes any subset of a client's settings; the client as it would
// be is checked as a whole, every problem reported at once. The type and
// the client id never change. The acting member (may) must hold every
// right the client has now and every role and scope the patch gives it.
func (s *Service) Update(ctx context.Context, tenantID, id uuid.UUID, p Patch, may policy.Allowance) (*Client, error) {
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		c, err := s.store.get(ctx, tenantID, id, true)
		if err != nil {
			return err
		}
		if err := s.mayActOn(c, may); err != nil {
			return err
		}
		changed := applyPatch(c, p)
		normalize(c)
		var given policy.ClientRights
		if p.Roles != nil {
			given.Roles = c.Roles
		}
		if p.Scopes != nil {
			given.Scopes = c.Scopes
		}
		ps, err := s.policy.ExceedingClientGrant(given, may)
		if err != nil {
			return err
		}
		if err := s.validate(c); err != nil {
			more, _ := fault.List(err)
			ps = append(ps, more...)
		}
		if err := ps.Err(); err != nil {
			return err
		}
		if len(changed) == 0 {
			return nil // nothing to write: no new updated_at, no audit event
		}
		c.UpdatedAt = time.Now().UTC()
		if err := s.store.save(ctx, c); err != nil {
			return err
		}
		return s.audit.Record(ctx, tenantID, "api_client.update", resourceType, id.String(),
			map[string]any{"changed": changed, "client_id": c.ClientID})
	})
	if err != nil {
		return nil, fmt.Errorf("update api client: %w", err)
	}
	return s.store.get(ctx, tenantID, id, false)
}

// applyPatch sets what p sets and names the attributes that changed.
func applyPatch(c *Client, p Patch) []string {
	changed := []string{}
	if p.Name != nil && *p.Name != c.Name {
		c.Name = *p.Name
		changed = append(changed, "name")
	}
	lists := []struct {
		attr string
		to   *[]string
		dst  *[]string
	}{
		{"grant_types", p.GrantTypes, &c.GrantTypes}, {"redirect_uris", p.RedirectURIs, &c.RedirectURIs},
		{"roles", p.Roles, &c.Roles}, {"scopes", p.Scopes, &c.Scopes},
	}
	for _, l := range lists {
		if l.to != nil && !slices.Equal(*l.to, *l.dst) {
			*l.dst = slices.Clone(*l.to)
			changed = append(changed, l.attr)
		}
	}
	if p.RequirePKCE != nil && *p.RequirePKCE != c.RequirePKCE && !c.Public() {
		c.RequirePKCE = *p.RequirePKCE
		changed = append(changed, "require_pkce")
	}
	ttls := []struct {
		attr string
		to   **int
		dst  **int
	}{
		{"access_token_ttl", p.AccessTokenTTL, &c.AccessTokenTTL}, {"refresh_token_ttl", p.RefreshTokenTTL, &c.RefreshTokenTTL},
	}
	for _, t := range ttls {
		if t.to != nil && !sameTTL(*t.to, *t.dst) {
			*t.dst = *t.to
			changed = append(changed, t.attr)
		}
	}
	return changed
}

func sameTTL(a, b *int) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

// Delete removes a client, its secrets and its grants. Every token it
// issued stops working, because validation finds no client. The acting
// member (may) must hold everything the client can do.
func (s *Service) Delete(ctx context.Context, tenantID, id uuid.UUID, may policy.Allowance) error {
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		c, err := s.store.get(ctx, tenantID, id, true)
		if err != nil {
			return err
		}
		if err := s.mayActOn(c, may); err != nil {
			return err
		}
		if err := s.store.delete(ctx, tenantID, id); err != nil {
			return err
		}
		return s.audit.Record(ctx, tenantID, "api_client.delete", resourceType, id.String(),
			map[string]any{"client_id": c.ClientID, "name": c.Name})
	})
	if err != nil {
		return fmt.Errorf("delete api client: %w", err)
	}
	return nil
}

// RevokeTokens makes every token the client has issued so far invalid
// (tokens_valid_after = now, and its grants revoked) but keeps the client.
// The acting member (may) must hold everything the client can do.
func (s *Service) RevokeTokens(ctx context.Context, tenantID, id uuid.UUID, may policy.Allowance) error {
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		c, err := s.store.get(ctx, tenantID, id, true)
		if err != nil {
			return err
		}
		if err := s.mayActOn(c, may); err != nil {
			return err
		}
		if err := s.store.revokeTokens(ctx, tenantID, id); err != nil {
			return err
		}
		return s.audit.Record(ctx, tenantID, "api_client.revoke_tokens", resourceType, id.String(),
			map[string]any{"client_id": c.ClientID})
	})
	if err != nil {
		return fmt.Errorf("revoke api client tokens: %w", err)
	}
	return nil
}

// Caches are this instance's caches by name, for the metrics: the loaded
// credentials of clients and the secrets bcrypt has verified (their loads
// are bcrypt comparisons).
func (s *Service) Caches() map[string]*bounded.Stats {
	return map[string]*bounded.Stats{"api_client_credentials": s.creds.Stats(), "verified_client_secrets": s.verified.entries.Stats()}
}
