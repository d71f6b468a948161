package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/webhooks"
)

func webhookDoc(url string, events ...string) map[string]any {
	return doc("webhook", map[string]any{"url": url, "events": events}, nil)
}

// mustWebhook creates a webhook and returns its id and signing secret.
func mustWebhook(t testing.TB, e *apitest.Env, tid string, creds *apitest.Creds, url string, events ...string) (string, string) {
	t.Helper()
	r := e.Post(tenantPath(tid, "/webhooks"), creds, webhookDoc(url, events...)).ExpectStatus(t, http.StatusCreated)
	secret, _ := r.Attr(t, "secret").(string)
	if !strings.HasPrefix(secret, webhooks.SecretPrefix) {
		t.Fatalf("create response has no signing secret: %s", r.Body)
	}
	return r.ID(t), secret
}

// verifyAll checks every delivery's signature with secret, as a receiver
// following the documented scheme would.
func verifyAll(t testing.TB, got []apitest.Received, secret string) {
	t.Helper()
	for _, d := range got {
		if ct := d.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("delivery of %s has Content-Type %q", d.Type(), ct)
		}
		if err := webhooks.Verify(d.Header.Get(webhooks.SignatureHeader), d.Body, secret, time.Now(), 5*time.Minute); err != nil {
			t.Errorf("delivery of %s: %v (header %q)", d.Type(), err, d.Header.Get(webhooks.SignatureHeader))
		}
	}
}

func types(got []apitest.Received) []string {
	out := make([]string, len(got))
	for i, d := range got {
		out[i] = d.Type()
	}
	return out
}

func TestEveryAuditedActionReachesTheWebhookSignedAndWithoutSecrets(t *testing.T) {
	e := apitest.New(t, apitest.WithOutboundAllowPrivate())
	tid := newTenant(t, e)
	rc := apitest.NewReceiver(t)
	hookID, hookSecret := mustWebhook(t, e, tid, &e.Super, rc.URL(), "*")
	var secrets []string // every secret the actions below handle: none may reach a receiver
	secrets = append(secrets, hookSecret, e.Super.Key)
	want := []string{"webhook.created"} // a new webhook hears of its own creation
	step := func(eventType string, r *apitest.Response, status int) *apitest.Response {
		t.Helper()
		r.ExpectStatus(t, status)
		want = append(want, eventType)
		return r
	}

	comp := step("component.created", e.Post(tenantPath(tid, "/components"), &e.Super,
		doc("component", map[string]any{"name": "pizza-" + uniq(), "visibility": "tenant", "descriptor": oauthDescriptor()}, nil)),
		http.StatusCreated).ID(t)
	step("component.updated", e.Patch(tenantPath(tid, "/components/"+comp), &e.Super,
		doc("component", map[string]any{"name": "renamed-" + uniq()}, nil)), http.StatusOK)
	ocSecret := "provider-secret-" + uniq() + "-XYZW"
	secrets = append(secrets, ocSecret)
	oc := step("oauth_client.created", newOAuthClient(t, e, tid, &e.Super, comp, "pizza-client", ocSecret), http.StatusCreated).ID(t)
	ocSecret2 := "rotated-provider-secret-" + uniq()
	secrets = append(secrets, ocSecret2)
	step("oauth_client.updated", e.Patch(tenantPath(tid, "/oauth-clients/"+oc), &e.Super,
		doc("oauth-client", map[string]any{"client_secret": ocSecret2}, nil)), http.StatusOK)
	step("oauth_client.secret_revealed", e.Get(tenantPath(tid, "/oauth-clients/"+oc+"/secret"), &e.Super), http.StatusOK)
	flow := step("flow.created", e.Post(tenantPath(tid, "/flows"), &e.Super, flowDoc("sync-"+uniq(), comp)), http.StatusCreated).ID(t)
	step("flow.updated", e.Patch(tenantPath(tid, "/flows/"+flow), &e.Super, doc("flow", map[string]any{"name": "sync2"}, nil)), http.StatusOK)
	step("flow.deleted", e.Delete(tenantPath(tid, "/flows/"+flow), &e.Super), http.StatusNoContent)

	r := step("api_client.created", e.Post(tenantPath(tid, "/api-clients"), &e.Super, apiClientDoc(nil)), http.StatusCreated)
	ac := r.ID(t)
	acSecret, _ := r.Attr(t, "client_secret").(string)
	step("api_client.updated", e.Patch(tenantPath(tid, "/api-clients/"+ac), &e.Super,
		doc("api-client", map[string]any{"name": "renamed-" + uniq()}, nil)), http.StatusOK)
	r = step("api_client.secret_created", e.Post(tenantPath(tid, "/api-clients/"+ac+"/secrets"), &e.Super,
		doc("api-client-secret", map[string]any{}, nil)), http.StatusCreated)
	acSecret2, _ := r.Attr(t, "secret").(string)
	secrets = append(secrets, acSecret, acSecret2)
	step("api_client.secret_deleted", e.Delete(tenantPath(tid, "/api-clients/"+ac+"/secrets/"+r.ID(t)), &e.Super), http.StatusNoContent)
	token := apitest.ClientCredentialsToken(t, e, apitest.MachineClient(t, e, tid, "viewer"))
	want = append(want, "api_client.created") // the machine client
	secrets = append(secrets, token)
	step("api_client.tokens_revoked", e.Post(tenantPath(tid, "/api-clients/"+ac+"/revoke-tokens"), &e.Super, nil), http.StatusNoContent)
	step("api_client.deleted", e.Delete(tenantPath(tid, "/api-clients/"+ac), &e.Super), http.StatusNoContent)

	u := newUser(t, e)
	secrets = append(secrets, u.Key)
	step("member.created", e.Post(tenantPath(tid, "/members"), &e.Super, memberDoc(u.UserID, []string{"viewer"}, nil)), http.StatusCreated)
	step("member.updated", e.Patch(tenantPath(tid, "/members/"+u.UserID), &e.Super,
		doc("member", map[string]any{"roles": []string{"developer"}}, nil)), http.StatusOK)
	step("member.deleted", e.Delete(tenantPath(tid, "/members/"+u.UserID), &e.Super), http.StatusNoContent)
	step("oauth_client.deleted", e.Delete(tenantPath(tid, "/oauth-clients/"+oc), &e.Super), http.StatusNoContent)
	step("component.deleted", e.Delete(tenantPath(tid, "/components/"+comp), &e.Super), http.StatusNoContent)

	r = step("webhook.secret_created", e.Post(tenantPath(tid, "/webhooks/"+hookID+"/secrets"), &e.Super,
		doc("webhook-secret", map[string]any{"previous_secrets_expire_in": 3600}, nil)), http.StatusCreated)
	newHookSecret, _ := r.Attr(t, "secret").(string)
	secrets = append(secrets, newHookSecret)
	step("webhook.updated", e.Patch(tenantPath(tid, "/webhooks/"+hookID), &e.Super,
		doc("webhook", map[string]any{"description": "all events"}, nil)), http.StatusOK)

	got := rc.WaitFor(t, len(want))
	if fmt := types(got); !slices.Equal(fmt, want) {
		t.Fatalf("events arrived as\n%v\nwant (in this order)\n%v", fmt, want)
	}
	// Both the old and the new secret verify during the overlap; before the
	// rotation only the old one signed.
	rotatedAt := slices.Index(want, "webhook.secret_created")
	verifyAll(t, got[:rotatedAt], hookSecret)
	verifyAll(t, got[rotatedAt+1:], hookSecret)
	verifyAll(t, got[rotatedAt+1:], newHookSecret)
	seen := map[string]bool{}
	for _, d := range got {
		for _, s := range secrets {
			if s != "" && strings.Contains(string(d.Body), s) {
				t.Errorf("the %s event carries a secret or token: %s", d.Type(), d.Body)
			}
		}
		if d.Header.Get("Oauthd-Event-Id") != d.EventID() || d.Event["tenant_id"] != tid || d.Event["occurred_at"] == nil {
			t.Errorf("event envelope: %s", d.Body)
		}
		if _, ok := d.Event["data"].(map[string]any); !ok {
			t.Errorf("event without data: %s", d.Body)
		}
		if seen[d.EventID()] {
			t.Errorf("event %s delivered twice to a healthy receiver", d.EventID())
		}
		seen[d.EventID()] = true
	}
	// The delivery log shows every attempt, all successful.
	log := e.Get(tenantPath(tid, "/webhooks/"+hookID+"/deliveries?page[size]=100"), &e.Super).ExpectStatus(t, http.StatusOK)
	if n := len(log.List(t)); n != len(want) {
		t.Fatalf("delivery log has %d entries, want %d", n, len(want))
	}
	for _, d := range log.List(t) {
		a, _ := d["attributes"].(map[string]any)
		if a["success"] != true || a["status_code"] != float64(200) || a["attempt"] != float64(1) || a["error"] != nil {
			t.Errorf("delivery log entry %v", a)
		}
	}
}
