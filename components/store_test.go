package components

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/audit"
	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/fault"
	"github.com/oauthd/oauthd/internal/listing"
	"github.com/oauthd/oauthd/internal/testdb"
)

// cfSetup opens a fresh database with two tenants.
func cfSetup(t *testing.T) (*database.DB, *Service, uuid.UUID, uuid.UUID) {
	t.Helper()
	db := testdb.Open(t)
	ctx := context.Background()
	a, b := uuid.New(), uuid.New()
	for i, id := range []uuid.UUID{a, b} {
		if err := db.Conn(ctx).Exec("INSERT INTO tenants (id, name) VALUES (?, ?)", id, []string{"a", "b"}[i]).Error; err != nil {
			t.Fatal(err)
		}
	}
	return db, NewService(db, NewStore(db), audit.NewLog(db)), a, b
}

func cfExpect(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

func TestStoreComponentsAreScopedByTenant(t *testing.T) {
	db, svc, a, b := cfSetup(t)
	ctx := context.Background()
	comp, err := svc.CreateComponent(ctx, a, false, NewComponent{Name: "private", Descriptor: json.RawMessage(`{"envVars":{}}`)})
	if err != nil {
		t.Fatal(err)
	}

	_, err = svc.Component(ctx, b, comp.ID)
	cfExpect(t, "get from B", err, ErrComponentNotFound)
	_, err = svc.store.ownComponentForUpdate(ctx, b, comp.ID)
	cfExpect(t, "lock from B", err, ErrComponentNotFound)
	_, err = svc.LockVisible(ctx, b, comp.ID)
	cfExpect(t, "LockVisible from B", err, ErrComponentNotFound)
	page, err := svc.Components(ctx, b, Filter{}, listing.Default())
	if err != nil || page.Total != 0 || len(page.Items) != 0 {
		t.Errorf("B's list = %d items, total %d, err %v", len(page.Items), page.Total, err)
	}
	name := "stolen"
	_, err = svc.UpdateComponent(ctx, b, true, comp.ID, ComponentPatch{Name: &name}, nil)
	cfExpect(t, "update from B", err, ErrComponentNotFound)
	cfExpect(t, "delete from B", svc.DeleteComponent(ctx, b, comp.ID), ErrComponentNotFound)

	got, err := svc.Component(ctx, a, comp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "private" || got.DeletedAt != nil || !got.Owned || got.TenantID != a {
		t.Errorf("A's component after B's attempts: %+v", got)
	}
	var events int64
	if err := db.Conn(ctx).Raw("SELECT count(*) FROM audit_events WHERE tenant_id = ?", b).Scan(&events).Error; err != nil {
		t.Fatal(err)
	}
	if events != 0 {
		t.Errorf("B's failed attempts left %d audit events", events)
	}
}

func TestStoreGlobalComponentIsReadOnlyToOtherTenants(t *testing.T) {
	_, svc, a, b := cfSetup(t)
	ctx := context.Background()
	comp, err := svc.CreateComponent(ctx, a, true, NewComponent{Name: "shared", Visibility: VisibilityGlobal})
	if err != nil {
		t.Fatal(err)
	}
	seen, err := svc.Component(ctx, b, comp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if seen.Owned || !seen.Available {
		t.Errorf("B's view: owned=%v available=%v", seen.Owned, seen.Available)
	}
	name := "mine"
	_, err = svc.UpdateComponent(ctx, b, true, comp.ID, ComponentPatch{Name: &name}, nil)
	cfExpect(t, "update from B", err, ErrNotOwned)
	cfExpect(t, "delete from B", svc.DeleteComponent(ctx, b, comp.ID), ErrNotOwned)
	if got, _ := svc.Component(ctx, a, comp.ID); got == nil || got.Name != "shared" {
		t.Errorf("A's component after B's attempts: %+v", got)
	}
	// Private to A again: gone for B.
	vis := VisibilityTenant
	if _, err := svc.UpdateComponent(ctx, a, true, comp.ID, ComponentPatch{Visibility: &vis}, nil); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Component(ctx, b, comp.ID)
	cfExpect(t, "get from B after un-sharing", err, ErrComponentNotFound)
}

func TestStoreFlowsAreScopedByTenant(t *testing.T) {
	db, svc, a, b := cfSetup(t)
	ctx := context.Background()
	comp, err := svc.CreateComponent(ctx, a, false, NewComponent{Name: "c"})
	if err != nil {
		t.Fatal(err)
	}
	flow, err := svc.CreateFlow(ctx, a, NewFlow{Name: "f", ComponentIDs: []string{comp.ID.String()}})
	if err != nil {
		t.Fatal(err)
	}

	_, err = svc.Flow(ctx, b, flow.ID)
	cfExpect(t, "get from B", err, ErrFlowNotFound)
	for _, f := range []FlowFilter{{}, {ComponentID: &comp.ID}} {
		page, err := svc.Flows(ctx, b, f, listing.Default())
		if err != nil || page.Total != 0 || len(page.Items) != 0 {
			t.Errorf("B's list %+v = %d items, total %d, err %v", f, len(page.Items), page.Total, err)
		}
	}
	refs, err := svc.FlowsUsing(ctx, b, comp.ID)
	if err != nil || len(refs) != 0 {
		t.Errorf("B's flows using A's component = %v, %v", refs, err)
	}
	name := "stolen"
	_, err = svc.UpdateFlow(ctx, b, flow.ID, FlowPatch{Name: &name, ComponentIDs: &[]string{}})
	cfExpect(t, "update from B", err, ErrFlowNotFound)
	cfExpect(t, "delete from B", svc.DeleteFlow(ctx, b, flow.ID), ErrFlowNotFound)
	// B cannot put A's private component in a flow of its own.
	_, err = svc.CreateFlow(ctx, b, NewFlow{Name: "g", ComponentIDs: []string{comp.ID.String()}})
	if ps, ok := fault.List(err); !ok || len(ps) != 1 || ps[0].Code != "component_not_found" {
		t.Errorf("B's flow over A's private component: %v", err)
	}

	got, err := svc.Flow(ctx, a, flow.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "f" || len(got.ComponentIDs) != 1 || got.ComponentIDs[0] != comp.ID {
		t.Errorf("A's flow after B's attempts: %+v", got)
	}
	var n int64
	if err := db.Conn(ctx).Raw("SELECT count(*) FROM flows WHERE tenant_id = ?", b).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("B has %d flows", n)
	}
}
