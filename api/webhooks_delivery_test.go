package api_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/internal/jobs"
	"github.com/oauthd/oauthd/webhooks"
)

// advance moves the jobs' clock and lets the workers run what fell due.
func advance(t *testing.T, e *apitest.Env, clock *jobs.ManualClock, d time.Duration) {
	t.Helper()
	clock.Advance(d)
	e.App.Jobs.Wake()
	e.QuietJobs(t)
}

func newComponentEvent(t *testing.T, e *apitest.Env, tid string) string {
	t.Helper()
	return newComponent(t, e, tid, &e.Super, map[string]any{"name": "c-" + uniq()})
}

func deliveryLog(t *testing.T, e *apitest.Env, tid, hookID string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, d := range e.Get(tenantPath(tid, "/webhooks/"+hookID+"/deliveries?sort=created_at&page[size]=100"), &e.Super).
		ExpectStatus(t, http.StatusOK).List(t) {
		a, _ := d["attributes"].(map[string]any)
		out = append(out, a)
	}
	return out
}

func TestFailedDeliveryIsRetriedWithTheSameEventID(t *testing.T) {
	clock := jobs.NewManualClock(time.Now())
	e := apitest.New(t, apitest.WithOutboundAllowPrivate(), apitest.WithClock(clock))
	tid := newTenant(t, e)
	rc := apitest.NewReceiver(t)
	rc.Respond(func(_ *http.Request, n int) int {
		if n == 1 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	hook, _ := mustWebhook(t, e, tid, &e.Super, rc.URL(), "component.*")
	newComponentEvent(t, e, tid)
	rc.WaitFor(t, 1)
	e.QuietJobs(t)
	if n := len(rc.Received()); n != 1 {
		t.Fatalf("%d deliveries before the retry was due", n)
	}
	h := e.Get(tenantPath(tid, "/webhooks/"+hook), &e.Super).ExpectStatus(t, http.StatusOK)
	if h.Attr(t, "failing_since") == nil {
		t.Error("failing_since is not set after a failed delivery")
	}
	log := deliveryLog(t, e, tid, hook)
	if len(log) != 1 || log[0]["success"] != false || log[0]["status_code"] != float64(500) ||
		log[0]["error"] != "the receiver answered 500" || log[0]["event_type"] != "component.created" {
		t.Fatalf("delivery log after the failure: %v", log)
	}

	advance(t, e, clock, 30*time.Second) // the first retry comes within 30 s
	got := rc.WaitFor(t, 2)
	if got[0].EventID() != got[1].EventID() || got[0].EventID() == "" {
		t.Fatalf("the retry carried event %q, the first attempt %q", got[1].EventID(), got[0].EventID())
	}
	if got[1].Header.Get("Oauthd-Delivery-Attempt") != "2" {
		t.Errorf("retry's attempt header %q", got[1].Header.Get("Oauthd-Delivery-Attempt"))
	}
	log = deliveryLog(t, e, tid, hook)
	if len(log) != 2 || log[1]["success"] != true || log[1]["attempt"] != float64(2) || log[1]["event_id"] != got[0].EventID() {
		t.Fatalf("delivery log after the retry: %v", log)
	}
	if h := e.Get(tenantPath(tid, "/webhooks/"+hook), &e.Super); h.Attr(t, "failing_since") != nil {
		t.Error("failing_since stays set after a successful delivery")
	}
	// The success filter and the event filter narrow the log.
	failed := e.Get(tenantPath(tid, "/webhooks/"+hook+"/deliveries?filter[success]=false"), &e.Super).ExpectStatus(t, http.StatusOK).List(t)
	byEvent := e.Get(tenantPath(tid, "/webhooks/"+hook+"/deliveries?filter[event]="+got[0].EventID()), &e.Super).
		ExpectStatus(t, http.StatusOK).List(t)
	if len(failed) != 1 || len(byEvent) != 2 {
		t.Errorf("filters: %d failed, %d for the event", len(failed), len(byEvent))
	}
}

func TestDeliveryThatTimesOutIsRetried(t *testing.T) {
	clock := jobs.NewManualClock(time.Now())
	e := apitest.New(t, apitest.WithOutboundAllowPrivate(), apitest.WithClock(clock), apitest.WithWebhooks(webhooks.DispatcherOptions{Timeout: 300 * time.Millisecond}))
	tid := newTenant(t, e)
	rc := apitest.NewReceiver(t)
	rc.Respond(func(r *http.Request, n int) int {
		if n == 1 {
			<-r.Context().Done() // never answers; oauthd gives up
		}
		return http.StatusOK
	})
	hook, _ := mustWebhook(t, e, tid, &e.Super, rc.URL(), "component.*")
	newComponentEvent(t, e, tid)
	rc.WaitFor(t, 1)
	e.QuietJobs(t)
	log := deliveryLog(t, e, tid, hook)
	if len(log) != 1 || log[0]["status_code"] != nil || log[0]["error"] != "no answer within 300ms" {
		t.Fatalf("delivery log after the timeout: %v", log)
	}
	advance(t, e, clock, 30*time.Second)
	got := rc.WaitFor(t, 2)
	if got[0].EventID() != got[1].EventID() {
		t.Fatal("the retry after a timeout carried another event")
	}
}

func TestDeliveriesToOneWebhookKeepEventOrder(t *testing.T) {
	clock := jobs.NewManualClock(time.Now())
	e := apitest.New(t, apitest.WithOutboundAllowPrivate(), apitest.WithClock(clock))
	tid := newTenant(t, e)
	rc := apitest.NewReceiver(t)
	rc.Respond(func(_ *http.Request, n int) int {
		if n <= 3 { // the first event fails three times
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	mustWebhook(t, e, tid, &e.Super, rc.URL(), "component.created")
	var comps []string
	for range 5 {
		comps = append(comps, newComponentEvent(t, e, tid))
	}
	for i := 0; len(rc.Received()) < 8 && i < 20; i++ {
		e.QuietJobs(t)
		advance(t, e, clock, 10*time.Minute)
	}
	got := rc.WaitFor(t, 8)
	var order []string
	for _, d := range got {
		data, _ := d.Event["data"].(map[string]any)
		order = append(order, fmt.Sprint(data["resource_id"]))
	}
	want := append([]string{comps[0], comps[0], comps[0]}, comps...)
	if !slices.Equal(order, want) {
		t.Fatalf("deliveries in order\n%v\nwant\n%v", order, want)
	}
	if rc.Overlaps() != 0 {
		t.Fatalf("%d deliveries to the webhook overlapped", rc.Overlaps())
	}
}

func TestWebhookFailingForADayIsDisabledWithAnEventAndAReason(t *testing.T) {
	clock := jobs.NewManualClock(time.Now())
	e := apitest.New(t, apitest.WithOutboundAllowPrivate(), apitest.WithClock(clock))
	tid := newTenant(t, e)
	down := apitest.NewReceiver(t)
	down.Respond(func(*http.Request, int) int { return http.StatusBadGateway })
	watcher := apitest.NewReceiver(t)
	hook, _ := mustWebhook(t, e, tid, &e.Super, down.URL(), "component.*")
	mustWebhook(t, e, tid, &e.Super, watcher.URL(), "webhook.disabled")
	newComponentEvent(t, e, tid)
	down.WaitFor(t, 1)
	start := clock.Now()
	for clock.Now().Sub(start) < 25*time.Hour {
		advance(t, e, clock, time.Hour)
	}
	h := e.Get(tenantPath(tid, "/webhooks/"+hook), &e.Super).ExpectStatus(t, http.StatusOK)
	reason, _ := h.Attr(t, "disabled_reason").(string)
	if h.Attr(t, "active") != false || !strings.Contains(reason, "failed for 24h0m0s") ||
		!strings.Contains(reason, "the receiver answered 502") || h.Attr(t, "disabled_at") == nil {
		t.Fatalf("after a day of failures: %s", h.Body)
	}
	attempts := len(down.Received())
	if attempts < 10 || attempts > 20 {
		t.Errorf("%d attempts in a day; the backoff plans about 17", attempts)
	}
	got := watcher.WaitFor(t, 1)
	data, _ := got[0].Event["data"].(map[string]any)
	if got[0].Type() != "webhook.disabled" || data["resource_id"] != hook || !strings.Contains(fmt.Sprint(data["reason"]), "failed for") {
		t.Fatalf("the disabled event: %s", got[0].Body)
	}
	// A disabled webhook receives nothing more.
	newComponentEvent(t, e, tid)
	e.QuietJobs(t)
	if len(down.Received()) != attempts {
		t.Error("a disabled webhook still received a delivery")
	}
	// Switching it back on clears the reason.
	h = e.Patch(tenantPath(tid, "/webhooks/"+hook), &e.Super, doc("webhook", map[string]any{"active": true}, nil)).
		ExpectStatus(t, http.StatusOK)
	if h.Attr(t, "disabled_reason") != nil || h.Attr(t, "failing_since") != nil || h.Attr(t, "active") != true {
		t.Fatalf("re-enabled webhook: %s", h.Body)
	}
}

func TestTwoInstancesDeliverEachEventOnce(t *testing.T) {
	a := apitest.New(t, apitest.WithOutboundAllowPrivate())
	b := apitest.New(t, apitest.WithOutboundAllowPrivate(), apitest.WithDatabaseURL(a.DatabaseURL), apitest.WithIssuer(a.Server.URL))
	tid := newTenant(t, a)
	rc := apitest.NewReceiver(t)
	mustWebhook(t, a, tid, &a.Super, rc.URL(), "component.created")
	const events = 40
	for i := range events {
		e := a
		if i%2 == 1 {
			e = b
		}
		newComponent(t, e, tid, &a.Super, map[string]any{"name": fmt.Sprintf("c%02d", i)})
	}
	rc.WaitFor(t, events)
	a.QuietJobs(t)
	got := rc.Received()
	seen := map[string]int{}
	for _, d := range got {
		seen[d.EventID()]++
	}
	if len(got) != events || len(seen) != events {
		t.Fatalf("%d deliveries of %d distinct events, want %d of %d", len(got), len(seen), events, events)
	}
	for i, d := range got {
		data, _ := d.Event["data"].(map[string]any)
		if data["name"] != fmt.Sprintf("c%02d", i) {
			t.Fatalf("delivery %d is %v: out of event order", i, data["name"])
		}
	}
}
