package policy_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/internal/jobs"
	"github.com/oauthd/oauthd/internal/purge"
	"github.com/oauthd/oauthd/policy"
)

// These tests run two instances on one database: a writer (whose services
// call Sync after committing) and a second instance that hears of the
// change only through the database.

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// idRun runs f (a watching loop) until the test ends.
func idRun(t *testing.T, f func(ctx context.Context)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		f(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// idWithinSecond waits for e to answer want for perm, and fails when it
// does not within the second the design promises.
func idWithinSecond(t *testing.T, e *policy.Enforcer, user, tenant uuid.UUID, perm string, want bool, what string) {
	t.Helper()
	apitest.Eventually(t, time.Second, func() error {
		if idAllowed(t, e, user, tenant, perm) != want {
			return fmt.Errorf("the second instance does not see %s", what)
		}
		return nil
	})
}

// A grant, a downgrade and a change of a role's definition reach a second
// instance that LISTENs and polls, as changes to the rows concerned:
// after its start it never reads the whole policy again.
func TestChangesReachAnotherInstanceIncrementally(t *testing.T) {
	url, db1 := idOpen(t)
	writer, other := idEnforcer(t, db1), idEnforcer(t, idPool(t, url))
	idRun(t, func(ctx context.Context) { other.Watch(ctx, url, quiet) })
	tenant := idTenant(t, db1)
	user, bystander := idMember(t, db1, tenant), idMember(t, db1, tenant)
	idGrant(t, db1, writer, tenant, bystander, policy.Grants{Roles: []string{"viewer"}})

	idGrant(t, db1, writer, tenant, user, policy.Grants{Roles: []string{"admin"}})
	if !idAllowed(t, writer, user, tenant, policy.OAuthClientsEdit) {
		t.Fatal("the writing instance does not see its own grant after Sync")
	}
	idWithinSecond(t, other, user, tenant, policy.OAuthClientsEdit, true, "the grant")

	idGrant(t, db1, writer, tenant, user, policy.Grants{Roles: []string{"viewer"}, Permissions: []string{policy.AuditGet}})
	idWithinSecond(t, other, user, tenant, policy.OAuthClientsEdit, false, "the downgrade")
	if !idAllowed(t, other, user, tenant, policy.OAuthClientsGet) || !idAllowed(t, other, user, tenant, policy.AuditGet) {
		t.Error("the second instance lost the viewer role or the single permission")
	}

	// A migration of a newer release teaches the viewer role a permission.
	idExec(t, db1, "INSERT INTO role_permissions (role, permission) VALUES ('viewer', ?)", policy.FlowsCreate)
	idWithinSecond(t, other, bystander, tenant, policy.FlowsCreate, true, "the role's new permission")
	if !other.RoleAllows("viewer", policy.FlowsCreate) {
		t.Error("RoleAllows does not know the role's new permission")
	}

	s := other.Stats()
	if s.FullLoads != 1 || s.RoleReloads != 1 || s.MembersRefreshed < 2 {
		t.Errorf("second instance's stats %+v: want 1 full load (its start), 1 role reload, member refreshes", s)
	}
}

// With no listener at all (a pooler that cannot LISTEN, or the listening
// connection gone), the poll alone keeps the one-second promise.
func TestChangesReachAnInstanceThatOnlyPolls(t *testing.T) {
	url, db1 := idOpen(t)
	writer, other := idEnforcer(t, db1), idEnforcer(t, idPool(t, url))
	idRun(t, func(ctx context.Context) { other.Poll(ctx, quiet) })
	tenant := idTenant(t, db1)
	user := idMember(t, db1, tenant)

	idGrant(t, db1, writer, tenant, user, policy.Grants{Roles: []string{"owner"}})
	idWithinSecond(t, other, user, tenant, policy.MembersDelete, true, "the grant")
	idGrant(t, db1, writer, tenant, user, policy.Grants{Roles: []string{"viewer"}})
	idWithinSecond(t, other, user, tenant, policy.MembersDelete, false, "the downgrade")
	idExec(t, db1, "DELETE FROM memberships WHERE tenant_id = ? AND user_id = ?", tenant, user)
	idWithinSecond(t, other, user, tenant, policy.MembersGet, false, "the end of the membership")
}

// The listening connection is killed over and over (as a failover or a
// proxy's idle timeout would), and a downgrade still reaches the other
// instance within the second.
func TestChangesReachAnotherInstanceWhileItsListenerIsKilled(t *testing.T) {
	url, db1 := idOpen(t)
	writer, other := idEnforcer(t, db1), idEnforcer(t, idPool(t, url))
	idRun(t, func(ctx context.Context) { other.Watch(ctx, url, quiet) })
	tenant := idTenant(t, db1)
	user := idMember(t, db1, tenant)
	idGrant(t, db1, writer, tenant, user, policy.Grants{Roles: []string{"admin"}})
	idWithinSecond(t, other, user, tenant, policy.AuditGet, true, "the grant")

	var kills atomic.Int64
	idRun(t, func(ctx context.Context) {
		for ctx.Err() == nil {
			var n int64
			_ = db1.Conn(ctx).Raw(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
				WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`).Scan(&n).Error
			kills.Add(n)
			time.Sleep(5 * time.Millisecond)
		}
	})
	apitest.Eventually(t, 30*time.Second, func() error {
		if kills.Load() == 0 {
			return errors.New("no listener connection killed yet")
		}
		return nil
	})
	idGrant(t, db1, writer, tenant, user, policy.Grants{Roles: []string{"viewer"}})
	idWithinSecond(t, other, user, tenant, policy.AuditGet, false, "the downgrade")
}

// Transactions commit in another order than they began: a change whose
// transaction started first but committed last is still applied (a
// sequence number read "after the last one seen" would miss it).
func TestChangesCommittedOutOfOrderAreAllApplied(t *testing.T) {
	url, db1 := idOpen(t)
	writer, other := idEnforcer(t, db1), idEnforcer(t, idPool(t, url))
	tenant := idTenant(t, db1)
	early, late := idMember(t, db1, tenant), idMember(t, db1, tenant)

	wrote, commit, committed := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		committed <- db1.InTx(context.Background(), func(ctx context.Context) error {
			if err := writer.SetGrants(ctx, tenant, early, policy.Grants{Roles: []string{"owner"}}); err != nil {
				return err
			}
			close(wrote)
			<-commit
			return nil
		})
	}()
	<-wrote
	idGrant(t, db1, writer, tenant, late, policy.Grants{Roles: []string{"owner"}})
	idSync(t, other)
	if !idAllowed(t, other, late, tenant, policy.OAuthClientsGet) || idAllowed(t, other, early, tenant, policy.OAuthClientsGet) {
		t.Fatal("after the later transaction's commit, the other instance should see it and not the open one")
	}
	close(commit)
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	idSync(t, other)
	if !idAllowed(t, other, early, tenant, policy.OAuthClientsGet) {
		t.Error("the change of the transaction that began first and committed last was missed")
	}
}

// Many members change at once, from many goroutines, while another
// instance polls: it ends up with exactly what the database holds.
func TestConcurrentChangesConverge(t *testing.T) {
	url, db1 := idOpen(t)
	writer, other := idEnforcer(t, db1), idEnforcer(t, idPool(t, url))
	idRun(t, func(ctx context.Context) { other.Poll(ctx, quiet) })
	tenant := idTenant(t, db1)
	const n = 16
	users := make([]uuid.UUID, n)
	for i := range users {
		users[i] = idMember(t, db1, tenant)
	}
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 5 {
				role := []string{"viewer", "admin"}[(i+round)%2]
				err := db1.InTx(context.Background(), func(ctx context.Context) error {
					return writer.SetGrants(ctx, tenant, u, policy.Grants{Roles: []string{role}})
				})
				if err != nil {
					t.Error(err)
					return
				}
				if err := writer.Sync(); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	idSync(t, other)
	for i, u := range users {
		want := (i+4)%2 == 1 // the last round's role is admin
		if got := idAllowed(t, other, u, tenant, policy.OAuthClientsEdit); got != want {
			t.Errorf("member %d: edit = %v, want %v", i, got, want)
		}
		if got := idAllowed(t, writer, u, tenant, policy.OAuthClientsEdit); got != want {
			t.Errorf("writer, member %d: edit = %v, want %v", i, got, want)
		}
	}
}

// Grants go with the membership, the user and the tenant, in the database
// and in every instance's memory; a deleted tenant leaves no row naming it.
func TestGrantsCascade(t *testing.T) {
	url, db1 := idOpen(t)
	writer, other := idEnforcer(t, db1), idEnforcer(t, idPool(t, url))
	gone, stays := idTenant(t, db1), idTenant(t, db1)
	leaver, deleted, member := idMember(t, db1, gone), idMember(t, db1, gone), idMember(t, db1, gone)
	for _, tn := range []uuid.UUID{stays} {
		idJoin(t, db1, tn, leaver)
		idJoin(t, db1, tn, deleted)
		idJoin(t, db1, tn, member)
	}
	all := policy.Grants{Roles: []string{"admin"}, Permissions: []string{policy.AuditGet}}
	for _, tn := range []uuid.UUID{gone, stays} {
		for _, u := range []uuid.UUID{leaver, deleted, member} {
			idGrant(t, db1, writer, tn, u, all)
		}
	}
	idSync(t, other)
	rows := func(where string, args ...any) int {
		t.Helper()
		return idCount(t, db1, "SELECT count(*) FROM member_grants WHERE "+where, args...)
	}

	idExec(t, db1, "DELETE FROM memberships WHERE tenant_id = ? AND user_id = ?", gone, leaver)
	if n := rows("tenant_id = ? AND user_id = ?", gone, leaver); n != 0 {
		t.Errorf("%d grant rows outlive the membership", n)
	}
	idExec(t, db1, "DELETE FROM users WHERE id = ?", deleted)
	if n := rows("user_id = ?", deleted); n != 0 {
		t.Errorf("%d grant rows outlive the user", n)
	}
	idSync(t, other)
	if idAllowed(t, other, leaver, gone, policy.AuditGet) || !idAllowed(t, other, leaver, stays, policy.AuditGet) {
		t.Error("the other instance did not drop just the ended membership's grants")
	}
	if idAllowed(t, other, deleted, gone, policy.AuditGet) || idAllowed(t, other, deleted, stays, policy.AuditGet) {
		t.Error("the other instance kept a deleted user's grants")
	}

	idExec(t, db1, "DELETE FROM tenants WHERE id = ?", gone)
	if n := rows("tenant_id = ?", gone); n != 0 {
		t.Errorf("%d grant rows outlive the tenant", n)
	}
	if n := idCount(t, db1, "SELECT count(*) FROM policy_changes WHERE tenant_id = ?", gone); n != 0 {
		t.Errorf("the change log still names the deleted tenant in %d rows", n)
	}
	idSync(t, other)
	if idAllowed(t, other, member, gone, policy.AuditGet) || !idAllowed(t, other, member, stays, policy.AuditGet) {
		t.Error("the other instance did not drop just the deleted tenant's grants")
	}
	if s := other.Stats(); s.TenantsDropped != 1 || s.FullLoads != 1 {
		t.Errorf("other instance's stats %+v: want the one tenant dropped, no full reload", s)
	}
}

// The change log is purged after its retention; recent entries stay.
func TestPurgeChangesKeepsRecentEntries(t *testing.T) {
	db, e, tenant, user := idOneMember(t)
	idGrant(t, db, e, tenant, user, policy.Grants{Roles: []string{"viewer"}})
	idExec(t, db, "INSERT INTO policy_changes (kind, created_at) SELECT 'roles', now() - interval '2 hours' FROM generate_series(1, 2500)")
	q := jobs.New(db, jobs.Options{Clock: jobs.NewManualClock(time.Now())})
	purge.Register(q, db, nil, policy.PurgeTarget())
	if _, err := q.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := idCount(t, db, "SELECT count(*) FROM policy_changes WHERE created_at < now() - interval '1 hour'"); n != 0 {
		t.Errorf("%d old entries left", n)
	}
	if n := idCount(t, db, "SELECT count(*) FROM policy_changes"); n == 0 {
		t.Error("the recent entry was purged too")
	}
}
