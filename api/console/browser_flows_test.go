package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/oauthd/oauthd/api/apitest"
)

// Generate an API client in Encore's dialog, use its secret at the token
// endpoint, see the secret gone once the page is left, revoke the client
// and see its token refused.
func TestBrowserGenerateUseAndRevokeAPIClient(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	owner := newMember(t, e, tid, []string{"owner"}, nil)
	b := newTab(t)
	b.signIn(e.URL(""), owner)

	b.do(chromedp.Navigate(e.URL("/console/tenants/" + tid + "/api-clients")))
	b.click(`a[href$="/api-clients/new"]`, "form#generate-api-client")
	b.do(chromedp.SendKeys(chromedp.ID("name"), "deploy-bot"), chromedp.Click(chromedp.ID("role-viewer")))
	b.shot("generate-api-client")
	b.click(`form#generate-api-client button[type=submit]`, `[data-testid="client-secret"]`)
	id, secret := b.text(`[data-testid="client-id"]`), b.text(`[data-testid="client-secret"]`)
	if !strings.HasPrefix(id, "o2c_") || len(secret) < 32 {
		t.Fatalf("client %q secret %q", id, secret)
	}
	if !strings.Contains(b.bodyText(), "you won't be able to see this secret again") {
		t.Error("no warning that the secret is shown once")
	}
	// The script ran under the CSP: the copy buttons are shown.
	if hidden := eval[bool](b, `document.querySelector('button.copy[data-copy="client-secret"]').hidden`); hidden {
		t.Error("the copy button stayed hidden: the console's script did not run")
	}
	b.shot("api-client-secret-once")

	token, err := clientToken(t, e, id, secret)
	if err != nil {
		t.Fatalf("the secret from the page does not work at the token endpoint: %v", err)
	}
	if s := bearerStatus(t, e, tid, token); s != http.StatusOK {
		t.Fatalf("token: %d", s)
	}

	// Leaving the page: the list, the client's page, and back in history
	// show no secret.
	b.click(`a.button[href*="/api-clients/"]`, "dl.facts")
	if strings.Contains(b.bodyText(), secret) {
		t.Error("the client's page shows the secret")
	}
	b.shot("api-client-detail")
	// The page was a form's answer, kept by no cache: the browser cannot
	// show it again (an error page, or a resubmission that makes another
	// client with another secret).
	_ = chromedp.Do(b.ctx, chromedp.NavigateBack())
	if strings.Contains(b.bodyText(), secret) {
		t.Error("going back shows the secret again")
	}
	b.do(chromedp.Navigate(e.URL("/console/tenants/"+tid+"/api-clients")), chromedp.WaitVisible(chromedp.ID("api-clients")))
	if strings.Contains(b.bodyText(), secret) {
		t.Error("the list shows the secret")
	}

	// Revoke, with its confirmation.
	b.click(`#api-clients a`, "dl.facts")
	b.click(`a[href$="/revoke"]`, "form#confirm-revoke")
	if !strings.Contains(b.bodyText(), "every live token of the client stops working") {
		t.Error("the confirmation does not say what happens to the tokens")
	}
	b.shot("api-client-revoke")
	b.click(`form#confirm-revoke button[type=submit]`, "p.notice")
	if s := bearerStatus(t, e, tid, token); s != http.StatusUnauthorized {
		t.Errorf("the revoked client's token: %d, want 401", s)
	}
}

// Create and delete an OAuth client, and the explanation when flows use it.
func TestBrowserOAuthClientAndInUse(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	owner := newMember(t, e, tid, []string{"owner"}, nil)
	comp := newOAuthComponent(t, e, tid, "salesforce")
	b := newTab(t)
	b.signIn(e.URL(""), owner)

	b.do(chromedp.Navigate(e.URL("/console/tenants/" + tid + "/oauth-clients")))
	b.click(`a[href$="/oauth-clients/new"]`, "form#create-oauth-client")
	b.do(chromedp.SetValue(chromedp.ID("component"), comp),
		chromedp.SendKeys(chromedp.ID("client_id"), "sf-connected-app"),
		chromedp.SendKeys(chromedp.ID("client_secret"), "sf-secret-from-salesforce"))
	b.shot("create-oauth-client")
	b.click(`form#create-oauth-client button[type=submit]`, `[data-testid="oauth-client-id"]`)
	if got := b.text(`[data-testid="oauth-client-id"]`); got != "sf-connected-app" {
		t.Fatalf("created %q", got)
	}
	if strings.Contains(b.bodyText(), "sf-secret-from-salesforce") {
		t.Error("the page shows the stored secret")
	}
	b.shot("oauth-client")

	flow := newFlow(t, e, tid, "nightly-sync", comp)
	b.click(`a[href$="/delete"]`, "form#confirm-delete")
	b.click(`form#confirm-delete button[type=submit]`, "#in-use")
	if !strings.Contains(b.text("#in-use"), "nightly-sync") {
		t.Errorf("the in-use explanation does not name the flow: %s", b.text("#in-use"))
	}
	b.shot("oauth-client-in-use")

	e.Delete("/v2/tenants/"+tid+"/flows/"+flow, &e.Super).ExpectStatus(t, http.StatusNoContent)
	b.do(chromedp.NavigateBack(), chromedp.WaitVisible(chromedp.CSS("form#confirm-delete")))
	b.click(`form#confirm-delete button[type=submit]`, "p.notice")
	if list := e.Get("/v2/tenants/"+tid+"/oauth-clients", &e.Super).List(t); len(list) != 0 {
		t.Errorf("%d OAuth clients after the delete", len(list))
	}
	// On a phone's width nothing scrolls sideways.
	b.do(chromedp.EmulateViewport(390, 844), chromedp.Navigate(e.URL("/console/tenants/"+tid+"/api-clients/new")),
		chromedp.WaitVisible(chromedp.CSS("form#generate-api-client")))
	if wide := eval[bool](b, "document.documentElement.scrollWidth > window.innerWidth"); wide {
		t.Error("the page is wider than a phone's screen")
	}
	b.shot("phone-generate-api-client")
}

// Connect an account with oauthd as its own provider: the Connect link,
// oauthd's consent page, and back to a ready connection.
func TestBrowserConnectAnAccount(t *testing.T) {
	e := apitest.New(t, apitest.WithOutboundAllowPrivate())
	tid := newTenant(t, e)
	owner := newMember(t, e, tid, []string{"owner"}, nil)
	comp := selfProvider(t, e, tid)
	b := newTab(t)
	b.signIn(e.URL(""), owner)

	b.do(chromedp.Navigate(e.URL("/console/tenants/" + tid + "/connections")))
	b.click(`a[href$="/connections/new"]`, "form#create-connection")
	b.do(chromedp.SendKeys(chromedp.ID("name"), "our-own-account"), chromedp.SetValue(chromedp.ID("component"), comp))
	b.click(`form#create-connection button[type=submit]`, `[data-testid="authorize-url"]`)
	b.click(`[data-testid="authorize-url"]`, `button[name=decision][value=approve]`)
	b.shot("connect-consent")
	b.clickTo(`button[name=decision][value=approve]`, "/connect/callback")
	if !strings.Contains(b.bodyText(), "connected") {
		t.Fatalf("after consent: %s", b.bodyText())
	}
	b.do(chromedp.Navigate(e.URL("/console/tenants/"+tid+"/connections")), chromedp.WaitVisible(chromedp.ID("connections")))
	if got := b.text(`[data-testid="connection-state"]`); got != "ready" {
		t.Errorf("connection state %q", got)
	}
	b.shot("connections")
}

// Approve an application on the consent page, then revoke it from
// Authorized applications: its token and refresh token stop working.
func TestBrowserRevokeAuthorizedApplication(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	p := newMember(t, e, tid, []string{"viewer"}, nil)
	var mu sync.Mutex
	var code string
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cb" {
			mu.Lock()
			code = r.URL.Query().Get("code")
			mu.Unlock()
		}
		_, _ = w.Write([]byte("<h1>Dashboard</h1>"))
	}))
	t.Cleanup(app.Close)
	made := e.Post("/v2/tenants/"+tid+"/api-clients", &e.Super, doc("api-client", map[string]any{"name": "Dashboard",
		"client_type": "confidential", "grant_types": []string{"authorization_code", "refresh_token"},
		"redirect_uris": []string{app.URL + "/cb"}, "scopes": []string{"tenants.flows.get"}}, nil)).ExpectStatus(t, http.StatusCreated)
	id, _ := made.Attr(t, "client_id").(string)
	secret, _ := made.Attr(t, "client_secret").(string)
	conf := &oauth2.Config{ClientID: id, ClientSecret: secret, RedirectURL: app.URL + "/cb", Scopes: []string{"tenants.flows.get"},
		Endpoint: oauth2.Endpoint{AuthURL: e.URL("/oauth/authorize"), TokenURL: e.URL("/oauth/token")}}

	b := newTab(t)
	b.signIn(e.URL(""), p)
	verifier := oauth2.GenerateVerifier()
	b.do(chromedp.Navigate(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier))))
	b.clickTo(`button[name=decision][value=approve]`, app.URL)
	mu.Lock()
	got := code
	mu.Unlock()
	if got == "" {
		t.Fatalf("no code reached the application (at %s)", b.location())
	}
	tok, err := conf.Exchange(e.OAuth2Context(context.Background()), got, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}

	b.do(chromedp.Navigate(e.URL("/console/account")), chromedp.WaitVisible(chromedp.ID("authorized-applications")))
	if !strings.Contains(b.text("#authorized-applications"), "Dashboard") {
		t.Fatalf("authorized applications: %s", b.text("#authorized-applications"))
	}
	b.shot("authorized-applications")
	b.click(`form[id^="revoke-grant"] button`, "#no-applications")
	if s := bearerStatus(t, e, tid, tok.AccessToken); s != http.StatusUnauthorized {
		t.Errorf("the application's token after the revocation: %d, want 401", s)
	}
	if _, err := conf.TokenSource(e.OAuth2Context(context.Background()), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Error("the refresh token still works")
	}
}

// Create a webhook in the console: its signing secret is shown once with
// a copy button, then an event of the tenant is delivered to a receiver
// and appears in the webhook's delivery log.
func TestBrowserWebhookSecretOnceAndDeliveryLog(t *testing.T) {
	e := apitest.New(t, apitest.WithOutboundAllowPrivate())
	rc := apitest.NewReceiver(t)
	tid := newTenant(t, e)
	owner := newMember(t, e, tid, []string{"owner"}, nil)
	b := newTab(t)
	b.signIn(e.URL(""), owner)

	b.do(chromedp.Navigate(e.URL("/console/tenants/" + tid)))
	b.click(`#sections a[href$="/webhooks"]`, "main h1")
	b.click(`a[href$="/webhooks/new"]`, "form#create-webhook")
	// API client events only: "every event" off, the api_client group
	// opened and its "every api_client event" on.
	b.do(chromedp.SendKeys(chromedp.ID("url"), rc.URL()), chromedp.SendKeys(chromedp.ID("description"), "CRM sync"),
		chromedp.Click(chromedp.ID("events-all")))
	eval[bool](b, `document.getElementById('events-api_client-all').closest('details').open = true`)
	b.do(chromedp.Click(chromedp.ID("events-api_client-all"), chromedp.NodeVisible))
	b.shot("create-webhook")
	b.click(`form#create-webhook button[type=submit]`, `[data-testid="webhook-secret"]`)
	secret := b.text(`[data-testid="webhook-secret"]`)
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret %q", secret)
	}
	if !strings.Contains(b.bodyText(), "you won't be able to see this secret again") {
		t.Error("no warning that the secret is shown once")
	}
	if hidden := eval[bool](b, `document.querySelector('button.copy[data-copy="webhook-secret"]').hidden`); hidden {
		t.Error("the copy button stayed hidden: the console's script did not run")
	}
	b.shot("webhook-secret-once")
	b.click(`a.button[href*="/webhooks/"]`, "dl.facts")
	if strings.Contains(b.bodyText(), secret) {
		t.Error("the webhook's page shows the secret")
	}

	// An event of the tenant: delivered, and in the log.
	e.Post("/v2/tenants/"+tid+"/api-clients", &e.Super, doc("api-client", map[string]any{"name": "deploy-bot",
		"client_type": "confidential", "grant_types": []string{"client_credentials"}}, nil)).ExpectStatus(t, http.StatusCreated)
	got := rc.WaitFor(t, 1)
	if len(got) != 1 || got[0].Type() != "api_client.created" {
		t.Fatalf("the receiver got %d deliveries, the first %s", len(got), got[0].Type())
	}
	eventID := got[0].EventID()
	logPath := strings.TrimPrefix(b.location(), e.URL("")) + "/deliveries"
	apitest.Eventually(t, 30*time.Second, func() error {
		b.do(chromedp.Navigate(e.URL(logPath)), chromedp.WaitVisible(chromedp.CSS("main h1")))
		if text := b.bodyText(); !strings.Contains(text, eventID) || strings.Contains(text, "not delivered") {
			return fmt.Errorf("the delivery log does not show %s delivered yet", eventID)
		}
		return nil
	})
	if !strings.Contains(b.text("#deliveries"), "api_client.created") || strings.Contains(b.bodyText(), secret) {
		t.Errorf("the delivery log: %s", b.text("#deliveries"))
	}
	b.shot("webhook-delivery-log")
	b.do(chromedp.Navigate(e.URL("/console/tenants/"+tid+"/webhooks")), chromedp.WaitVisible(chromedp.ID("webhooks")))
	if got := b.text(`[data-testid="webhook-state"]`); got != "enabled" {
		t.Errorf("the list shows the webhook %q", got)
	}
	b.shot("webhooks")
}
