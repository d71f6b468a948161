package api_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oauthd/oauthd/api/apitest"
)

// access-token keeps what it read for up to a second on each instance: a
// change made on the instance itself is seen at once, one made on another
// instance within that second, and every answer, cached or not, is
// audited.
func TestConnectionTokenCacheFollowsChanges(t *testing.T) {
	w := newConnWorld(t, false)
	e2 := apitest.New(t, apitest.WithDatabaseURL(w.e.DatabaseURL), apitest.WithIssuer(w.e.URL("")), apitest.WithOutboundAllowPrivate())
	first, second := w.connect(t, "first"), w.connect(t, "second")
	for _, id := range []string{first, second} {
		for _, e := range []*apitest.Env{w.e, e2} {
			w.accessToken(t, e, id).ExpectStatus(t, http.StatusOK)
		}
	}

	// A refresh on the first instance: its own next answer is the new token.
	before := w.p.lastIssued()
	w.e.Post(w.path("/"+first+"/refresh"), &w.owner, nil).ExpectStatus(t, http.StatusOK)
	if got := w.accessToken(t, w.e, first).ExpectStatus(t, http.StatusOK).Attr(t, "access_token"); got == before || got != w.p.lastIssued() {
		t.Fatalf("after a refresh here the token is %v, want the new one", got)
	}
	// Reads within the second come from the cache, and each is audited.
	for range 5 {
		w.accessToken(t, w.e, first).ExpectStatus(t, http.StatusOK)
	}
	if hits := metricValue(t, w.e.Metrics(), `oauthd_cache_lookups_total{cache="connection_tokens",result="hit"}`); hits < 1 {
		t.Errorf("%v cache hits for reads in a row", hits)
	}
	apitest.Eventually(t, 5*time.Second, func() error {
		// Two reads before the refresh, one after, five more.
		if n := strings.Count(strings.Join(auditActions(t, w.e, w.tid, &w.owner, first), ","), "connection.token_read"); n != 8 {
			return fmt.Errorf("%d token reads in the trail, want 8", n)
		}
		return nil
	})

	// Deleted on the second instance: gone there at once, on the first
	// within the cache's second.
	e2.Delete(w.path("/"+second), &w.owner).ExpectStatus(t, http.StatusNoContent)
	expectError(t, w.accessToken(t, e2, second), http.StatusNotFound, "connection_not_found", "")
	apitest.Eventually(t, 5*time.Second, func() error {
		if r := w.accessToken(t, w.e, second); r.Status != http.StatusNotFound {
			return fmt.Errorf("the other instance still answers %d", r.Status)
		}
		return nil
	})
}
