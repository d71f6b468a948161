package api_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthd/oauthd/api/apitest"
)

// fakeDNS resolves the test's host names; anything else does not resolve.
func fakeDNS(_ context.Context, host string) ([]net.IP, error) {
	names := map[string][]string{
		"hooks.example.test":    {"93.184.216.34"},
		"internal.example.test": {"10.20.30.40"},
		"loopback.example.test": {"127.0.0.1"},
		"metadata.example.test": {"169.254.169.254"},
		"mixed.example.test":    {"93.184.216.34", "192.168.1.10"},
		"v6local.example.test":  {"fd00::10"},
	}
	addrs, ok := names[host]
	if !ok {
		return nil, errors.New("no such host")
	}
	var out []net.IP
	for _, a := range addrs {
		out = append(out, net.ParseIP(a))
	}
	return out, nil
}

func TestWebhookURLsReachingPrivateNetworksAreRefused(t *testing.T) {
	e := apitest.New(t, apitest.WithOutboundLookup(fakeDNS))
	tid := newTenant(t, e)
	refused := []string{
		"https://127.0.0.1/hooks", "https://127.1.2.3:8443/hooks", "https://localhost/hooks", "https://[::1]/hooks",
		"https://10.0.0.1/hooks", "https://172.16.5.5/hooks", "https://172.31.0.1/hooks", "https://192.168.0.1/hooks",
		"https://169.254.169.254/latest/meta-data/", "https://169.254.1.1/hooks", "https://[fe80::1]/hooks",
		"https://[fc00::1]/hooks", "https://[fd12:3456::1]/hooks", "https://[::ffff:127.0.0.1]/hooks",
		"https://[::ffff:169.254.169.254]/", "https://0.0.0.0/hooks", "https://100.64.0.1/hooks",
		"https://internal.example.test/hooks", "https://loopback.example.test/hooks", "https://metadata.example.test/",
		"https://mixed.example.test/hooks", "https://v6local.example.test/hooks",
		"http://hooks.example.test/hooks", // plain http outside development
		"https://nowhere.example.test/hooks", "ftp://hooks.example.test/", "hooks.example.test/hooks", "",
		"https://user:pass@hooks.example.test/hooks",
	}
	before := countRows(t, e, `SELECT count(*) FROM webhooks`)
	for _, url := range refused {
		r := e.Post(tenantPath(tid, "/webhooks"), &e.Super, webhookDoc(url, "*"))
		obj := expectError(t, r, http.StatusUnprocessableEntity, "invalid_webhook_url", "/data/attributes/url")
		if detail, _ := obj["detail"].(string); !strings.HasPrefix(detail, "url ") {
			t.Errorf("%s: detail %q does not name url", url, detail)
		}
	}
	if n := countRows(t, e, `SELECT count(*) FROM webhooks`); n != before {
		t.Fatalf("refused creates stored %d webhooks", n-before)
	}
	// A public host is accepted (inactive, so nothing is sent to it from here);
	// changing it to a private one is refused and changes nothing.
	r := e.Post(tenantPath(tid, "/webhooks"), &e.Super, doc("webhook",
		map[string]any{"url": "https://hooks.example.test/oauthd", "events": []string{"*"}, "active": false}, nil)).
		ExpectStatus(t, http.StatusCreated)
	id := r.ID(t)
	r = e.Patch(tenantPath(tid, "/webhooks/"+id), &e.Super, doc("webhook", map[string]any{"url": "https://169.254.169.254/"}, nil))
	expectError(t, r, http.StatusUnprocessableEntity, "invalid_webhook_url", "/data/attributes/url")
	if got := e.Get(tenantPath(tid, "/webhooks/"+id), &e.Super).Attr(t, "url"); got != "https://hooks.example.test/oauthd" {
		t.Fatalf("url changed to %v", got)
	}
}

func TestWebhookValidationNamesEveryProblem(t *testing.T) {
	e := apitest.New(t, apitest.WithOutboundAllowPrivate())
	tid := newTenant(t, e)
	r := e.Post(tenantPath(tid, "/webhooks"), &e.Super, doc("webhook", map[string]any{}, nil))
	expectError(t, r, http.StatusUnprocessableEntity, "invalid_webhook_url", "/data/attributes/url")
	expectError(t, r, http.StatusUnprocessableEntity, "events_required", "/data/attributes/events")

	r = e.Post(tenantPath(tid, "/webhooks"), &e.Super, doc("webhook", map[string]any{
		"url": "http://127.0.0.1:9/x", "events": []string{"api_client.*", "nope.*", "api_client.exploded"},
		"description": strings.Repeat("d", 501)}, nil))
	obj := expectError(t, r, http.StatusUnprocessableEntity, "unknown_event_type", "/data/attributes/events")
	if d, _ := obj["detail"].(string); !strings.Contains(d, `"nope.*"`) || !strings.Contains(d, `"api_client.exploded"`) {
		t.Errorf("detail does not name the unknown patterns: %q", d)
	}
	expectError(t, r, http.StatusUnprocessableEntity, "invalid_description", "/data/attributes/description")

	r = e.Post(tenantPath(tid, "/webhooks"), &e.Super, doc("webhook", map[string]any{"url": 7, "events": "api_client.*"}, nil))
	r.ExpectStatus(t, http.StatusBadRequest)
	r = e.Post(tenantPath(tid, "/webhooks"), &e.Super, doc("webhook", map[string]any{"url": "http://127.0.0.1:9/x",
		"events": []string{"*"}, "secret": "mine"}, nil))
	r.ExpectStatus(t, http.StatusBadRequest) // secrets are generated, never chosen

	for _, bad := range []string{"filter[active]=maybe", "filter[color]=red", "sort=secret", "page[size]=101"} {
		e.Get(tenantPath(tid, "/webhooks?"+bad), &e.Super).ExpectStatus(t, http.StatusBadRequest)
	}
	if n := countRows(t, e, `SELECT count(*) FROM webhooks`); n != 0 {
		t.Fatalf("invalid requests stored %d webhooks", n)
	}
}

func TestWebhookSecretsShownOnceAndRotatedWithOverlap(t *testing.T) {
	e := apitest.New(t, apitest.WithOutboundAllowPrivate())
	tid := newTenant(t, e)
	rc := apitest.NewReceiver(t)
	id, first := mustWebhook(t, e, tid, &e.Super, rc.URL(), "component.*")
	for _, path := range []string{"/webhooks/" + id, "/webhooks", "/webhooks/" + id + "/secrets"} {
		if body := string(e.Get(tenantPath(tid, path), &e.Super).ExpectStatus(t, http.StatusOK).Body); strings.Contains(body, first) ||
			strings.Contains(body, `"secret"`) {
			t.Errorf("GET %s shows the secret: %s", path, body)
		}
	}
	expectError(t, e.Post(tenantPath(tid, "/webhooks/"+id+"/secrets"), &e.Super,
		doc("webhook-secret", map[string]any{"previous_secrets_expire_in": 604801}, nil)),
		http.StatusUnprocessableEntity, "invalid_overlap", "/data/attributes/previous_secrets_expire_in")

	r := e.Post(tenantPath(tid, "/webhooks/"+id+"/secrets"), &e.Super, doc("webhook-secret", map[string]any{}, nil)).
		ExpectStatus(t, http.StatusCreated)
	second, _ := r.Attr(t, "secret").(string)
	if r.Header.Get("Cache-Control") != "no-store" || second == first || r.Attr(t, "expires_at") != nil {
		t.Fatalf("rotation response: %s", r.Body)
	}
	list := e.Get(tenantPath(tid, "/webhooks/"+id+"/secrets"), &e.Super).ExpectStatus(t, http.StatusOK).List(t)
	old, _ := list[0]["attributes"].(map[string]any)
	exp, err := time.Parse(time.RFC3339, old["expires_at"].(string))
	if err != nil || time.Until(exp) < 23*time.Hour || time.Until(exp) > 25*time.Hour {
		t.Fatalf("the old secret should sign for a day more: %v", old)
	}
	// During the overlap both verify; deleting the old one leaves only the new.
	newComponentEvent(t, e, tid)
	got := rc.WaitFor(t, 1)
	verifyAll(t, got, first)
	verifyAll(t, got, second)
	oldID, _ := list[0]["id"].(string)
	e.Delete(tenantPath(tid, "/webhooks/"+id+"/secrets/"+oldID), &e.Super).ExpectStatus(t, http.StatusNoContent)
	newComponentEvent(t, e, tid)
	got = rc.WaitFor(t, 2)
	verifyAll(t, got[1:], second)
	if sig := got[1].Header.Get("Oauthd-Signature"); strings.Count(sig, "v1=") != 1 {
		t.Errorf("after the old secret's deletion: %q", sig)
	}
	newID := r.ID(t)
	expectError(t, e.Delete(tenantPath(tid, "/webhooks/"+id+"/secrets/"+newID), &e.Super),
		http.StatusConflict, "last_webhook_secret", "")
	// Rotating with no overlap stops the previous secret at once.
	r = e.Post(tenantPath(tid, "/webhooks/"+id+"/secrets"), &e.Super,
		doc("webhook-secret", map[string]any{"previous_secrets_expire_in": 0}, nil)).ExpectStatus(t, http.StatusCreated)
	third, _ := r.Attr(t, "secret").(string)
	newComponentEvent(t, e, tid)
	got = rc.WaitFor(t, 3)
	verifyAll(t, got[2:], third)
	if sig := got[2].Header.Get("Oauthd-Signature"); strings.Count(sig, "v1=") != 1 {
		t.Errorf("a rotation without overlap still signs with the old secret: %q", sig)
	}
}

func TestWebhookPermissions(t *testing.T) {
	e := apitest.New(t, apitest.WithOutboundAllowPrivate())
	tid := newTenant(t, e)
	url := apitest.NewReceiver(t).URL()
	admin := newMember(t, e, tid, []string{"admin"}, nil)
	owner := newMember(t, e, tid, []string{"owner"}, nil)
	developer := newMember(t, e, tid, []string{"developer"}, nil)
	viewer := newMember(t, e, tid, []string{"viewer"}, nil)
	id, _ := mustWebhook(t, e, tid, &admin, url, "*")
	mustWebhook(t, e, tid, &owner, url, "*")
	for _, c := range []apitest.Creds{developer, viewer} {
		expectError(t, e.Get(tenantPath(tid, "/webhooks"), &c), http.StatusForbidden, "permission_denied", "")
		expectError(t, e.Post(tenantPath(tid, "/webhooks"), &c, webhookDoc(url, "*")), http.StatusForbidden, "permission_denied", "")
		expectError(t, e.Get(tenantPath(tid, "/webhooks/"+id+"/deliveries"), &c), http.StatusForbidden, "permission_denied", "")
	}
	e.Delete(tenantPath(tid, "/webhooks/"+id), &admin).ExpectStatus(t, http.StatusNoContent)
	e.Get(tenantPath(tid, "/webhooks/"+id), &owner).ExpectStatus(t, http.StatusNotFound)
}

func TestWebhookLimitHoldsUnderConcurrentCreates(t *testing.T) {
	e := apitest.New(t, apitest.WithOutboundAllowPrivate())
	tid := newTenant(t, e)
	url := apitest.NewReceiver(t).URL()
	const tries = 30
	var created, refused atomic.Int32
	apitest.Race(t, tries, func(_ int, t testing.TB) {
		r := e.For(t).Post(tenantPath(tid, "/webhooks"), &e.Super, doc("webhook",
			map[string]any{"url": url, "events": []string{"*"}, "active": false}, nil))
		switch r.Status {
		case http.StatusCreated:
			created.Add(1)
		case http.StatusConflict:
			expectError(t, r, http.StatusConflict, "too_many_webhooks", "")
			refused.Add(1)
		default:
			t.Errorf("status %d: %s", r.Status, r.Body)
		}
	})
	if created.Load() != 20 || refused.Load() != tries-20 {
		t.Fatalf("%d created and %d refused, want 20 and %d", created.Load(), refused.Load(), tries-20)
	}
	if n := countRows(t, e, `SELECT count(*) FROM webhooks`); n != 20 {
		t.Fatalf("%d webhooks stored, want the limit of 20", n)
	}
}
