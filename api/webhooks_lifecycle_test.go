package api_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/internal/jobs"
)

// runJobs moves the jobs' clock by d and runs everything then due
// (periodic jobs included) until the queue is quiet. Its tests run no job
// workers: a worker that had just claimed a periodic job, not yet queued
// its run, would let RunDue and QuietJobs find nothing to wait for.
func runJobs(t *testing.T, e *apitest.Env, clock *jobs.ManualClock, d time.Duration) {
	t.Helper()
	clock.Advance(d)
	if _, err := e.App.Jobs.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.QuietJobs(t)
}

func eventData(d apitest.Received) map[string]any {
	data, _ := d.Event["data"].(map[string]any)
	return data
}

func TestSecretExpiringIsAnnouncedSevenDaysAndOneDayBefore(t *testing.T) {
	start := time.Now().UTC()
	clock := jobs.NewManualClock(start)
	e := apitest.New(t, apitest.WithOutboundAllowPrivate(), apitest.WithClock(clock), apitest.WithoutJobWorkers())
	tid := newTenant(t, e)
	rc := apitest.NewReceiver(t)
	mustWebhook(t, e, tid, &e.Super, rc.URL(), "api_client.secret_expiring")
	client, _ := mustAPIClient(t, e, tid, &e.Super, nil)
	expires := start.Add(10 * 24 * time.Hour).Truncate(time.Second)
	secretID, secret := mustAPIClientSecret(t, e, tid, &e.Super, client, map[string]any{"expires_at": expires.Format(time.RFC3339)})
	runJobs(t, e, clock, 0)

	moments := []struct {
		at   time.Duration // before expiry
		want int           // warnings received by then
	}{
		{8 * 24 * time.Hour, 0},
		{7*24*time.Hour + time.Minute, 0},
		{7*24*time.Hour - 15*time.Minute, 1},
		{3 * 24 * time.Hour, 1},
		{24*time.Hour + time.Minute, 1},
		{24*time.Hour - 15*time.Minute, 2},
		{time.Hour, 2},
		{-time.Hour, 2}, // expired: nothing more
	}
	for _, m := range moments {
		runJobs(t, e, clock, expires.Add(-m.at).Sub(clock.Now()))
		if got := len(rc.Received()); got != m.want {
			t.Fatalf("%v before expiry: %d warnings, want %d", m.at, got, m.want)
		}
	}
	got := rc.Received()
	for i, days := range []float64{7, 1} {
		data := eventData(got[i])
		if got[i].Type() != "api_client.secret_expiring" || data["days_left"] != days || data["resource_id"] != secretID ||
			data["api_client_id"] != client || data["secret_hint"] != secret[len(secret)-4:] {
			t.Errorf("warning %d: %s", i, got[i].Body)
		}
		if strings.Contains(string(got[i].Body), secret) {
			t.Errorf("the warning carries the secret: %s", got[i].Body)
		}
	}
}

func TestPresentingADeletedOrExpiredSecretIsAnnounced(t *testing.T) {
	e := apitest.New(t, apitest.WithOutboundAllowPrivate())
	tid := newTenant(t, e)
	rc := apitest.NewReceiver(t)
	mustWebhook(t, e, tid, &e.Super, rc.URL(), "api_client.secret_rejected")
	r := e.Post(tenantPath(tid, "/api-clients"), &e.Super, apiClientDoc(nil)).ExpectStatus(t, http.StatusCreated)
	clientPK, clientID := r.ID(t), r.Attr(t, "client_id").(string)
	present := func(secret string) {
		t.Helper()
		apitest.PostForm(t, e, "/oauth/token", url.Values{"grant_type": {"client_credentials"},
			"client_id": {clientID}, "client_secret": {secret}}).ExpectError(t, http.StatusUnauthorized, "invalid_client")
	}
	deletedID, deleted := mustAPIClientSecret(t, e, tid, &e.Super, clientPK, nil)
	e.Delete(tenantPath(tid, "/api-clients/"+clientPK+"/secrets/"+deletedID), &e.Super).ExpectStatus(t, http.StatusNoContent)
	expiredID, expired := mustAPIClientSecret(t, e, tid, &e.Super, clientPK,
		map[string]any{"expires_at": time.Now().Add(time.Hour).UTC().Format(time.RFC3339)})
	// The secret's hour passes (the row is moved, nothing sleeps).
	if _, err := e.App.DB.SQL().Exec(`UPDATE api_client_secrets SET expires_at = now() - interval '1 minute' WHERE id = $1`, expiredID); err != nil {
		t.Fatal(err)
	}

	present(deleted)
	present(deleted) // the same secret again within the hour: no second event
	present(expired)
	present("o2s_" + strings.Repeat("x", 43)) // a wrong secret is not news
	rc.WaitFor(t, 2)
	e.QuietJobs(t)
	got := rc.Received()
	if len(got) != 2 {
		t.Fatalf("%d events, want one for the deleted and one for the expired secret", len(got))
	}
	reasons := map[string]string{}
	for _, d := range got {
		data := eventData(d)
		if d.Type() != "api_client.secret_rejected" || data["client_id"] != clientID || data["api_client_id"] != clientPK {
			t.Errorf("event: %s", d.Body)
		}
		reasons[data["resource_id"].(string)], _ = data["reason"].(string)
		for _, s := range []string{deleted, expired} {
			if strings.Contains(string(d.Body), s) {
				t.Errorf("the event carries the presented secret: %s", d.Body)
			}
		}
	}
	if reasons[deletedID] != "deleted" || reasons[expiredID] != "expired" {
		t.Fatalf("reasons %v", reasons)
	}
	// The audit trail says it too.
	trail := e.Get(tenantPath(tid, "/audit-events?filter[action]=api_client_secret.rejected"), &e.Super).ExpectStatus(t, http.StatusOK).List(t)
	if len(trail) != 2 {
		t.Fatalf("%d audit events for the rejections", len(trail))
	}
}

func TestUnusedClientsAreAnnouncedAndFiltered(t *testing.T) {
	start := time.Now().UTC()
	clock := jobs.NewManualClock(start)
	e := apitest.New(t, apitest.WithOutboundAllowPrivate(), apitest.WithClock(clock), apitest.WithoutJobWorkers())
	tid := newTenant(t, e)
	rc := apitest.NewReceiver(t)
	mustWebhook(t, e, tid, &e.Super, rc.URL(), "api_client.unused")
	idle, _ := mustAPIClient(t, e, tid, &e.Super, map[string]any{"name": "idle"})
	busy, _ := mustAPIClient(t, e, tid, &e.Super, map[string]any{"name": "busy"})
	listed := func(filter string) []string {
		t.Helper()
		ids := listIDs(t, e.Get(tenantPath(tid, "/api-clients?filter[unused]="+filter), &e.Super).ExpectStatus(t, http.StatusOK))
		slices.Sort(ids)
		return ids
	}
	runJobs(t, e, clock, 89*24*time.Hour)
	if len(rc.Received()) != 0 || len(listed("true")) != 0 || len(listed("false")) != 2 {
		t.Fatalf("before 90 days: %d events, unused %v", len(rc.Received()), listed("true"))
	}
	// busy issued a token on day 89 (its last_used_at says so).
	if _, err := e.App.DB.SQL().Exec(`UPDATE api_clients SET last_used_at = $1 WHERE id = $2`, clock.Now(), busy); err != nil {
		t.Fatal(err)
	}
	runJobs(t, e, clock, 24*time.Hour+time.Minute)
	got := rc.WaitFor(t, 1)
	if len(got) != 1 || eventData(got[0])["resource_id"] != idle || eventData(got[0])["name"] != "idle" {
		t.Fatalf("after 90 days: %d events: %v", len(got), types(got))
	}
	if u := listed("true"); !slices.Equal(u, []string{idle}) {
		t.Fatalf("filter[unused]=true lists %v, want only %s", u, idle)
	}
	if u := listed("false"); !slices.Equal(u, []string{busy}) {
		t.Fatalf("filter[unused]=false lists %v, want only %s", u, busy)
	}
	runJobs(t, e, clock, time.Hour)
	if len(rc.Received()) != 1 {
		t.Fatal("an unused client was announced twice for one idle spell")
	}
	runJobs(t, e, clock, 90*24*time.Hour)
	if n := len(rc.Received()); n != 2 || eventData(rc.Received()[1])["resource_id"] != busy {
		t.Fatalf("busy, idle for 90 days in its turn: %d events", n)
	}
	expectError(t, e.Get(tenantPath(tid, "/api-clients?filter[unused]=yes"), &e.Super), http.StatusBadRequest, "invalid_filter", "filter[unused]")
}
