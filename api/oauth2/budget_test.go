package oauth2_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/internal/budget"
	"github.com/oauthd/oauthd/internal/credential"
	"github.com/oauthd/oauthd/internal/jobs"
	"github.com/oauthd/oauthd/internal/testredis"
)

// burst sends n concurrent client_credentials requests with the secrets
// secretOf(i) for the client ids idOf(i), spread round-robin over the
// instances, and counts the answers: judged (401: a wrong secret was
// checked) and refused (429 with Retry-After). It returns how long the
// burst took, for the refill a budget may have gained meanwhile.
func burst(t *testing.T, instances []*apitest.Env, n int, idOf, secretOf func(i int) string) (judged, refused int, took time.Duration) {
	t.Helper()
	var j, r atomic.Int64
	start := time.Now()
	apitest.Race(t, n, func(i int, t testing.TB) {
		e := instances[i%len(instances)]
		a := clientCredentialsWith(t, e, idOf(i), secretOf(i), "")
		switch {
		case a.Status == http.StatusUnauthorized:
			j.Add(1)
		case a.Status == http.StatusTooManyRequests && a.Header.Get("Retry-After") != "":
			r.Add(1)
		default:
			t.Errorf("answer %d %s", a.Status, a.Raw)
		}
	})
	return int(j.Load()), int(r.Load()), time.Since(start)
}

// refill is what a budget of burst per minute regains in d: nothing when
// the budgets' clock stands still (frozen), else what the system clock
// allows for.
func refill(frozen bool, perMinute int, d time.Duration) int {
	if frozen {
		return 0
	}
	return int(d.Minutes()*float64(perMinute)) + 1
}

// The budget of failures is reserved before bcrypt runs, atomically, and
// kept in the database: 60 concurrent wrong secrets for one client from
// one address get 10 judgements (the budget) and 50 refusals, whether they
// hit one instance or are split across two instances on one database.
// The budgets' clock stands still (both instances share it), so the counts
// are exact however long the burst takes on a loaded machine.
func TestFailureBudgetHoldsUnderBursts(t *testing.T) {
	clock := jobs.NewManualClock(time.Now())
	e := apitest.New(t, apitest.WithClock(clock))
	second := apitest.New(t, apitest.WithDatabaseURL(e.DatabaseURL), apitest.WithIssuer(e.Server.URL), apitest.WithClock(clock))
	burstOnInstances(t, e, second, true)
}

// The same with the budgets in one Redis (OAUTHD_REDIS_URL) that two
// instances on one database share.
func TestFailureBudgetInRedisHoldsUnderBursts(t *testing.T) {
	redisURL := testredis.Start(t)
	withRedis := func(opts ...apitest.Option) *apitest.Env {
		r, err := budget.NewRedis(redisURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = r.Close() })
		return apitest.New(t, append(opts, apitest.WithBudgets(r))...)
	}
	e := withRedis()
	// Redis refills by its own clock (TIME): the counts allow for it.
	burstOnInstances(t, e, withRedis(apitest.WithDatabaseURL(e.DatabaseURL), apitest.WithIssuer(e.Server.URL)), false)
}

// burstOnInstances runs the burst against e alone, then split over e and
// second; frozen says the budgets refill by a clock that stands still.
func burstOnInstances(t *testing.T, e, second *apitest.Env, frozen bool) {
	tid := e.Post("/v2/tenants", &e.Super, doc("tenant", map[string]any{"name": "acme"})).ExpectStatus(t, http.StatusCreated).ID(t)
	for _, c := range []struct {
		name      string
		instances []*apitest.Env
	}{{"one instance", []*apitest.Env{e}}, {"two instances", []*apitest.Env{e, second}}} {
		t.Run(c.name, func(t *testing.T) {
			e := e.For(t)
			m := apitest.MachineClient(t, e, tid, "viewer")
			// The right secret first, on every instance: each has then
			// verified it (later requests skip bcrypt and reserve
			// nothing) and seen the budgets with failures left.
			for _, in := range c.instances {
				if a := clientCredentials(t, in, m, ""); a.Status != http.StatusOK {
					t.Fatalf("the right secret: %d %s", a.Status, a.Raw)
				}
			}
			judged, refused, took := burst(t, c.instances, 60, func(int) string { return m.Client.ClientID },
				func(i int) string { return m.Secret + "x" })
			t.Logf("%s: %d judged, %d refused in %v", c.name, judged, refused, took)
			if judged < 10 || judged > 10+refill(frozen, 10, took) {
				t.Errorf("%d wrong secrets judged, want the budget of 10 (+%d refilled)", judged, refill(frozen, 10, took))
			}
			if judged+refused != 60 {
				t.Errorf("%d answers", judged+refused)
			}
			// The right secret is refused too while the budget is spent,
			// on every instance, though each verified it before.
			for _, in := range c.instances {
				if a := clientCredentials(t, in, m, ""); a.Status != http.StatusTooManyRequests {
					t.Errorf("the right secret during the lockout: %d", a.Status)
				}
			}
		})
	}
}

// Unknown client ids cost a secret comparison each too (so they look like
// wrong secrets): the address's budget for failures of any kind, 30 a minute,
// bounds them across instances.
func TestAddressBudgetCoversUnknownClients(t *testing.T) {
	clock := jobs.NewManualClock(time.Now()) // the budgets' clock stands still: the count is exact
	e := apitest.New(t, apitest.WithClock(clock))
	second := apitest.New(t, apitest.WithDatabaseURL(e.DatabaseURL), apitest.WithIssuer(e.Server.URL), apitest.WithClock(clock))
	judged, refused, took := burst(t, []*apitest.Env{e, second}, 80,
		func(int) string { return credential.Random("o2c_", 18) }, func(int) string { return "guess" })
	t.Logf("%d judged, %d refused in %v", judged, refused, took)
	if judged != 30 {
		t.Errorf("%d unknown clients judged from one address, want the address budget of 30", judged)
	}
}

// The right secret costs no bcrypt (a digest) and spends nothing from the
// budgets: its token requests leave failure_budgets as they were; a wrong
// secret still reserves.
func TestVerifiedSecretReservesNothing(t *testing.T) {
	e := apitest.New(t)
	tid := e.Post("/v2/tenants", &e.Super, doc("tenant", map[string]any{"name": "acme"})).ExpectStatus(t, http.StatusCreated).ID(t)
	m := apitest.MachineClient(t, e, tid, "viewer")
	ok := func() {
		t.Helper()
		if a := clientCredentials(t, e, m, ""); a.Status != http.StatusOK {
			t.Fatalf("the right secret: %d %s", a.Status, a.Raw)
		}
	}
	ok()
	budgets := func() string {
		var s string
		if err := e.App.DB.SQL().QueryRow(`SELECT coalesce(string_agg(key || ' ' || tokens || ' ' || updated_at, ',' ORDER BY key), '') FROM failure_budgets`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := budgets()
	for i := 0; i < 5; i++ {
		ok()
	}
	if after := budgets(); after != before {
		t.Errorf("verified secrets changed the budgets:\n%s\n%s", before, after)
	}
	clientCredentialsWith(t, e, m.Client.ClientID, m.Secret+"x", "").ExpectError(t, http.StatusUnauthorized, "invalid_client")
	if after := budgets(); after == before {
		t.Error("a wrong secret reserved nothing")
	}
}
