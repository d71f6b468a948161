package console_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/oauthd/oauthd/api/apitest"
)

// clientToken gets a client-credentials token with a real OAuth client.
func clientToken(t *testing.T, e *apitest.Env, id, secret string) (string, error) {
	t.Helper()
	cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: e.URL("/oauth/token")}
	tok, err := cc.Token(e.OAuth2Context(context.Background()))
	if err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

// bearerStatus is the API's answer to a token on the tenant's flows.
func bearerStatus(t *testing.T, e *apitest.Env, tid, token string) int {
	t.Helper()
	return e.Do(apitest.Request{Method: http.MethodGet, Path: "/v2/tenants/" + tid + "/flows",
		Header: http.Header{"Authorization": {"Bearer " + token}}}).Status
}

func TestGenerateUseAndRevokeAnAPIClient(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	admin := newMember(t, e, tid, []string{"admin"}, nil)
	b := newBrowser(t, e)
	b.signIn(admin)
	base := "/console/tenants/" + tid + "/api-clients"

	// Only roles whose permissions the admin holds are offered: not owner
	// (reveal_secret) nor platform.
	form := b.get(base + "/new").expect(http.StatusOK)
	var offered []string
	form.Doc.Find("form#generate-api-client input[name=roles]").Each(func(_ int, s *goquery.Selection) {
		offered = append(offered, s.AttrOr("value", ""))
	})
	if strings.Join(offered, ",") != "admin,developer,viewer" {
		t.Errorf("roles offered to an admin: %v", offered)
	}
	// A role beyond the admin's rights, posted anyway, is refused by the domain.
	refused := b.submit(form, "generate-api-client", map[string]string{"name": "sneaky", "roles": "owner"})
	refused.expect(http.StatusForbidden)
	if refused.fieldError("roles") == "" {
		t.Errorf("owner role: no problem next to the roles:\n%s", refused.text())
	}

	made := b.submit(form, "generate-api-client", map[string]string{"name": "deploy-bot", "roles": "viewer"}).expect(http.StatusCreated)
	id, secret := made.testid("client-id"), made.testid("client-secret")
	if !strings.HasPrefix(id, "o2c_") || len(secret) < 32 || !strings.Contains(made.text(), "you won't be able to see this secret again") {
		t.Fatalf("one-time page: %q %q\n%s", id, secret, made.text())
	}
	if made.Doc.Find(`button.copy[data-copy="client-secret"]`).Length() != 1 {
		t.Error("no copy button for the secret")
	}
	token, err := clientToken(t, e, id, secret)
	if err != nil {
		t.Fatalf("the generated secret does not work at the token endpoint: %v", err)
	}
	if s := bearerStatus(t, e, tid, token); s != http.StatusOK {
		t.Fatalf("viewer token on flows: %d", s)
	}

	// Leaving the page, the secret is gone: neither the list nor the detail
	// page shows it.
	list := b.get(base).expect(http.StatusOK)
	detailLink := list.Doc.Find("table#api-clients a").First().AttrOr("href", "")
	detail := b.get(detailLink).expect(http.StatusOK)
	for _, pg := range []*page{list, detail} {
		if strings.Contains(string(pg.Body), secret) {
			t.Errorf("%s shows the secret", pg.URL)
		}
	}
	if detail.testid("client-id") != id || detail.Doc.Find("table#secrets tbody tr").Length() != 1 ||
		!strings.Contains(detail.text(), "…"+secret[len(secret)-4:]) || !strings.Contains(detail.text(), "client_credentials") {
		t.Errorf("detail page:\n%s", detail.text())
	}

	// A second secret for rotation, shown once; then the first is deleted.
	rotated := b.submit(detail, "add-secret", map[string]string{"expires_in": "30"}).expect(http.StatusCreated)
	second := rotated.testid("client-secret")
	if second == secret || rotated.testid("client-id") != id {
		t.Fatal("no new secret")
	}
	detail = b.get(detailLink)
	if n := detail.Doc.Find("table#secrets tbody tr").Length(); n != 2 || strings.Contains(string(detail.Body), second) {
		t.Fatalf("secrets after rotation: %d rows", n)
	}
	firstRow := detail.Doc.Find("table#secrets tbody tr").FilterFunction(func(_ int, s *goquery.Selection) bool {
		return strings.Contains(s.Text(), "…"+secret[len(secret)-4:])
	})
	delID := firstRow.Find("form").AttrOr("id", "")
	after := b.submit(detail, delID, nil).expect(http.StatusOK)
	if !strings.Contains(after.text(), "The secret was deleted") {
		t.Errorf("after deleting a secret:\n%s", after.text())
	}
	if _, err := clientToken(t, e, id, secret); err == nil {
		t.Error("the deleted secret still gets tokens")
	}
	token, err = clientToken(t, e, id, second)
	if err != nil {
		t.Fatalf("the new secret: %v", err)
	}

	// Revoke tokens keeps the client; its old token stops working.
	kept := b.submit(b.get(detailLink+"/revoke-tokens"), "confirm-revoke-tokens", nil).expect(http.StatusOK)
	if kept.URL.Path != detailLink || bearerStatus(t, e, tid, token) != http.StatusUnauthorized {
		t.Errorf("after revoke-tokens: %s, token %d", kept.URL, bearerStatus(t, e, tid, token))
	}
	token, err = clientToken(t, e, id, second)
	if err != nil {
		t.Fatal(err)
	}

	// Revoke: the confirmation says every live token stops working; then
	// the client is gone and its token refused.
	confirm := b.get(detailLink + "/revoke").expect(http.StatusOK)
	if !strings.Contains(confirm.Doc.Find("main").Text(), "every live token of the client stops working") {
		t.Errorf("confirmation:\n%s", confirm.text())
	}
	gone := b.submit(confirm, "confirm-revoke", nil).expect(http.StatusOK)
	if gone.URL.Path != base || gone.has(`a[href="`+detailLink+`"]`) {
		t.Errorf("after revoke: %s", gone.URL)
	}
	if s := bearerStatus(t, e, tid, token); s != http.StatusUnauthorized {
		t.Errorf("token of a revoked client: %d, want 401", s)
	}
	b.get(detailLink).expect(http.StatusNotFound)
}

// A member with api_clients.edit but without the rights a client holds
// sees no button that the domain would refuse.
func TestNoButtonsOnAClientBeyondYourRights(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	dev := newMember(t, e, tid, []string{"developer"}, []string{"tenants.api_clients.edit", "tenants.api_clients.delete"})
	acID := e.Post("/v2/tenants/"+tid+"/api-clients", &e.Super, doc("api-client", map[string]any{"name": "powerful",
		"client_type": "confidential", "grant_types": []string{"client_credentials"}, "roles": []string{"owner"}}, nil)).
		ExpectStatus(t, http.StatusCreated).ID(t)
	b := newBrowser(t, e)
	b.signIn(dev)
	pg := b.get("/console/tenants/" + tid + "/api-clients/" + acID).expect(http.StatusOK)
	if pg.has(`a[href$="/revoke"], a[href$="/revoke-tokens"], form#add-secret, table#secrets form`) {
		t.Error("buttons shown on a client that holds rights the member lacks")
	}
	if !pg.has("#beyond-your-rights") {
		t.Error("no explanation why the client cannot be changed")
	}
	// The domain says the same when the forms are posted anyway.
	csrf := b.get("/console/account").Doc.Find("form#create-api-key input[name=csrf]").AttrOr("value", "")
	for _, action := range []string{"/revoke", "/revoke-tokens", "/secrets"} {
		got := b.post("/console/tenants/"+tid+"/api-clients/"+acID+action, map[string][]string{"csrf": {csrf}})
		if got.Status != http.StatusForbidden {
			t.Errorf("POST %s: %d, want 403", action, got.Status)
		}
	}
}
