package console_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/webhooks"
)

// hookEnv is a tenant whose webhooks deliver to a receiver on loopback,
// and its owner signed in to the console.
type hookEnv struct {
	e     *apitest.Env
	tid   string
	owner person
	b     *browser
	rc    *apitest.Receiver
	base  string
}

func newHookEnv(t *testing.T) *hookEnv {
	t.Helper()
	e := apitest.New(t, apitest.WithOutboundAllowPrivate())
	h := &hookEnv{e: e, tid: newTenant(t, e), rc: apitest.NewReceiver(t)}
	h.owner = newMember(t, e, h.tid, []string{"owner"}, nil)
	h.b = newBrowser(t, e)
	h.b.signIn(h.owner)
	h.base = "/console/tenants/" + h.tid + "/webhooks"
	return h
}

// create fills form create-webhook and returns the one-time page.
func (h *hookEnv) create(t *testing.T, hookURL string, events ...string) *page {
	t.Helper()
	form := h.b.get(h.base + "/new").expect(http.StatusOK)
	vals := formValues(form.Doc.Find("form#create-webhook"))
	vals.Set("url", hookURL)
	vals.Del("events")
	for _, ev := range events {
		vals.Add("events", ev)
	}
	return h.b.post(h.base, vals)
}

// auditActions are the tenant's audit actions with their actor's email.
func auditActions(t *testing.T, e *apitest.Env, tid string) []string {
	t.Helper()
	var out []string
	for _, ev := range e.Get("/v2/tenants/"+tid+"/audit-events?page[size]=100", &e.Super).ExpectStatus(t, http.StatusOK).List(t) {
		attrs, _ := ev["attributes"].(map[string]any)
		action, _ := attrs["action"].(string)
		email, _ := attrs["actor_email"].(string)
		out = append(out, action+" by "+email)
	}
	return out
}

func hasAction(list []string, want string) bool {
	for _, a := range list {
		if a == want {
			return true
		}
	}
	return false
}

// Create a webhook in the console: the signing secret is on the answer
// and nowhere after it, it signs the deliveries of the tenant's events,
// the list and the page show the webhook, the delivery log shows the
// delivered event, and the create is audited as the user.
func TestWebhookCreatedSecretShownOnceAndDelivered(t *testing.T) {
	h := newHookEnv(t)
	list := h.b.get(h.base).expect(http.StatusOK)
	if !list.has(`a[href$="/webhooks/new"]`) || !list.has("p.empty") {
		t.Fatalf("the empty list has no New webhook button:\n%s", list.text())
	}
	home := h.b.get("/console/tenants/" + h.tid).expect(http.StatusOK)
	if !home.has(`#sections a[href$="/webhooks"]`) || !home.has(`nav.tenant a[href$="/webhooks"]`) {
		t.Error("the tenant's home and navigation do not link the webhooks")
	}
	form := h.b.get(h.base + "/new").expect(http.StatusOK)
	if !form.has("form#create-webhook input#url") || !form.has(`form#create-webhook input[name=events][value="*"][checked]`) ||
		!form.has(`input[name=events][value="api_client.*"]`) || !form.has(`input[name=events][value="api_client.secret_created"]`) {
		t.Fatal("the create form lacks the url field or the event choices")
	}

	none := h.create(t, h.rc.URL()).expect(http.StatusUnprocessableEntity)
	if none.fieldError("events") == "" {
		t.Errorf("no events: no problem next to the events:\n%s", none.text())
	}
	if none.Doc.Find("input#url").AttrOr("value", "") != h.rc.URL() {
		t.Error("the refused form lost the url")
	}
	bad := h.create(t, "ftp://files.example.test/x", "*").expect(http.StatusUnprocessableEntity)
	if bad.fieldError("url") == "" {
		t.Errorf("an ftp url: no problem next to the url:\n%s", bad.text())
	}

	made := h.create(t, h.rc.URL(), "api_client.*").expect(http.StatusCreated)
	secret := made.testid("webhook-secret")
	if !strings.HasPrefix(secret, webhooks.SecretPrefix) || made.Header.Get("Cache-Control") != "no-store" ||
		!strings.Contains(made.text(), "you won't be able to see this secret again") || !made.has(`button.copy[data-copy="webhook-secret"]`) {
		t.Fatalf("the one-time page: secret %q, Cache-Control %q:\n%s", secret, made.Header.Get("Cache-Control"), made.text())
	}
	hooks := h.e.Get("/v2/tenants/"+h.tid+"/webhooks", &h.e.Super).ExpectStatus(t, http.StatusOK).List(t)
	if len(hooks) != 1 {
		t.Fatalf("%d webhooks after the create", len(hooks))
	}
	id, _ := hooks[0]["id"].(string)

	// An event of the tenant reaches the receiver, signed with the secret.
	h.e.Post("/v2/tenants/"+h.tid+"/api-clients", &h.e.Super, doc("api-client", map[string]any{"name": "bot",
		"client_type": "confidential", "grant_types": []string{"client_credentials"}}, nil)).ExpectStatus(t, http.StatusCreated)
	got := h.rc.WaitFor(t, 1)[0]
	if err := webhooks.Verify(got.Header.Get(webhooks.SignatureHeader), got.Body, secret, time.Now(), time.Minute); err != nil || got.Type() != "api_client.created" {
		t.Fatalf("delivery %s: the page's secret does not verify it: %v", got.Type(), err)
	}

	var log *page
	apitest.Eventually(t, 30*time.Second, func() error {
		log = h.b.get(h.base + "/" + id + "/deliveries").expect(http.StatusOK)
		if log.Doc.Find(`[data-testid="delivered-at"]`).Text() == "not delivered" || !log.has(`[data-testid="delivery"]`) {
			return errString("the delivery log does not show the delivery yet")
		}
		return nil
	})
	row := log.Doc.Find(`[data-testid="delivery"]`)
	if row.Length() != 1 || row.Find(`[data-testid="event-id"]`).Text() != got.EventID() ||
		row.Find(`[data-testid="event-type"]`).Text() != "api_client.created" || row.Find(`[data-testid="attempts"]`).Text() != "1" ||
		!strings.Contains(row.Text(), "200") {
		t.Errorf("the delivery log row: %s", strings.Join(strings.Fields(row.Text()), " "))
	}

	for _, path := range []string{h.base, h.base + "/" + id, h.base + "/" + id + "/deliveries", h.base + "/" + id + "/delete",
		"/console/tenants/" + h.tid + "/audit-events"} {
		pg := h.b.get(path).expect(http.StatusOK)
		if strings.Contains(string(pg.Body), secret) {
			t.Errorf("%s shows the signing secret", path)
		}
	}
	listed := h.b.get(h.base).expect(http.StatusOK)
	if !strings.Contains(listed.Doc.Find("table#webhooks").Text(), h.rc.URL()) || listed.testid("webhook-state") != "enabled" ||
		!strings.Contains(listed.Doc.Find("table#webhooks").Text(), "api_client.*") {
		t.Errorf("the list: %s", listed.text())
	}
	if acts := auditActions(t, h.e, h.tid); !hasAction(acts, "webhook.create by "+h.owner.Email) {
		t.Errorf("the create is not audited as the user: %v", acts)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// The outbound address rule refuses a loopback or private URL when it is
// saved: a 422 with the rule's sentence next to the url field, on create
// and edit alike, and nothing saved.
func TestWebhookPrivateURLRefusedNextToTheField(t *testing.T) {
	e := apitest.New(t) // the production rule: private addresses refused
	tid := newTenant(t, e)
	owner := newMember(t, e, tid, []string{"owner"}, nil)
	b := newBrowser(t, e)
	b.signIn(owner)
	h := &hookEnv{e: e, tid: tid, owner: owner, b: b, base: "/console/tenants/" + tid + "/webhooks"}
	for _, u := range []string{"https://127.0.0.1/hooks", "https://10.1.2.3/hooks", "https://localhost/hooks", "http://203.0.113.9/hooks"} {
		pg := h.create(t, u, "*").expect(http.StatusUnprocessableEntity)
		msg := pg.fieldError("url")
		if msg == "" || !strings.Contains(msg, "url must") || pg.Doc.Find("input#url").AttrOr("aria-invalid", "") != "true" {
			t.Errorf("%s: the refusal is not next to the url field: %q\n%s", u, msg, pg.text())
		}
	}
	if n := len(e.Get("/v2/tenants/"+tid+"/webhooks", &e.Super).List(t)); n != 0 {
		t.Fatalf("%d webhooks saved from refused forms", n)
	}
	// Edit: a webhook made on the API (inactive, so nothing is sent),
	// then a private URL in its edit form.
	id := e.Post("/v2/tenants/"+tid+"/webhooks", &e.Super, doc("webhook", map[string]any{"url": "https://192.0.2.1/hooks",
		"events": []string{"*"}, "active": false}, nil)).ExpectStatus(t, http.StatusCreated)
	pg := b.get(h.base + "/" + id.ID(t)).expect(http.StatusOK)
	refused := b.submit(pg, "edit-webhook", map[string]string{"url": "https://169.254.169.254/latest"}).expect(http.StatusUnprocessableEntity)
	if refused.fieldError("url") == "" {
		t.Errorf("edit with a link-local url: no problem next to the url:\n%s", refused.text())
	}
	if got := e.Get("/v2/tenants/"+tid+"/webhooks/"+id.ID(t), &e.Super).Attr(t, "url"); got != "https://192.0.2.1/hooks" {
		t.Errorf("the refused edit changed the url to %v", got)
	}
}

// The webhook's page: edit, disable and enable, rotate the secret with an
// overlap (the new one shown once, the previous one signing until the
// overlap ends), delete a secret (never the only live one), and delete the
// webhook after its confirmation; each step audited as the user.
func TestWebhookEditToggleRotateAndDelete(t *testing.T) {
	h := newHookEnv(t)
	made := h.create(t, h.rc.URL(), "*").expect(http.StatusCreated)
	first := made.testid("webhook-secret")
	detail := h.b.get(made.Doc.Find(`a.button[href*="/webhooks/"]`).AttrOr("href", "")).expect(http.StatusOK)
	id := strings.TrimPrefix(detail.URL.Path, h.base+"/")
	api := "/v2/tenants/" + h.tid + "/webhooks/" + id

	// Edit: events and description.
	vals := formValues(detail.Doc.Find("form#edit-webhook"))
	vals.Del("events")
	vals.Add("events", "member.*")
	vals.Add("events", "api_client.deleted")
	vals.Set("description", "to the CRM")
	saved := h.b.post(detail.URL.Path, vals).expect(http.StatusOK)
	if !strings.Contains(saved.text(), "Saved.") || !saved.has(`form#edit-webhook input[value="member.*"][checked]`) ||
		saved.has(`form#edit-webhook input[value="*"][checked]`) {
		t.Errorf("after the edit: %s", saved.text())
	}
	got := h.e.Get(api, &h.e.Super).ExpectStatus(t, http.StatusOK)
	if ev := got.Attr(t, "events"); len(ev.([]any)) != 2 || got.Attr(t, "description") != "to the CRM" {
		t.Errorf("the API shows events %v, description %v", ev, got.Attr(t, "description"))
	}
	vals = formValues(saved.Doc.Find("form#edit-webhook"))
	vals.Del("events")
	if pg := h.b.post(detail.URL.Path, vals); pg.Status != http.StatusUnprocessableEntity || pg.fieldError("events") == "" {
		t.Errorf("an edit without events: %d, or no problem next to the events", pg.Status)
	}

	// Disable, then enable.
	off := h.b.submit(saved, "disable-webhook", nil).expect(http.StatusOK)
	if off.testid("webhook-state") != "disabled" || !off.has("form#enable-webhook") || off.has("form#disable-webhook") {
		t.Errorf("after disable: %s", off.text())
	}
	if h.e.Get(api, &h.e.Super).Attr(t, "active") != false {
		t.Error("the API still shows it active")
	}
	on := h.b.submit(off, "enable-webhook", nil).expect(http.StatusOK)
	if on.testid("webhook-state") != "enabled" || h.e.Get(api, &h.e.Super).Attr(t, "active") != true {
		t.Errorf("after enable: %s", on.text())
	}

	// Rotate with an hour's overlap: a refused choice first.
	if pg := h.b.submit(on, "rotate-secret", map[string]string{"previous_secrets_expire_in": "5"}); pg.Status != http.StatusUnprocessableEntity ||
		pg.fieldError("previous_secrets_expire_in") == "" {
		t.Errorf("an overlap not offered: %d, or no problem next to it", pg.Status)
	}
	rotated := h.b.submit(on, "rotate-secret", map[string]string{"previous_secrets_expire_in": "3600"}).expect(http.StatusCreated)
	second := rotated.testid("webhook-secret")
	if second == first || !strings.HasPrefix(second, webhooks.SecretPrefix) || !rotated.has("#previous-secrets") {
		t.Fatalf("the rotation's page: %s", rotated.text())
	}
	secrets := h.e.Get(api+"/secrets", &h.e.Super).ExpectStatus(t, http.StatusOK).List(t)
	if len(secrets) != 2 {
		t.Fatalf("%d secrets after the rotation", len(secrets))
	}
	oldAttrs, _ := secrets[0]["attributes"].(map[string]any)
	expires, _ := time.Parse(time.RFC3339, oldAttrs["expires_at"].(string))
	if left := time.Until(expires); left < 50*time.Minute || left > 61*time.Minute {
		t.Errorf("the previous secret stops signing in %s, want an hour", left)
	}
	page2 := h.b.get(detail.URL.Path).expect(http.StatusOK)
	for _, s := range []string{first, second} {
		if strings.Contains(string(page2.Body), s) {
			t.Error("the webhook's page shows a signing secret")
		}
	}
	if page2.Doc.Find("table#secrets tbody tr").Length() != 2 || page2.Doc.Find(`table#secrets form[id^="delete-secret-"]`).Length() != 2 {
		t.Fatalf("two live secrets, each deletable: %s", page2.Doc.Find("table#secrets").Text())
	}
	oldID, _ := secrets[0]["id"].(string)
	afterDelete := h.b.submit(page2, "delete-secret-"+oldID, nil).expect(http.StatusOK)
	if !strings.Contains(afterDelete.text(), "stops signing deliveries at once") || afterDelete.has(`table#secrets form[id^="delete-secret-"]`) ||
		!strings.Contains(afterDelete.Doc.Find("table#secrets").Text(), "the only live secret") {
		t.Errorf("after deleting the previous secret, the only live one is still offered for deletion: %s", afterDelete.text())
	}
	newID, _ := h.e.Get(api+"/secrets", &h.e.Super).List(t)[0]["id"].(string)
	csrf := afterDelete.Doc.Find("form#rotate-secret input[name=csrf]").AttrOr("value", "")
	if pg := h.b.post(detail.URL.Path+"/secrets/"+newID+"/delete", map[string][]string{"csrf": {csrf}}); pg.Status != http.StatusConflict {
		t.Errorf("deleting the only live secret: %d, want 409", pg.Status)
	}

	// Delete, with its confirmation.
	confirm := h.b.get(afterDelete.Doc.Find(`a.button.danger[href$="/delete"]`).AttrOr("href", "")).expect(http.StatusOK)
	if !strings.Contains(confirm.text(), "cannot be undone") {
		t.Error("the confirmation does not say what happens")
	}
	gone := h.b.submit(confirm, "confirm-delete", nil).expect(http.StatusOK)
	if gone.URL.Path != h.base || !strings.Contains(gone.text(), "Deleted.") {
		t.Errorf("after delete: %s %s", gone.URL.Path, gone.text())
	}
	h.e.Get(api, &h.e.Super).ExpectStatus(t, http.StatusNotFound)
	h.b.get(detail.URL.Path).expect(http.StatusNotFound)

	acts := auditActions(t, h.e, h.tid)
	for _, a := range []string{"webhook.create", "webhook.update", "webhook_secret.create", "webhook_secret.delete", "webhook.delete"} {
		if !hasAction(acts, a+" by "+h.owner.Email) {
			t.Errorf("%s is not in the audit trail as the user: %v", a, acts)
		}
	}
}

// A failing receiver: the delivery log shows the attempt, its status and
// error, the next attempt and no delivery; a webhook oauthd switched off
// shows why, in the list and on its page.
func TestWebhookDeliveryLogShowsFailuresAndDisabledReason(t *testing.T) {
	h := newHookEnv(t)
	h.rc.Respond(func(*http.Request, int) int { return http.StatusServiceUnavailable })
	made := h.create(t, h.rc.URL(), "member.*").expect(http.StatusCreated)
	detailPath := made.Doc.Find(`a.button[href*="/webhooks/"]`).AttrOr("href", "")
	empty := h.b.get(detailPath + "/deliveries").expect(http.StatusOK)
	if !empty.has("#no-deliveries") {
		t.Errorf("no event yet: %s", empty.text())
	}
	newMember(t, h.e, h.tid, []string{"viewer"}, nil)
	h.rc.WaitFor(t, 1)
	// The attempt is logged, then its job is put back with the time of
	// its retry: wait until the log shows both.
	apitest.Eventually(t, 30*time.Second, func() error {
		log := h.b.get(detailPath + "/deliveries").expect(http.StatusOK)
		r := log.Doc.Find(`[data-testid="delivery"]`)
		row := strings.Join(strings.Fields(r.Text()), " ")
		if r.Length() != 1 {
			return errString("the log shows no event yet")
		}
		for _, want := range []string{"member.created", "503", "the receiver answered 503", "not delivered", " UTC"} {
			if !strings.Contains(row, want) {
				return errString("the failed delivery's row lacks " + want + ": " + row)
			}
		}
		return nil
	})

	// A second event waits behind the first (a webhook's events are
	// delivered in order) while the first is retried.
	newMember(t, h.e, h.tid, []string{"viewer"}, nil)
	apitest.Eventually(t, 30*time.Second, func() error {
		rows := h.b.get(detailPath + "/deliveries").expect(http.StatusOK).Doc.Find(`[data-testid="delivery"]`)
		if rows.Length() != 2 {
			return errString("the log does not show the second event yet")
		}
		newest := strings.Join(strings.Fields(rows.First().Text()), " ")
		if !strings.Contains(newest, "not tried yet") || !strings.Contains(newest, "after the events before it") ||
			rows.First().Find(`[data-testid="attempts"]`).Text() != "0" {
			return errString("the second event is not shown waiting its turn: " + newest)
		}
		return nil
	})

	// oauthd switches a webhook off after a day of failures, saying why.
	id := strings.TrimPrefix(detailPath, h.base+"/")
	if _, err := h.e.App.DB.SQL().Exec(`UPDATE webhooks SET active = false, disabled_reason = 'deliveries failed for 24h0m0s', disabled_at = now() WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{h.base, detailPath} {
		pg := h.b.get(path).expect(http.StatusOK)
		if pg.testid("webhook-state") != "disabled" || !strings.Contains(pg.testid("disabled-reason"), "deliveries failed for 24h0m0s") {
			t.Errorf("%s does not say why the webhook is off: %s", path, pg.text())
		}
	}
}

// Permissions per page and button: tenants.webhooks.get alone reads the
// list, the page and the log with no button; without it the section is
// not linked and answers 403; every form needs its CSRF token.
func TestWebhookPagesFollowPermissionsAndCSRF(t *testing.T) {
	h := newHookEnv(t)
	made := h.create(t, h.rc.URL(), "*").expect(http.StatusCreated)
	detailPath := made.Doc.Find(`a.button[href*="/webhooks/"]`).AttrOr("href", "")

	reader := newBrowser(t, h.e)
	reader.signIn(newMember(t, h.e, h.tid, nil, []string{"tenants.webhooks.get"}))
	list := reader.get(h.base).expect(http.StatusOK)
	if list.has(`a[href$="/webhooks/new"]`) || !list.has("table#webhooks") {
		t.Errorf("a reader's list: %s", list.text())
	}
	detail := reader.get(detailPath).expect(http.StatusOK)
	if n := detail.Doc.Find("main form").Length(); n != 0 || detail.has(`a[href$="/delete"]`) {
		t.Errorf("a reader sees %d forms or a delete link on the webhook's page", n)
	}
	reader.get(detailPath + "/deliveries").expect(http.StatusOK)
	token := reader.get("/console/account").Doc.Find("form#create-api-key input[name=csrf]").AttrOr("value", "")
	for _, action := range []string{h.base, detailPath, detailPath + "/disable", detailPath + "/enable", detailPath + "/secrets", detailPath + "/delete"} {
		if pg := reader.post(action, map[string][]string{"csrf": {token}, "url": {h.rc.URL()}, "events": {"*"}}); pg.Status != http.StatusForbidden {
			t.Errorf("a reader's POST %s: %d, want 403", action, pg.Status)
		}
	}
	for _, path := range []string{h.base + "/new", detailPath + "/delete"} {
		reader.get(path).expect(http.StatusForbidden)
	}

	viewer := newBrowser(t, h.e)
	viewer.signIn(newMember(t, h.e, h.tid, []string{"viewer"}, nil))
	home := viewer.get("/console/tenants/" + h.tid).expect(http.StatusOK)
	if home.has(`a[href$="/webhooks"]`) {
		t.Error("a member without tenants.webhooks.get is shown the webhooks")
	}
	viewer.get(h.base).expect(http.StatusForbidden)
	viewer.get(detailPath).expect(http.StatusForbidden)

	// CSRF: the owner's own forms, without a token and with another
	// session's, change nothing.
	owner := h.b.get(detailPath).expect(http.StatusOK)
	for _, id := range []string{"disable-webhook", "rotate-secret", "edit-webhook"} {
		f := owner.Doc.Find("form#" + id)
		vals := formValues(f)
		action := f.AttrOr("action", "")
		vals.Del("csrf")
		if pg := h.b.post(action, vals); pg.Status != http.StatusForbidden {
			t.Errorf("%s without its token: %d, want 403", id, pg.Status)
		}
		vals.Set("csrf", token)
		if pg := h.b.post(action, vals); pg.Status != http.StatusForbidden {
			t.Errorf("%s with another session's token: %d, want 403", id, pg.Status)
		}
	}
	create := h.b.get(h.base + "/new")
	vals := formValues(create.Doc.Find("form#create-webhook"))
	vals.Set("url", h.rc.URL())
	vals.Del("csrf")
	h.b.post(h.base, vals).expect(http.StatusForbidden)
	got := h.e.Get("/v2/tenants/"+h.tid+"/webhooks", &h.e.Super).List(t)
	if len(got) != 1 || len(h.e.Get("/v2/tenants/"+h.tid+"/webhooks/"+got[0]["id"].(string)+"/secrets", &h.e.Super).List(t)) != 1 {
		t.Error("a form without its token changed something")
	}
	attrs, _ := got[0]["attributes"].(map[string]any)
	if attrs["active"] != true {
		t.Error("the disable form without its token disabled the webhook")
	}

	// A non-member: 404, as for a tenant that does not exist.
	stranger := newBrowser(t, h.e)
	stranger.signIn(newPerson(t, h.e))
	stranger.get(detailPath).expect(http.StatusNotFound)
	stranger.get(h.base).expect(http.StatusNotFound)
}
