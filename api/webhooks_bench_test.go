package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
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
//	C: events on, the tenant has a webhook subscribed to everything: the
//	   request queues the event (an instance that runs no jobs, as an
//	   API-only instance with OAUTHD_JOB_WORKERS=0 would)
//	D: as C on an instance that also delivers: each request's fan-out and
//	   delivery run meanwhile on the same two cores
//
// Reported: the median over blocks of ns per request for each, and B's,
// C's and D's overhead over A in percent (target: ≤ 10 for what the
// request itself pays).
func BenchmarkRequestRecordingAnEvent(b *testing.B) {
	api := apitest.New(b, apitest.WithOutboundAllowPrivate(), apitest.WithoutJobWorkers())
	both := apitest.New(b, apitest.WithOutboundAllowPrivate())
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
	b.Cleanup(rc.Close)
	target := func(e *apitest.Env, hooked bool) string {
		tid := newTenant(b, e)
		if hooked {
			mustWebhook(b, e, tid, &e.Super, rc.URL+"/hooks", "*")
		}
		return e.URL(tenantPath(tid, "/components/"+newComponent(b, e, tid, &e.Super, map[string]any{"name": "bench"})))
	}
	quiet := target(api, false)
	sides := []struct {
		env *apitest.Env
		url string
	}{{api, quiet}, {api, quiet}, {api, target(api, true)}, {both, target(both, true)}}
	const block = 20
	var spent [4]time.Duration
	var count [4]int
	var blocks [4][]float64 // each block's mean: the median of these resists the machine's bursts
	var blockStart time.Duration
	i := 0
	for b.Loop() {
		side := (i / block) % len(sides)
		if i%block == 0 {
			blockStart = spent[side]
			if side < 2 {
				publishing(b, api, side == 1)
			}
		}
		bt := &benchTenant{env: sides[side].env, auth: apitest.BasicAuth(sides[side].env.Super)}
		body := fmt.Sprintf(`{"data":{"type":"component","attributes":{"name":"bench-%d"}}}`, i)
		start := time.Now()
		bt.do(b, http.MethodPatch, sides[side].url, body, http.StatusOK)
		spent[side] += time.Since(start)
		count[side]++
		i++
		if i%block == 0 {
			blocks[side] = append(blocks[side], (spent[side]-blockStart).Seconds()/block)
		}
	}
	publishing(b, api, true)
	if len(blocks[3]) == 0 {
		return
	}
	per := func(side int) float64 {
		slices.Sort(blocks[side])
		return blocks[side][len(blocks[side])/2]
	}
	b.ReportMetric(per(0)*1e9, "ns/req-A-before")
	b.ReportMetric(per(1)*1e9, "ns/req-B-no-webhook")
	b.ReportMetric(per(2)*1e9, "ns/req-C-queued")
	b.ReportMetric(per(3)*1e9, "ns/req-D-delivering")
	b.ReportMetric((per(1)/per(0)-1)*100, "B-overhead-%")
	b.ReportMetric((per(2)/per(0)-1)*100, "C-overhead-%")
	b.ReportMetric((per(3)/per(0)-1)*100, "D-overhead-%")
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
