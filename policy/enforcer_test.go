package policy_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/testdb"
	"github.com/oauthd/oauthd/policy"
)

// idOpen opens a fresh migrated database (a clone of the migrated
// template) and returns its URL and pool.
func idOpen(t *testing.T) (string, *database.DB) {
	t.Helper()
	url := testdb.New(t)
	return url, idPool(t, url)
}

func idPool(t *testing.T, url string) *database.DB {
	t.Helper()
	db, err := database.Open(url, database.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func idEnforcer(t *testing.T, db *database.DB) *policy.Enforcer {
	t.Helper()
	e, err := policy.NewEnforcer(db)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// idGrant writes grants the way the services do: in a transaction, then Sync.
func idGrant(t *testing.T, db *database.DB, e *policy.Enforcer, tenantID, userID uuid.UUID, g policy.Grants) {
	t.Helper()
	err := db.InTx(context.Background(), func(ctx context.Context) error {
		return e.SetGrants(ctx, tenantID, userID, g)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Sync(); err != nil {
		t.Fatal(err)
	}
}

func idAllowed(t *testing.T, e *policy.Enforcer, userID, tenantID uuid.UUID, perm string) bool {
	t.Helper()
	ok, err := e.Allowed(userID, tenantID, perm)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestEnforcerRolesAndGrants(t *testing.T) {
	_, db := idOpen(t)
	e := idEnforcer(t, db)
	tenantA, tenantB := uuid.New(), uuid.New()
	owner, viewer, direct, nobody := uuid.New(), uuid.New(), uuid.New(), uuid.New()

	if roles := e.Roles(); !slices.Equal(roles, []string{"admin", "developer", "owner", "platform", "viewer"}) {
		t.Errorf("Roles() = %v", roles)
	}

	idGrant(t, db, e, tenantA, owner, policy.Grants{Roles: []string{"owner"}})
	idGrant(t, db, e, tenantA, viewer, policy.Grants{Roles: []string{"viewer"}})
	idGrant(t, db, e, tenantA, direct, policy.Grants{Permissions: []string{"tenants.oauth_clients.get", "tenants.flows.*"}})

	for _, perm := range policy.Catalogue {
		if !idAllowed(t, e, owner, tenantA, perm) {
			t.Errorf("owner lacks %s", perm)
		}
		wantViewer := slices.Contains([]string{"tenants.oauth_clients.get", "tenants.components.get", "tenants.flows.get",
			"tenants.api_clients.get", "tenants.members.get", "tenants.connections.get"}, perm)
		if got := idAllowed(t, e, viewer, tenantA, perm); got != wantViewer {
			t.Errorf("viewer %s = %v, want %v", perm, got, wantViewer)
		}
		wantDirect := perm == "tenants.oauth_clients.get" || policy.Matches("tenants.flows.*", perm)
		if got := idAllowed(t, e, direct, tenantA, perm); got != wantDirect {
			t.Errorf("direct grant %s = %v, want %v", perm, got, wantDirect)
		}
		// Grants in tenant A mean nothing in tenant B.
		for _, u := range []uuid.UUID{owner, viewer, direct, nobody} {
			if idAllowed(t, e, u, tenantB, perm) {
				t.Errorf("user %s holds %s in a tenant where they have no grants", u, perm)
			}
		}
		if idAllowed(t, e, nobody, tenantA, perm) {
			t.Errorf("user without grants holds %s", perm)
		}
	}
	// A user who is owner in B and viewer in A is only a viewer in A.
	idGrant(t, db, e, tenantB, viewer, policy.Grants{Roles: []string{"owner"}})
	if idAllowed(t, e, viewer, tenantA, policy.OAuthClientsDelete) || !idAllowed(t, e, viewer, tenantB, policy.OAuthClientsDelete) {
		t.Error("grants leak between tenants")
	}

	if !e.RoleAllows("platform", policy.OAuthClientsRevealSecret) || e.RoleAllows("admin", policy.OAuthClientsRevealSecret) ||
		!e.RoleAllows("owner", policy.AuditGet) || e.RoleAllows("nonexistent", policy.OAuthClientsGet) {
		t.Error("RoleAllows disagrees with the role definitions")
	}

	got, err := e.GrantsOf(context.Background(), tenantA, []uuid.UUID{owner, viewer, direct, nobody})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got[owner].Roles, []string{"owner"}) || !slices.Equal(got[viewer].Roles, []string{"viewer"}) ||
		!slices.Equal(got[direct].Permissions, []string{"tenants.flows.*", "tenants.oauth_clients.get"}) ||
		len(got[nobody].Roles)+len(got[nobody].Permissions) != 0 || got[nobody].Roles == nil {
		t.Errorf("GrantsOf = %+v", got)
	}

	// SetGrants replaces; ClearGrants removes, in that tenant only.
	idGrant(t, db, e, tenantA, owner, policy.Grants{Roles: []string{"viewer"}})
	if idAllowed(t, e, owner, tenantA, policy.OAuthClientsCreate) || !idAllowed(t, e, owner, tenantA, policy.OAuthClientsGet) {
		t.Error("SetGrants did not replace the role")
	}
	if err := e.ClearGrants(context.Background(), tenantB, viewer); err != nil {
		t.Fatal(err)
	}
	if err := e.Sync(); err != nil {
		t.Fatal(err)
	}
	if idAllowed(t, e, viewer, tenantB, policy.OAuthClientsGet) || !idAllowed(t, e, viewer, tenantA, policy.OAuthClientsGet) {
		t.Error("ClearGrants cleared the wrong tenant")
	}
}

// A grant written in a transaction that rolls back leaves no trace.
func TestEnforcerRolledBackGrantIsNotApplied(t *testing.T) {
	_, db := idOpen(t)
	e := idEnforcer(t, db)
	tenant, user := uuid.New(), uuid.New()
	_ = db.InTx(context.Background(), func(ctx context.Context) error {
		if err := e.SetGrants(ctx, tenant, user, policy.Grants{Roles: []string{"owner"}}); err != nil {
			t.Fatal(err)
		}
		return context.Canceled // roll back
	})
	if err := e.Sync(); err != nil {
		t.Fatal(err)
	}
	if idAllowed(t, e, user, tenant, policy.OAuthClientsGet) {
		t.Error("a rolled-back grant is in force")
	}
}

// Two instances on one database: what one writes, the other (watching)
// applies without being told directly.
func TestEnforcerWatchSeesOtherInstancesChanges(t *testing.T) {
	url, db1 := idOpen(t)
	db2 := idPool(t, url)
	writer, watcher := idEnforcer(t, db1), idEnforcer(t, db2)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		watcher.Watch(ctx, url, slog.New(slog.NewTextHandler(io.Discard, nil)))
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	tenant, user := uuid.New(), uuid.New()

	waitFor := func(want bool, what string) {
		t.Helper()
		apitest.Eventually(t, 5*time.Second, func() error {
			if idAllowed(t, watcher, user, tenant, policy.OAuthClientsEdit) != want {
				return fmt.Errorf("the watching instance does not see %s", what)
			}
			return nil
		})
	}

	idGrant(t, db1, writer, tenant, user, policy.Grants{Roles: []string{"admin"}})
	if !idAllowed(t, writer, user, tenant, policy.OAuthClientsEdit) {
		t.Fatal("the writing instance does not see its own grant after Sync")
	}
	waitFor(true, "the grant")

	idGrant(t, db1, writer, tenant, user, policy.Grants{Roles: []string{"viewer"}})
	waitFor(false, "the downgrade")
	if !idAllowed(t, watcher, user, tenant, policy.OAuthClientsGet) {
		t.Error("watcher lost the viewer role")
	}
}

// The connection permissions: owner all; admin all but the token; the
// platform backend reads, connects and takes tokens; viewer reads.
func TestEnforcerConnectionRoles(t *testing.T) {
	_, db := idOpen(t)
	e := idEnforcer(t, db)
	tenant := uuid.New()
	want := map[string][]string{
		"owner":     {policy.ConnectionsGet, policy.ConnectionsCreate, policy.ConnectionsEdit, policy.ConnectionsDelete, policy.ConnectionsToken},
		"admin":     {policy.ConnectionsGet, policy.ConnectionsCreate, policy.ConnectionsEdit, policy.ConnectionsDelete},
		"platform":  {policy.ConnectionsGet, policy.ConnectionsCreate, policy.ConnectionsToken},
		"viewer":    {policy.ConnectionsGet},
		"developer": {},
	}
	all := []string{policy.ConnectionsGet, policy.ConnectionsCreate, policy.ConnectionsEdit, policy.ConnectionsDelete, policy.ConnectionsToken}
	for role, perms := range want {
		u := uuid.New()
		idGrant(t, db, e, tenant, u, policy.Grants{Roles: []string{role}})
		for _, perm := range all {
			if got := idAllowed(t, e, u, tenant, perm); got != slices.Contains(perms, perm) {
				t.Errorf("%s %s = %v", role, perm, got)
			}
		}
	}
}
