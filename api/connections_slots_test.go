package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/connections"
)

// providerCalls reads oauthd_connection_provider_calls{state} from the metrics.
func providerCalls(e *apitest.Env, state string) string {
	prefix := `oauthd_connection_provider_calls{state="` + state + `"} `
	for _, line := range strings.Split(e.Metrics(), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			return v
		}
	}
	return "absent"
}

// A provider call holds a database connection (the refresh's row lock, the
// exchange's transaction), and the provider is whatever token_uri a
// tenant's component names. A tenant whose provider answers slowly, with
// many connections refreshed at once, must not hold the whole pool: the
// instance runs at most PerTenantProviderCalls of one tenant's calls at
// once, and the rest wait without a database connection, while another
// tenant connects, refreshes and reads as usual.
func TestOneTenantsSlowProviderCannotHoldThePool(t *testing.T) {
	w := newConnWorld(t, false, apitest.WithMaxDBConns(10)) // provider calls: 5 in all
	n := connections.PerTenantProviderCalls + 2
	ids := make([]string, n)
	for i := range ids {
		ids[i] = w.connect(t, fmt.Sprintf("slow-%d", i))
	}
	release := make(chan struct{})
	var inFlight, most atomic.Int32
	slow := func(rw http.ResponseWriter, r *http.Request) {
		now := inFlight.Add(1)
		for m := most.Load(); now > m && !most.CompareAndSwap(m, now); m = most.Load() {
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		inFlight.Add(-1)
		rw.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rw).Encode(map[string]any{"access_token": "slow-" + uniq(), "token_type": "Bearer",
			"expires_in": 3600, "refresh_token": "slow-refresh-" + uniq()})
	}
	for range ids {
		w.p.then(slow)
	}
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = w.e.For(t).Post(w.path("/"+id+"/refresh"), &w.owner, nil).Status
		}()
	}
	released := false
	defer func() {
		if !released {
			close(release)
		}
		wg.Wait()
	}()
	apitest.Eventually(t, 10*time.Second, func() error {
		calling, waiting := providerCalls(w.e, "calling"), providerCalls(w.e, "waiting")
		if calling != fmt.Sprint(connections.PerTenantProviderCalls) || waiting != "2" || inFlight.Load() != int32(connections.PerTenantProviderCalls) {
			return fmt.Errorf("provider calls: calling %s, waiting %s, at the provider %d", calling, waiting, inFlight.Load())
		}
		return nil
	})
	// Another tenant, meanwhile: its dance, a refresh and a read go through.
	other := &connWorld{e: w.e, p: newFakeProvider(t, false)}
	other.tid = newTenant(t, w.e)
	other.owner = newMember(t, w.e, other.tid, []string{"owner"}, nil)
	other.component = newComponent(t, w.e, other.tid, &other.owner, map[string]any{"descriptor": other.p.descriptor()})
	other.client = mustOAuthClient(t, w.e, other.tid, &other.owner, other.component, other.p.id, other.p.secret)
	id := other.connect(t, "fast")
	w.e.Post(other.path("/"+id+"/refresh"), &other.owner, nil).ExpectStatus(t, http.StatusOK)
	w.e.Get(other.path(""), &other.owner).ExpectStatus(t, http.StatusOK)
	close(release)
	released = true
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Errorf("refresh %d of the slow tenant: %d", i, s)
		}
	}
	if m := most.Load(); m > int32(connections.PerTenantProviderCalls) {
		t.Errorf("the slow provider had %d calls at once; at most %d may run", m, connections.PerTenantProviderCalls)
	}
	other.p.checkClean(t)
}
