package components

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/fault"
	"github.com/oauthd/oauthd/internal/listing"
	"github.com/oauthd/oauthd/policy"
	"github.com/oauthd/oauthd/tenants"
)

// maxFlowComponents bounds a flow's length.
const maxFlowComponents = 100

// Transactor runs a function in one database transaction carried by ctx.
type Transactor interface {
	InTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// Recorder writes audit events in the caller's transaction.
type Recorder interface {
	Record(ctx context.Context, tenantID uuid.UUID, action, resourceType, resourceID string, details map[string]any) error
}

// Service applies the rules for components and flows.
type Service struct {
	tx    Transactor
	store *Store
	audit Recorder
}

// NewService wires the service.
func NewService(tx Transactor, store *Store, audit Recorder) *Service {
	return &Service{tx: tx, store: store, audit: audit}
}

func validateVisibility(ps *fault.Problems, v string, superuser bool) {
	switch v {
	case VisibilityTenant:
	case VisibilityGlobal:
		if !superuser {
			ps.Add(ErrGlobalNeedsSuper)
		}
	default:
		ps.Add(fault.InvalidAttribute("visibility", "invalid_visibility", `visibility must be "tenant" or "global"`))
	}
}

// CreateComponent adds a component owned by the tenant. Only a superuser
// may create a global one.
func (s *Service) CreateComponent(ctx context.Context, tenantID uuid.UUID, superuser bool, in NewComponent) (*Component, error) {
	if in.Visibility == "" {
		in.Visibility = VisibilityTenant
	}
	if len(in.Descriptor) == 0 {
		in.Descriptor = json.RawMessage("{}")
	}
	var ps fault.Problems
	tenants.ValidateName(&ps, "name", in.Name)
	validateVisibility(&ps, in.Visibility, superuser)
	d, dps := ParseDescriptor(in.Descriptor, in.Visibility == VisibilityGlobal)
	ps = append(ps, dps...)
	if err := ps.Err(); err != nil {
		return nil, err
	}
	c := &Component{TenantID: tenantID, ID: uuid.New(), Name: in.Name, Visibility: in.Visibility,
		Descriptor: in.Descriptor, UseOAuthClient: d.UseOAuthClient, Owned: true}
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.createComponent(ctx, c); err != nil {
			return err
		}
		return s.audit.Record(ctx, tenantID, "component.create", "component", c.ID.String(),
			map[string]any{"name": c.Name, "visibility": c.Visibility})
	})
	if err != nil {
		return nil, fmt.Errorf("create component: %w", err)
	}
	return s.store.component(ctx, tenantID, c.ID, false)
}

// Component finds a component the tenant can see.
func (s *Service) Component(ctx context.Context, tenantID, id uuid.UUID) (*Component, error) {
	return s.store.component(ctx, tenantID, id, false)
}

// Components lists the tenant's own components and the global ones.
func (s *Service) Components(ctx context.Context, tenantID uuid.UUID, f Filter, p listing.Params) (listing.Page[Component], error) {
	page, err := s.store.components(ctx, tenantID, f, p)
	if err != nil {
		return page, fmt.Errorf("list components: %w", err)
	}
	return page, nil
}

// ownForChange locks a component the tenant owns; one it can only see is
// 403, one it cannot see is 404.
func (s *Service) ownForChange(ctx context.Context, tenantID, id uuid.UUID) (*Component, error) {
	c, err := s.store.ownComponentForUpdate(ctx, tenantID, id)
	if errors.Is(err, ErrComponentNotFound) {
		if _, visErr := s.store.component(ctx, tenantID, id, false); visErr == nil {
			return nil, ErrNotOwned
		}
	}
	return c, err
}

// endpoints are where a descriptor sends the browser and oauthd's token
// requests ("" without them: naming them the first time moves nothing, as
// no connection can have been made without them).
func endpoints(b *OAuth2Block) string {
	if b == nil || b.AuthURI == "" && b.TokenURI == "" {
		return ""
	}
	return b.AuthURI + "\n" + b.TokenURI + "\n" + b.RefreshURI()
}

// mayMoveEndpoints adds ErrEndpointsExceedOwn unless may covers reading the
// OAuth client's secret and the connections' tokens.
func mayMoveEndpoints(ps *fault.Problems, may policy.Allowance) error {
	if may == nil {
		return nil
	}
	for _, perm := range []string{policy.OAuthClientsRevealSecret, policy.ConnectionsToken} {
		ok, err := may(perm)
		if err != nil {
			return err
		}
		if !ok {
			ps.Add(ErrEndpointsExceedOwn)
			return nil
		}
	}
	return nil
}

// sameJSON reports whether two JSON texts hold the same value (the stored
// descriptor comes back from jsonb with its keys reordered).
func sameJSON(a, b json.RawMessage) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// UpdateComponent changes a component the tenant owns. Only a superuser
// changes a global component's descriptor (ErrGlobalDescriptorNeedsSuper).
//
// may is the caller's rights in the tenant (nil: no limit). Moving the
// provider's endpoints (auth_uri, token_uri, refresh_token_uri) is moving
// where the tenant's OAuth client secret and its connections' refresh
// tokens are sent, so it takes a member who may read both
// (ErrEndpointsExceedOwn).
func (s *Service) UpdateComponent(ctx context.Context, tenantID uuid.UUID, superuser bool, id uuid.UUID, patch ComponentPatch, may policy.Allowance) (*Component, error) {
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		c, err := s.ownForChange(ctx, tenantID, id)
		if err != nil {
			return err
		}
		before, _ := ParseDescriptor(c.Descriptor, c.Visibility == VisibilityGlobal)
		var ps fault.Problems
		if c.Visibility == VisibilityGlobal && !superuser && patch.Descriptor != nil && !sameJSON(patch.Descriptor, c.Descriptor) {
			// Its provider endpoints are where other tenants' secrets go.
			ps.Add(ErrGlobalDescriptorNeedsSuper)
		}
		if patch.Name != nil {
			tenants.ValidateName(&ps, "name", *patch.Name)
			c.Name = *patch.Name
		}
		if patch.Visibility != nil && *patch.Visibility != c.Visibility {
			validateVisibility(&ps, *patch.Visibility, superuser)
			if *patch.Visibility == VisibilityTenant && len(ps) == 0 {
				n, err := s.store.otherTenantsUsing(ctx, tenantID, id)
				if err != nil {
					return err
				}
				if n > 0 {
					ps.Add(&fault.Problem{Kind: fault.Conflict, Code: "component_shared", Attribute: "visibility",
						Detail: fmt.Sprintf("other tenants use this component (%d flows or OAuth clients); it must stay global", n)})
				}
			}
			c.Visibility = *patch.Visibility
		}
		if patch.Descriptor != nil {
			c.Descriptor = patch.Descriptor
		}
		d, dps := ParseDescriptor(c.Descriptor, c.Visibility == VisibilityGlobal)
		ps = append(ps, dps...)
		if len(dps) == 0 && endpoints(before.OAuth2) != "" && endpoints(before.OAuth2) != endpoints(d.OAuth2) {
			if err := mayMoveEndpoints(&ps, may); err != nil {
				return err
			}
		}
		if err := ps.Err(); err != nil {
			return err
		}
		if d.UseOAuthClient && !c.UseOAuthClient {
			if err := s.refuseClientlessFlows(ctx, tenantID, id); err != nil {
				return err
			}
		}
		c.UseOAuthClient, c.UpdatedAt = d.UseOAuthClient, time.Now().UTC()
		if err := s.store.saveComponent(ctx, c); err != nil {
			return err
		}
		return s.audit.Record(ctx, tenantID, "component.update", "component", id.String(),
			map[string]any{"name": c.Name, "visibility": c.Visibility})
	})
	if err != nil {
		return nil, fmt.Errorf("update component: %w", err)
	}
	return s.store.component(ctx, tenantID, id, false)
}

// refuseClientlessFlows is the 409 for turning useOAuthClient on while a
// flow of a tenant that has no OAuth client for the component includes it.
// The caller holds the component's row lock, which a flow takes (share)
// before it adds the component, so no flow can slip in meanwhile; a client
// that flows need cannot be deleted or moved away, so none goes either.
func (s *Service) refuseClientlessFlows(ctx context.Context, tenantID, id uuid.UUID) error {
	own, elsewhere, err := s.store.flowsWithoutClient(ctx, tenantID, id)
	if err != nil {
		return err
	}
	if len(own) == 0 && elsewhere == 0 {
		return nil
	}
	return inUse(ErrClientlessFlows, own, elsewhere,
		"those tenants have no OAuth client for it, so it cannot require one yet: remove it from those flows first, then define the OAuth clients and add it back")
}

// DeleteComponent removes a component the tenant owns. Its OAuth clients
// stay (unusable) so they can still be read and deleted; flows must let go
// of it first, which the row lock makes atomic with the check.
func (s *Service) DeleteComponent(ctx context.Context, tenantID, id uuid.UUID) error {
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.ownForChange(ctx, tenantID, id); err != nil {
			return err
		}
		own, err := s.store.flowsUsing(ctx, tenantID, id)
		if err != nil {
			return err
		}
		total, err := s.store.flowsUsingAnywhere(ctx, id)
		if err != nil {
			return err
		}
		if total > 0 {
			return inUse(ErrComponentInUse, own, total-int64(len(own)), "remove it from those flows first")
		}
		if err := s.store.softDeleteComponent(ctx, tenantID, id); err != nil {
			return err
		}
		return s.audit.Record(ctx, tenantID, "component.delete", "component", id.String(), nil)
	})
	if err != nil {
		return fmt.Errorf("delete component: %w", err)
	}
	return nil
}

// inUse builds the 409 that names the flows in the way.
func inUse(base *fault.Problem, flows []FlowRef, elsewhere int64, remedy string) *fault.Problem {
	names := make([]string, len(flows))
	for i, f := range flows {
		names[i] = fmt.Sprintf("%q (%s)", f.Name, f.ID)
	}
	detail := "the component is in use by flows in this tenant: " + strings.Join(names, ", ")
	if len(flows) == 0 {
		detail = "the component is in use by flows"
	}
	if elsewhere > 0 {
		detail += fmt.Sprintf("; and by %d flows in other tenants", elsewhere)
	}
	p := base.With(detail + "; " + remedy)
	if flows == nil {
		flows = []FlowRef{}
	}
	p.Meta = map[string]any{"flows": flows}
	if elsewhere > 0 {
		p.Meta["flows_in_other_tenants"] = elsewhere
	}
	return p
}

// LockVisible finds a live component the tenant can see and share-locks it
// until the caller's transaction ends.
func (s *Service) LockVisible(ctx context.Context, tenantID, id uuid.UUID) (*Component, error) {
	return s.store.component(ctx, tenantID, id, true)
}

// FlowsUsing lists the tenant's flows that include a component.
func (s *Service) FlowsUsing(ctx context.Context, tenantID, componentID uuid.UUID) ([]FlowRef, error) {
	return s.store.flowsUsing(ctx, tenantID, componentID)
}

// resolveFlowComponents checks a flow's component list: each id must name
// a live component the tenant can see, at most once, and a component that
// needs an OAuth client needs the tenant's own client first. It share-locks
// each component and each such client, so deleting either waits for us.
func (s *Service) resolveFlowComponents(ctx context.Context, tenantID uuid.UUID, ids []string) ([]*Component, fault.Problems, error) {
	var ps fault.Problems
	if len(ids) > maxFlowComponents {
		ps.Add(fault.InvalidRelationship("components/", "too_many", fmt.Sprintf("a flow holds at most %d components", maxFlowComponents)))
		return nil, ps, nil
	}
	seen := map[uuid.UUID]bool{}
	comps := make([]*Component, 0, len(ids))
	for i, raw := range ids {
		rel := "components/" + strconv.Itoa(i)
		id, err := uuid.Parse(raw)
		if err != nil || len(raw) != 36 {
			ps.Add(fault.InvalidRelationship(rel, "component_not_found", fmt.Sprintf("no component %q in this tenant", raw)))
			continue
		}
		if seen[id] {
			ps.Add(fault.InvalidRelationship(rel, "duplicate_component", fmt.Sprintf("component %s is listed twice", id)))
			continue
		}
		seen[id] = true
		c, err := s.store.component(ctx, tenantID, id, true)
		if err != nil {
			if !errors.Is(err, ErrComponentNotFound) {
				return nil, nil, err
			}
			ps.Add(fault.InvalidRelationship(rel, "component_not_found", fmt.Sprintf("no component %s in this tenant", id)))
			continue
		}
		hasClient, err := s.store.lockTenantClient(ctx, tenantID, id)
		if err != nil {
			return nil, nil, err
		}
		if c.UseOAuthClient && !hasClient {
			ps.Add(fault.InvalidRelationship(rel, "oauth_client_required", fmt.Sprintf(
				"component %s (%s) uses an OAuth client and this tenant has none for it; create one at /v2/tenants/%s/oauth-clients first",
				c.Name, c.ID, tenantID)))
			continue
		}
		comps = append(comps, c)
	}
	return comps, ps, nil
}

// CreateFlow adds a flow.
func (s *Service) CreateFlow(ctx context.Context, tenantID uuid.UUID, in NewFlow) (*Flow, error) {
	f := &Flow{TenantID: tenantID, ID: uuid.New(), Name: in.Name}
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		var ps fault.Problems
		tenants.ValidateName(&ps, "name", in.Name)
		comps, cps, err := s.resolveFlowComponents(ctx, tenantID, in.ComponentIDs)
		if err != nil {
			return err
		}
		ps = append(ps, cps...)
		if err := ps.Err(); err != nil {
			return err
		}
		if err := s.store.createFlow(ctx, f); err != nil {
			return err
		}
		if err := s.store.setFlowComponents(ctx, f, comps); err != nil {
			return err
		}
		return s.audit.Record(ctx, tenantID, "flow.create", "flow", f.ID.String(), map[string]any{"name": f.Name})
	})
	if err != nil {
		return nil, fmt.Errorf("create flow: %w", err)
	}
	return s.store.flow(ctx, tenantID, f.ID, false)
}

// Flow finds a flow.
func (s *Service) Flow(ctx context.Context, tenantID, id uuid.UUID) (*Flow, error) {
	return s.store.flow(ctx, tenantID, id, false)
}

// Flows lists the tenant's flows.
func (s *Service) Flows(ctx context.Context, tenantID uuid.UUID, f FlowFilter, p listing.Params) (listing.Page[Flow], error) {
	page, err := s.store.flows(ctx, tenantID, f, p)
	if err != nil {
		return page, fmt.Errorf("list flows: %w", err)
	}
	return page, nil
}

// UpdateFlow renames a flow or replaces its components.
func (s *Service) UpdateFlow(ctx context.Context, tenantID, id uuid.UUID, patch FlowPatch) (*Flow, error) {
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		f, err := s.store.flow(ctx, tenantID, id, true)
		if err != nil {
			return err
		}
		var ps fault.Problems
		if patch.Name != nil {
			tenants.ValidateName(&ps, "name", *patch.Name)
			f.Name = *patch.Name
		}
		var comps []*Component
		if patch.ComponentIDs != nil {
			var cps fault.Problems
			comps, cps, err = s.resolveFlowComponents(ctx, tenantID, *patch.ComponentIDs)
			if err != nil {
				return err
			}
			ps = append(ps, cps...)
		}
		if err := ps.Err(); err != nil {
			return err
		}
		f.UpdatedAt = time.Now().UTC()
		if err := s.store.saveFlow(ctx, f); err != nil {
			return err
		}
		if patch.ComponentIDs != nil {
			if err := s.store.setFlowComponents(ctx, f, comps); err != nil {
				return err
			}
		}
		return s.audit.Record(ctx, tenantID, "flow.update", "flow", id.String(), map[string]any{"name": f.Name})
	})
	if err != nil {
		return nil, fmt.Errorf("update flow: %w", err)
	}
	return s.store.flow(ctx, tenantID, id, false)
}

// DeleteFlow removes a flow.
func (s *Service) DeleteFlow(ctx context.Context, tenantID, id uuid.UUID) error {
	err := s.tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.store.deleteFlow(ctx, tenantID, id); err != nil {
			return err
		}
		return s.audit.Record(ctx, tenantID, "flow.delete", "flow", id.String(), nil)
	})
	if err != nil {
		return fmt.Errorf("delete flow: %w", err)
	}
	return nil
}
