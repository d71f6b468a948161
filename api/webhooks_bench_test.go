package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/api/apitest"
)

// BenchmarkWebhookDeliveries publishes 1,000 events to a tenant with 10
// webhooks (subscribed to everything) and waits until the local receiver
// has all 10,000 deliveries; deliveries/s is the figure (target: ≥ 500).
// Events are published the way a service does, through the outbox in a
// transaction, so fan-out, signing, the POST, the delivery log and the
// queue's bookkeeping are all in the time.
func BenchmarkWebhookDeliveries(b *testing.B) {
	const events, hooks = 1000, 10
	e := apitest.New(b, apitest.WithOutboundAllowPrivate())
	tid := newTenant(b, e)
	var got atomic.Int64
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(rc.Close)
	for range hooks {
		mustWebhook(b, e, tid, &e.Super, rc.URL+"/hooks", "component.*")
	}
	tenant := uuid.MustParse(tid)
	ctx := context.Background()
	var total time.Duration
	delivered := int64(0)
	for b.Loop() {
		start := time.Now()
		got.Store(0)
		for i := range events {
			err := e.App.DB.InTx(ctx, func(ctx context.Context) error {
				return e.App.Events.Emit(ctx, tenant, "component.created", "component", uuid.NewString(),
					map[string]any{"name": fmt.Sprintf("bench-%d", i)})
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		for got.Load() < events*hooks {
			time.Sleep(5 * time.Millisecond)
		}
		total += time.Since(start)
		delivered += events * hooks
	}
	b.ReportMetric(float64(delivered)/total.Seconds(), "deliveries/s")
}

// BenchmarkRequestRecordingAnEvent is the A/B of what publishing events
// costs an API request: PATCH of a component (one audit event), in blocks
// of 20 requests taking turns so all sides see the same machine:
//
//	A: the publishing trigger on audit_events disabled (the request as it
//	   was before webhooks)
//	B: events on, the tenant has no webhook (the trigger's EXISTS only)
//	C: events on, another tenant with a webhook subscribed to everything,
//	   so each request's delivery runs in the background meanwhile
//
// Reported: ns per request for each, and B's and C's overhead over A in
// percent (target: ≤ 10).
func BenchmarkRequestRecordingAnEvent(b *testing.B) {
	e := apitest.New(b, apitest.WithOutboundAllowPrivate())
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	b.Cleanup(rc.Close)
	quiet, busy := newTenant(b, e), newTenant(b, e)
	mustWebhook(b, e, busy, &e.Super, rc.URL+"/hooks", "*")
	urls := []string{
		e.URL(tenantPath(quiet, "/components/"+newComponent(b, e, quiet, &e.Super, map[string]any{"name": "bench"}))),
		"",
		e.URL(tenantPath(busy, "/components/"+newComponent(b, e, busy, &e.Super, map[string]any{"name": "bench"}))),
	}
	urls[1] = urls[0]
	bt := &benchTenant{env: e, auth: apitest.BasicAuth(e.Super)}
	const block = 20
	var spent [3]time.Duration
	var count [3]int
	i := 0
	for b.Loop() {
		side := (i / block) % 3
		if i%block == 0 && side < 2 {
			publishing(b, e, side == 1)
		}
		body := fmt.Sprintf(`{"data":{"type":"component","attributes":{"name":"bench-%d"}}}`, i)
		start := time.Now()
		bt.do(b, http.MethodPatch, urls[side], body, http.StatusOK)
		spent[side] += time.Since(start)
		count[side]++
		i++
	}
	publishing(b, e, true)
	if count[2] == 0 {
		return
	}
	per := func(side int) float64 { return spent[side].Seconds() / float64(count[side]) }
	b.ReportMetric(per(0)*1e9, "ns/req-A-before")
	b.ReportMetric(per(1)*1e9, "ns/req-B-no-webhook")
	b.ReportMetric(per(2)*1e9, "ns/req-C-delivering")
	b.ReportMetric((per(1)/per(0)-1)*100, "B-overhead-%")
	b.ReportMetric((per(2)/per(0)-1)*100, "C-overhead-%")
}

// publishing switches the trigger that publishes audit events.
func publishing(b *testing.B, e *apitest.Env, on bool) {
	b.Helper()
	verb := "DISABLE"
	if on {
		verb = "ENABLE"
	}
	if _, err := e.App.DB.SQL().Exec("ALTER TABLE audit_events " + verb + " TRIGGER audit_events_publish"); err != nil {
		b.Fatal(err)
	}
}
