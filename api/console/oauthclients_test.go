package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
)

func TestOAuthClientPages(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	owner := newMember(t, e, tid, []string{"owner"}, nil)
	crm := newOAuthComponent(t, e, tid, "crm")
	billing := newOAuthComponent(t, e, tid, "billing")
	plain := e.Post("/v2/tenants/"+tid+"/components", &e.Super, doc("component", map[string]any{"name": "no-oauth"}, nil)).
		ExpectStatus(t, http.StatusCreated).ID(t)
	b := newBrowser(t, e)
	b.signIn(owner)
	base := "/console/tenants/" + tid + "/oauth-clients"

	// The form offers only the components that use an OAuth client.
	form := b.get(base + "/new").expect(http.StatusOK)
	opts := form.Doc.Find("form#create-oauth-client select[name=component] option[value!='']")
	if opts.Length() != 2 || form.has(`option[value="`+plain+`"]`) {
		t.Errorf("component choices: %d, want crm and billing only", opts.Length())
	}

	// Problems come back next to their fields, and the secret is not echoed.
	bad := b.submit(form, "create-oauth-client", map[string]string{"component": crm, "client_id": "", "client_secret": "typed-secret-1"})
	bad.expect(http.StatusUnprocessableEntity)
	if bad.fieldError("client_id") == "" || bad.Doc.Find("#client_id").AttrOr("aria-invalid", "") != "true" {
		t.Errorf("no problem shown next to client_id:\n%s", bad.text())
	}
	if strings.Contains(string(bad.Body), "typed-secret-1") {
		t.Error("the refused form echoes the secret")
	}

	const secret = "crm-secret-value-0001"
	created := b.submit(bad, "create-oauth-client", map[string]string{"component": crm, "client_id": "crm-app", "client_secret": secret})
	created.expect(http.StatusOK)
	if !strings.HasPrefix(created.URL.Path, base+"/") || created.testid("oauth-client-id") != "crm-app" || !strings.Contains(created.text(), "Created.") {
		t.Fatalf("after create: %s\n%s", created.URL, created.text())
	}
	ocPath := created.URL.Path
	if strings.Contains(string(created.Body), secret) || !strings.Contains(created.text(), "…0001") {
		t.Error("the detail page shows the secret, or no hint")
	}
	// A second client for the same component: 409 on the component field.
	again := b.submit(b.get(base+"/new"), "create-oauth-client", map[string]string{"component": crm, "client_id": "x", "client_secret": "y-secret"})
	again.expect(http.StatusConflict)
	if again.fieldError("component") == "" {
		t.Errorf("duplicate: no problem on the component:\n%s", again.text())
	}

	// The list, filtered by component.
	other := newOAuthClient(t, e, tid, billing, "billing-app", "billing-secret-2")
	all := b.get(base).expect(http.StatusOK)
	if n := all.Doc.Find("table#oauth-clients tbody tr").Length(); n != 2 {
		t.Errorf("list has %d rows, want 2", n)
	}
	filtered := b.submit(all, "filter-oauth-clients", map[string]string{"component": billing})
	rows := filtered.Doc.Find("table#oauth-clients tbody tr")
	if rows.Length() != 1 || !strings.Contains(rows.Text(), "billing-app") {
		t.Errorf("filtered list: %q", rows.Text())
	}

	// Edit: an empty secret keeps the stored one.
	edited := b.submit(b.get(ocPath), "edit-oauth-client", map[string]string{"client_id": "crm-app-2", "client_secret": ""})
	if edited.testid("oauth-client-id") != "crm-app-2" {
		t.Errorf("after edit: %s", edited.text())
	}

	// Reveal: a confirmation, then the secret on that answer only, audited.
	confirm := b.get(ocPath + "/reveal").expect(http.StatusOK)
	if !strings.Contains(confirm.text(), "audit trail") || strings.Contains(string(confirm.Body), secret) {
		t.Error("the reveal confirmation shows the secret or does not say it is audited")
	}
	revealed := b.submit(confirm, "confirm-reveal", nil).expect(http.StatusOK)
	if revealed.testid("oauth-client-secret") != secret {
		t.Errorf("revealed %q", revealed.testid("oauth-client-secret"))
	}
	if strings.Contains(string(b.get(ocPath).Body), secret) {
		t.Error("the secret is on the detail page after the reveal")
	}
	events := b.get("/console/tenants/" + tid + "/audit-events?action=oauth_client.reveal_secret").expect(http.StatusOK)
	if n := events.Doc.Find("table#audit-events tbody tr").Length(); n != 1 || !strings.Contains(events.text(), owner.Email) {
		t.Errorf("reveal audit events: %d\n%s", n, events.text())
	}

	// Delete while a flow uses the component: refused, explained, flows named.
	flow := newFlow(t, e, tid, "nightly-sync", crm)
	del := b.get(ocPath + "/delete").expect(http.StatusOK)
	refused := b.submit(del, "confirm-delete", nil).expect(http.StatusConflict)
	link := refused.Doc.Find(`#in-use a[href$="/flows/` + flow + `"]`)
	if link.Length() != 1 || link.Text() != "nightly-sync" {
		t.Errorf("in-use page does not name the flow:\n%s", refused.text())
	}
	// Once the flow lets go, the delete goes through.
	e.Delete("/v2/tenants/"+tid+"/flows/"+flow, &e.Super).ExpectStatus(t, http.StatusNoContent)
	gone := b.submit(b.get(ocPath+"/delete"), "confirm-delete", nil).expect(http.StatusOK)
	if gone.URL.Path != base || gone.has(`a[href="`+ocPath+`"]`) || !strings.Contains(gone.text(), "Deleted.") {
		t.Errorf("after delete: %s\n%s", gone.URL, gone.text())
	}
	e.Get("/v2/tenants/"+tid+"/oauth-clients/"+other, &e.Super).ExpectStatus(t, http.StatusOK)
}
