package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthd/oauthd/api/apitest"
)

// A role change made on one instance reaches a second instance within the
// second, also while every LISTEN connection to the database is killed as
// soon as it appears (a failover, a proxy that drops idle connections):
// the second instance then learns of it from its poll of the change log.
func TestRoleChangeReachesEveryInstanceWithoutListen(t *testing.T) {
	e := apitest.New(t)
	e2 := apitest.New(t, apitest.WithDatabaseURL(e.DatabaseURL), apitest.WithIssuer(e.App.Issuer))
	tid := newTenant(t, e)
	u := newMember(t, e, tid, []string{"admin"}, nil)
	audit := tenantPath(tid, "/audit-events")
	member := tenantPath(tid, "/members/"+u.UserID)
	within := func(want int, what string) {
		t.Helper()
		apitest.Eventually(t, time.Second, func() error {
			if r := e2.Get(audit, &u); r.Status != want {
				return fmt.Errorf("%s: the second instance answers %d", what, r.Status)
			}
			return nil
		})
	}
	within(http.StatusOK, "the member added as admin")

	ctx, cancel := context.WithCancel(context.Background())
	var kills atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			var n int64
			_ = e.App.DB.Conn(ctx).Raw(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
				WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`).Scan(&n).Error
			kills.Add(n)
			time.Sleep(5 * time.Millisecond)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	// Each change is made just after a listener was killed again: its
	// reconnection, a second away, cannot be what brings the news.
	afterAKill := func() {
		n := kills.Load()
		apitest.Eventually(t, 30*time.Second, func() error {
			if kills.Load() == n {
				return errors.New("the listener has not been killed again")
			}
			return nil
		})
	}
	afterAKill()
	e.Patch(member, &e.Super, doc("member", map[string]any{"roles": []string{"viewer"}}, nil)).ExpectStatus(t, http.StatusOK)
	within(http.StatusForbidden, "downgrade to viewer")
	afterAKill()
	e.Patch(member, &e.Super, doc("member", map[string]any{"permissions": []string{"tenants.audit.get"}}, nil)).ExpectStatus(t, http.StatusOK)
	within(http.StatusOK, "a single permission granted")
	afterAKill()
	e.Delete(member, &e.Super).ExpectStatus(t, http.StatusNoContent)
	within(http.StatusNotFound, "membership ended")
}
