package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/internal/jobs"
)

// A receiver's URL often carries its credential in the query (the audit
// trail and events show the URL without it). A delivery that fails before
// any answer (the receiver unreachable) must not write that URL whole into
// the delivery log, the reason the webhook was switched off, the audit
// trail, or the webhook.disabled event other receivers get.
func TestUnreachableReceiverURLCredentialStaysOutOfFailureTexts(t *testing.T) {
	clock := jobs.NewManualClock(time.Now())
	e := apitest.New(t, apitest.WithOutboundAllowPrivate(), apitest.WithClock(clock))
	tid := newTenant(t, e)
	gone := apitest.NewReceiver(t)
	gone.Server.Close() // nothing listens there any more: connection refused
	const credential = "query-credential-7f3a9c"
	watcher := apitest.NewReceiver(t)
	hook, _ := mustWebhook(t, e, tid, &e.Super, gone.URL()+"?token="+credential, "component.*")
	mustWebhook(t, e, tid, &e.Super, watcher.URL(), "webhook.disabled")
	newComponentEvent(t, e, tid)
	e.QuietJobs(t)
	start := clock.Now()
	for clock.Now().Sub(start) < 25*time.Hour {
		advance(t, e, clock, time.Hour)
	}
	h := e.Get(tenantPath(tid, "/webhooks/"+hook), &e.Super).ExpectStatus(t, http.StatusOK)
	if h.Attr(t, "active") != false {
		t.Fatalf("the webhook was not switched off after a day of failures: %s", h.Body)
	}
	reason, _ := h.Attr(t, "disabled_reason").(string)
	if !strings.Contains(reason, "the request failed") || strings.Contains(reason, credential) {
		t.Errorf("disabled_reason: %q", reason)
	}
	log := deliveryLog(t, e, tid, hook)
	if len(log) == 0 {
		t.Fatal("no delivery attempt logged")
	}
	for _, d := range log {
		if text, _ := d["error"].(string); text == "" || strings.Contains(text, credential) {
			t.Errorf("delivery log error: %q", text)
		}
	}
	trail := e.Get(tenantPath(tid, "/audit-events?filter[resource_type]=webhook&page[size]=100"), &e.Super).
		ExpectStatus(t, http.StatusOK)
	if strings.Contains(string(trail.Body), credential) {
		t.Errorf("the audit trail holds the URL's credential: %s", trail.Body)
	}
	got := watcher.WaitFor(t, 1)
	if got[0].Type() != "webhook.disabled" || strings.Contains(string(got[0].Body), credential) {
		t.Errorf("the webhook.disabled event: %s", got[0].Body)
	}
}
