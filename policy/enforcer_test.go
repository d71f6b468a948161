package policy_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"

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

func idExec(t *testing.T, db *database.DB, sql string, args ...any) {
	t.Helper()
	if err := db.Conn(context.Background()).Exec(sql, args...).Error; err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// idTenant and idMember make the rows grants hang on: a tenant, and a
// user who is its member.
func idTenant(t *testing.T, db *database.DB) uuid.UUID {
	t.Helper()
	id := uuid.New()
	idExec(t, db, "INSERT INTO tenants (id, name) VALUES (?, ?)", id, "t-"+id.String())
	return id
}

func idMember(t *testing.T, db *database.DB, tenantID uuid.UUID) uuid.UUID {
	t.Helper()
	id := uuid.New()
	idExec(t, db, "INSERT INTO users (id, email) VALUES (?, ?) ON CONFLICT DO NOTHING", id, id.String()+"@example.test")
	idJoin(t, db, tenantID, id)
	return id
}

func idJoin(t *testing.T, db *database.DB, tenantID, userID uuid.UUID) {
	t.Helper()
	idExec(t, db, "INSERT INTO memberships (tenant_id, user_id) VALUES (?, ?)", tenantID, userID)
}

// idOneMember is a fresh database with an enforcer, a tenant and a member.
func idOneMember(t *testing.T) (*database.DB, *policy.Enforcer, uuid.UUID, uuid.UUID) {
	t.Helper()
	_, db := idOpen(t)
	tenant := idTenant(t, db)
	return db, idEnforcer(t, db), tenant, idMember(t, db, tenant)
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
	idSync(t, e)
}

func idSync(t *testing.T, e *policy.Enforcer) {
	t.Helper()
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
	tenantA, tenantB := idTenant(t, db), idTenant(t, db)
	owner, viewer, direct, nobody := idMember(t, db, tenantA), idMember(t, db, tenantA), idMember(t, db, tenantA), idMember(t, db, tenantA)

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
	idJoin(t, db, tenantB, viewer)
	idGrant(t, db, e, tenantB, viewer, policy.Grants{Roles: []string{"owner"}})
	if idAllowed(t, e, viewer, tenantA, policy.OAuthClientsDelete) || !idAllowed(t, e, viewer, tenantB, policy.OAuthClientsDelete) {
		t.Error("grants leak between tenants")
	}
	// A single permission granted in B is not a grant of it in A.
	idGrant(t, db, e, tenantB, viewer, policy.Grants{Roles: []string{"owner"}, Permissions: []string{policy.AuditGet}})
	if idAllowed(t, e, viewer, tenantA, policy.AuditGet) || idAllowed(t, e, direct, tenantA, policy.AuditGet) {
		t.Error("a single permission leaks to another tenant or member")
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
	idSync(t, e)
	if idAllowed(t, e, viewer, tenantB, policy.OAuthClientsGet) || !idAllowed(t, e, viewer, tenantA, policy.OAuthClientsGet) {
		t.Error("ClearGrants cleared the wrong tenant")
	}
	// Only the start read the whole policy; every change came one member at a time.
	if s := e.Stats(); s.FullLoads != 1 || s.MembersRefreshed == 0 {
		t.Errorf("stats %+v: want one full load and member refreshes", s)
	}
}

// A grant written in a transaction that rolls back leaves no trace.
func TestEnforcerRolledBackGrantIsNotApplied(t *testing.T) {
	db, e, tenant, user := idOneMember(t)
	_ = db.InTx(context.Background(), func(ctx context.Context) error {
		if err := e.SetGrants(ctx, tenant, user, policy.Grants{Roles: []string{"owner"}}); err != nil {
			t.Fatal(err)
		}
		return context.Canceled // roll back
	})
	idSync(t, e)
	if idAllowed(t, e, user, tenant, policy.OAuthClientsGet) {
		t.Error("a rolled-back grant is in force")
	}
}

// Grants need a membership: the database refuses a grant to a non-member.
func TestGrantsNeedAMembership(t *testing.T) {
	_, db := idOpen(t)
	e := idEnforcer(t, db)
	tenant := idTenant(t, db)
	err := db.InTx(context.Background(), func(ctx context.Context) error {
		return e.SetGrants(ctx, tenant, uuid.New(), policy.Grants{Roles: []string{"owner"}})
	})
	if !database.IsForeignKeyViolation(err) {
		t.Errorf("grant to a non-member: %v, want a foreign key violation", err)
	}
}

// Rewriting the same grants writes nothing, so no instance is sent
// anything to do.
func TestUnchangedGrantsLogNothing(t *testing.T) {
	db, e, tenant, user := idOneMember(t)
	g := policy.Grants{Roles: []string{"admin", "viewer"}, Permissions: []string{policy.AuditGet}}
	idGrant(t, db, e, tenant, user, g)
	before := idCount(t, db, "SELECT count(*) FROM policy_changes")
	idGrant(t, db, e, tenant, user, g)
	if after := idCount(t, db, "SELECT count(*) FROM policy_changes"); after != before {
		t.Errorf("rewriting unchanged grants logged %d changes", after-before)
	}
}

func idCount(t *testing.T, db *database.DB, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := db.Conn(context.Background()).Raw(sql, args...).Scan(&n).Error; err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return n
}

// The connection permissions: owner all; admin all but the token; the
// platform backend reads, connects and takes tokens; viewer reads.
func TestEnforcerConnectionRoles(t *testing.T) {
	_, db := idOpen(t)
	e := idEnforcer(t, db)
	tenant := idTenant(t, db)
	want := map[string][]string{
		"owner":     {policy.ConnectionsGet, policy.ConnectionsCreate, policy.ConnectionsEdit, policy.ConnectionsDelete, policy.ConnectionsToken},
		"admin":     {policy.ConnectionsGet, policy.ConnectionsCreate, policy.ConnectionsEdit, policy.ConnectionsDelete},
		"platform":  {policy.ConnectionsGet, policy.ConnectionsCreate, policy.ConnectionsToken},
		"viewer":    {policy.ConnectionsGet},
		"developer": {},
	}
	all := []string{policy.ConnectionsGet, policy.ConnectionsCreate, policy.ConnectionsEdit, policy.ConnectionsDelete, policy.ConnectionsToken}
	for role, perms := range want {
		u := idMember(t, db, tenant)
		idGrant(t, db, e, tenant, u, policy.Grants{Roles: []string{role}})
		for _, perm := range all {
			if got := idAllowed(t, e, u, tenant, perm); got != slices.Contains(perms, perm) {
				t.Errorf("%s %s = %v", role, perm, got)
			}
		}
	}
}
