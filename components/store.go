package components

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

// Store keeps components and flows in Postgres.
type Store struct{ db *database.DB }

// NewStore returns a store on db.
func NewStore(db *database.DB) *Store { return &Store{db: db} }

// flowComponent is a row of flow_components.
type flowComponent struct {
	TenantID          uuid.UUID
	FlowID            uuid.UUID
	Position          int
	ComponentTenantID uuid.UUID
	ComponentID       uuid.UUID
}

func (flowComponent) TableName() string { return "flow_components" }

// visibleTo selects the live components a tenant can see: its own and the
// global ones, with what that tenant needs to know about each.
func (s *Store) visibleTo(ctx context.Context, tenantID uuid.UUID) *gorm.DB {
	return s.db.Conn(ctx).Table("components").
		Select(`components.*, components.tenant_id = ? AS owned,
			(NOT components.use_oauth_client OR EXISTS (SELECT 1 FROM oauth_clients oc
				WHERE oc.tenant_id = ? AND oc.component_id = components.id)) AS available`, tenantID, tenantID).
		Where("components.deleted_at IS NULL AND (components.tenant_id = ? OR components.visibility = 'global')", tenantID)
}

// component finds a component visible to the tenant. With lock, the row is
// locked (share) so that a concurrent delete or change waits for us.
func (s *Store) component(ctx context.Context, tenantID, id uuid.UUID, lock bool) (*Component, error) {
	q := s.visibleTo(ctx, tenantID).Where("components.id = ?", id)
	if lock {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthShare, Table: clause.Table{Name: "components"}})
	}
	var c Component
	if err := q.Take(&c).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, ErrComponentNotFound
		}
		return nil, err
	}
	return &c, nil
}

// ownComponentForUpdate locks a component the tenant owns.
func (s *Store) ownComponentForUpdate(ctx context.Context, tenantID, id uuid.UUID) (*Component, error) {
	var c Component
	err := s.db.Conn(ctx).Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
		Where("tenant_id = ? AND id = ? AND deleted_at IS NULL", tenantID, id).Take(&c).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, ErrComponentNotFound
	}
	return &c, err
}

// ComponentSorts are the fields components sort by.
var ComponentSorts = listing.Sorts{"name": "components.name", "created_at": "components.created_at", "updated_at": "components.updated_at"}

func (s *Store) components(ctx context.Context, tenantID uuid.UUID, f Filter, p listing.Params) (listing.Page[Component], error) {
	var out listing.Page[Component]
	q := s.visibleTo(ctx, tenantID)
	if f.Visibility != "" {
		q = q.Where("components.visibility = ?", f.Visibility)
	}
	if err := q.Session(&gorm.Session{}).Select("count(*)").Count(&out.Total).Error; err != nil {
		return out, err
	}
	return out, listing.Find(q, p, listing.Order{Sorts: ComponentSorts, Default: "components.created_at", Tiebreak: "components.id"}, &out)
}

func (s *Store) createComponent(ctx context.Context, c *Component) error {
	return s.db.Conn(ctx).Omit("Owned", "Available").Create(c).Error
}

func (s *Store) saveComponent(ctx context.Context, c *Component) error {
	return s.db.Conn(ctx).Omit("Owned", "Available").Save(c).Error
}

func (s *Store) softDeleteComponent(ctx context.Context, tenantID, id uuid.UUID) error {
	return s.db.Conn(ctx).Table("components").Where("tenant_id = ? AND id = ?", tenantID, id).
		Updates(map[string]any{"deleted_at": time.Now().UTC(), "updated_at": time.Now().UTC()}).Error
}

// flowsUsing lists the tenant's flows that include the component.
func (s *Store) flowsUsing(ctx context.Context, tenantID, componentID uuid.UUID) ([]FlowRef, error) {
	var refs []FlowRef
	err := s.db.Conn(ctx).Table("flows f").Select("f.id, f.name").
		Joins("JOIN flow_components fc ON fc.tenant_id = f.tenant_id AND fc.flow_id = f.id").
		Where("fc.tenant_id = ? AND fc.component_id = ?", tenantID, componentID).
		Order("f.created_at, f.id").Scan(&refs).Error
	return refs, err
}

// otherTenantsUsing counts flows and OAuth clients of other tenants that
// name the component.
func (s *Store) otherTenantsUsing(ctx context.Context, ownerID, componentID uuid.UUID) (int64, error) {
	var n int64
	err := s.db.Conn(ctx).Raw(`SELECT
		(SELECT count(*) FROM flow_components WHERE component_id = ? AND tenant_id <> ?) +
		(SELECT count(*) FROM oauth_clients WHERE component_id = ? AND tenant_id <> ?)`,
		componentID, ownerID, componentID, ownerID).Scan(&n).Error
	return n, err
}

// clientless holds for a flow_components row (fc) whose tenant has no
// OAuth client for the component.
const clientless = `NOT EXISTS (SELECT 1 FROM oauth_clients oc
	WHERE oc.tenant_id = fc.tenant_id AND oc.component_id = fc.component_id)`

// flowsWithoutClient finds the flows that include the component in tenants
// that have no OAuth client for it: the tenant's own by name, others counted.
func (s *Store) flowsWithoutClient(ctx context.Context, tenantID, componentID uuid.UUID) ([]FlowRef, int64, error) {
	var own []FlowRef
	err := s.db.Conn(ctx).Table("flows f").Select("f.id, f.name").
		Joins("JOIN flow_components fc ON fc.tenant_id = f.tenant_id AND fc.flow_id = f.id").
		Where("fc.tenant_id = ? AND fc.component_id = ? AND "+clientless, tenantID, componentID).
		Order("f.created_at, f.id").Scan(&own).Error
	if err != nil {
		return nil, 0, err
	}
	var elsewhere int64
	err = s.db.Conn(ctx).Raw("SELECT count(*) FROM flow_components fc WHERE fc.component_id = ? AND fc.tenant_id <> ? AND "+clientless,
		componentID, tenantID).Scan(&elsewhere).Error
	return own, elsewhere, err
}

func (s *Store) flowsUsingAnywhere(ctx context.Context, componentID uuid.UUID) (int64, error) {
	var n int64
	err := s.db.Conn(ctx).Raw("SELECT count(*) FROM flow_components WHERE component_id = ?", componentID).Scan(&n).Error
	return n, err
}

// lockTenantClient share-locks the tenant's OAuth client for a component,
// if there is one. A flow that includes the component holds this lock until
// it commits, so deleting or moving that client (which locks it for update)
// cannot slip between the flow's check and its insert.
func (s *Store) lockTenantClient(ctx context.Context, tenantID, componentID uuid.UUID) (bool, error) {
	var ids []uuid.UUID
	err := s.db.Conn(ctx).Raw("SELECT id FROM oauth_clients WHERE tenant_id = ? AND component_id = ? FOR SHARE",
		tenantID, componentID).Scan(&ids).Error
	return len(ids) > 0, err
}

// --- flows ---

func (s *Store) flow(ctx context.Context, tenantID, id uuid.UUID, forUpdate bool) (*Flow, error) {
	q := s.db.Conn(ctx).Where("tenant_id = ? AND id = ?", tenantID, id)
	if forUpdate {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	var f Flow
	if err := q.Take(&f).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return nil, ErrFlowNotFound
		}
		return nil, err
	}
	return &f, s.loadFlowComponents(ctx, tenantID, []*Flow{&f})
}

func (s *Store) loadFlowComponents(ctx context.Context, tenantID uuid.UUID, flows []*Flow) error {
	if len(flows) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(flows))
	byID := map[uuid.UUID]*Flow{}
	for i, f := range flows {
		ids[i] = f.ID
		f.ComponentIDs = []uuid.UUID{}
		byID[f.ID] = f
	}
	var rows []flowComponent
	if err := s.db.Conn(ctx).Where("tenant_id = ? AND flow_id IN ?", tenantID, ids).
		Order("flow_id, position").Find(&rows).Error; err != nil {
		return err
	}
	for _, r := range rows {
		byID[r.FlowID].ComponentIDs = append(byID[r.FlowID].ComponentIDs, r.ComponentID)
	}
	return nil
}

// FlowSorts are the fields flows sort by.
var FlowSorts = listing.Sorts{"name": "name", "created_at": "created_at", "updated_at": "updated_at"}

func (s *Store) flows(ctx context.Context, tenantID uuid.UUID, f FlowFilter, p listing.Params) (listing.Page[Flow], error) {
	var out listing.Page[Flow]
	q := s.db.Conn(ctx).Model(&Flow{}).Where("tenant_id = ?", tenantID)
	if f.ComponentID != nil {
		q = q.Where("id IN (SELECT flow_id FROM flow_components WHERE tenant_id = ? AND component_id = ?)", tenantID, *f.ComponentID)
	}
	if err := q.Count(&out.Total).Error; err != nil {
		return out, err
	}
	if err := listing.Find(q, p, listing.Order{Sorts: FlowSorts, Default: "created_at", Tiebreak: "id"}, &out); err != nil {
		return out, err
	}
	ptrs := make([]*Flow, len(out.Items))
	for i := range out.Items {
		ptrs[i] = &out.Items[i]
	}
	return out, s.loadFlowComponents(ctx, tenantID, ptrs)
}

func (s *Store) createFlow(ctx context.Context, f *Flow) error {
	return s.db.Conn(ctx).Create(f).Error
}

func (s *Store) saveFlow(ctx context.Context, f *Flow) error {
	return s.db.Conn(ctx).Save(f).Error
}

// setFlowComponents replaces a flow's component list.
func (s *Store) setFlowComponents(ctx context.Context, f *Flow, comps []*Component) error {
	db := s.db.Conn(ctx)
	if err := db.Where("tenant_id = ? AND flow_id = ?", f.TenantID, f.ID).Delete(&flowComponent{}).Error; err != nil {
		return err
	}
	if len(comps) == 0 {
		return nil
	}
	rows := make([]flowComponent, len(comps))
	for i, c := range comps {
		rows[i] = flowComponent{TenantID: f.TenantID, FlowID: f.ID, Position: i, ComponentTenantID: c.TenantID, ComponentID: c.ID}
	}
	return db.Create(&rows).Error
}

func (s *Store) deleteFlow(ctx context.Context, tenantID, id uuid.UUID) error {
	res := s.db.Conn(ctx).Where("tenant_id = ? AND id = ?", tenantID, id).Delete(&Flow{})
	if res.Error == nil && res.RowsAffected == 0 {
		return ErrFlowNotFound
	}
	return res.Error
}
