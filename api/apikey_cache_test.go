package api_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/oauthd/oauthd/api/apitest"
)

// Basic auth is cached per instance for a moment (the key, its user and
// the membership, read in one query), yet a deleted API key or a removed
// member stops working at once on the instance that made the change and
// within a second on another instance on the same database.
func TestBasicAuthCacheFollowsChangesAcrossInstances(t *testing.T) {
	e := apitest.New(t)
	e2 := apitest.New(t, apitest.WithDatabaseURL(e.DatabaseURL), apitest.WithIssuer(e.App.Issuer))
	tid := newTenant(t, e)
	list := tenantPath(tid, "/oauth-clients")
	status := func(env *apitest.Env, c apitest.Creds) int {
		return env.Do(apitest.Request{Method: http.MethodGet, Path: list, Auth: &c}).Status
	}
	// answersWithin waits up to a second, the bound docs/DESIGN.md sets
	// for a change to reach every instance, for env to answer want.
	answersWithin := func(t *testing.T, env *apitest.Env, c apitest.Creds, want int, what string) {
		t.Helper()
		apitest.Eventually(t, time.Second, func() error {
			if got := status(env, c); got != want {
				return fmt.Errorf("%s: %d, want %d", what, got, want)
			}
			return nil
		})
	}
	works := func(t *testing.T, c apitest.Creds) {
		t.Helper()
		// The other instance learns of a new member's rights by its
		// policy poll, within the second; then each instance answers
		// twice, the second time from its cache.
		answersWithin(t, e2, c, http.StatusOK, "a new member on the other instance")
		for _, env := range []*apitest.Env{e, e2, e, e2} {
			if got := status(env, c); got != http.StatusOK {
				t.Fatalf("%s: GET with basic auth: %d", env.Server.URL, got)
			}
		}
	}

	t.Run("delete the API key", func(t *testing.T) {
		m := newMember(t, e, tid, []string{"viewer"}, nil)
		works(t, m)
		keys := e.Get("/v2/users/"+m.UserID+"/api-keys", &e.Super).ExpectStatus(t, http.StatusOK).List(t)
		if len(keys) != 1 {
			t.Fatalf("%d keys", len(keys))
		}
		e.Delete("/v2/users/"+m.UserID+"/api-keys/"+keys[0]["id"].(string), &e.Super).ExpectStatus(t, http.StatusNoContent)
		if got := status(e, m); got != http.StatusUnauthorized {
			t.Errorf("the deleting instance: %d, want 401 at once", got)
		}
		answersWithin(t, e2, m, http.StatusUnauthorized, "the other instance")
	})

	t.Run("remove the member", func(t *testing.T) {
		m := newMember(t, e, tid, []string{"viewer"}, nil)
		works(t, m)
		e.Delete(tenantPath(tid, "/members/"+m.UserID), &e.Super).ExpectStatus(t, http.StatusNoContent)
		if got := status(e, m); got != http.StatusNotFound {
			t.Errorf("the removing instance: %d, want 404 at once", got)
		}
		answersWithin(t, e2, m, http.StatusNotFound, "the other instance")
		// Added again, on the other instance: a member again on both.
		addMember(t, e2, tid, m, []string{"viewer"}, nil)
		if got := status(e2, m); got != http.StatusOK {
			t.Errorf("the adding instance: %d, want 200 at once", got)
		}
		answersWithin(t, e, m, http.StatusOK, "the first instance, after the member was added again")
	})

	t.Run("last use written once a minute", func(t *testing.T) {
		m := newMember(t, e, tid, []string{"viewer"}, nil)
		works(t, m)
		used := func() any {
			keys := e.Get("/v2/users/"+m.UserID+"/api-keys", &e.Super).ExpectStatus(t, http.StatusOK).List(t)
			return attrOf(keys[0], "last_used_at")
		}
		first := used()
		if first == nil {
			t.Fatal("last_used_at not written")
		}
		works(t, m)
		if again := used(); again != first {
			t.Errorf("last_used_at rewritten within the minute: %v, then %v", first, again)
		}
	})
}
