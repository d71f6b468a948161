package oauth2_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oauthd/oauthd/api/apitest"
)

const callback = "http://127.0.0.1:43117/cb" // never served: the browser stops at the redirect

func webWorld(t *testing.T, scopes ...string) (*world, *oauth2.Config) {
	e := apitest.New(t)
	if len(scopes) == 0 {
		scopes = []string{"tenants.oauth_clients.get"}
	}
	w := newWorld(t, e, clientSpec{name: "Acme Dashboard", clientType: "public",
		grantTypes: []string{"authorization_code", "refresh_token"}, redirectURIs: []string{callback}, scopes: scopes})
	cfg := &oauth2.Config{ClientID: w.clientID, RedirectURL: callback, Scopes: []string{"tenants.oauth_clients.get"},
		Endpoint: oauth2.Endpoint{AuthURL: e.URL("/oauth/authorize"), TokenURL: e.URL("/oauth/token"), AuthStyle: oauth2.AuthStyleInParams}}
	return w, cfg
}

// redirected is where a redirect to the client's callback went, with its
// query; the test fails unless p is such a redirect.
func redirected(t *testing.T, p *page) url.Values {
	t.Helper()
	if p.status != http.StatusFound {
		t.Fatalf("status %d at %s, want 302 to the callback:\n%s", p.status, p.url, p.body)
	}
	loc, err := url.Parse(p.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != callback {
		t.Fatalf("redirected to %s, want %s", loc, callback)
	}
	return loc.Query()
}

// consent signs in (when asked to) and returns the consent page.
func consent(t *testing.T, b *browser, authURL, email string) *page {
	t.Helper()
	p := b.get(authURL)
	expectStatus(t, p, http.StatusOK)
	expectPageHeaders(t, p)
	if len(p.forms()) > 0 && p.forms()[0].action == "/oauth/sign-in" {
		p = b.signIn(p, email)
	}
	return p
}

func TestAuthorizationCodeWithPKCE(t *testing.T) {
	w, cfg := webWorld(t)
	e := w.e
	ctx := e.OAuth2Context(context.Background())
	verifier := oauth2.GenerateVerifier()
	state := "st&te=1 ü/?#" // echoed exactly
	b := newBrowser(t, e)

	p := b.get(cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)))
	expectStatus(t, p, http.StatusOK)
	expectPageHeaders(t, p)
	signIn := p.form(t, "/oauth/sign-in")
	for _, name := range []string{"email", "password", "csrf", "return_to"} {
		if !signIn.values.Has(name) {
			t.Errorf("sign-in form lacks %s: %v", name, signIn.values)
		}
	}
	p = b.signIn(p, w.email)
	expectStatus(t, p, http.StatusOK)
	expectPageHeaders(t, p)
	text := p.text()
	for _, want := range []string{"Acme Dashboard", "acme", "Read the tenant's OAuth clients", "Signed in as " + w.email} {
		if !strings.Contains(text, want) {
			t.Errorf("consent page lacks %q:\n%s", want, text)
		}
	}
	f := p.form(t, "/oauth/authorize")
	if f.values.Get("csrf") == "" || f.values.Get("code_challenge") == "" {
		t.Fatalf("consent form: %v", f.values)
	}
	q := redirected(t, b.submit(f, nil, "decision", "approve"))
	if q.Get("state") != state || q.Get("code") == "" || q.Has("error") {
		t.Fatalf("callback query %v, want the code and state %q", q, state)
	}
	code := q.Get("code")

	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.RefreshToken == "" || tok.Extra("expires_in") != float64(900) || tok.Extra("scope") != "tenants.oauth_clients.get" ||
		tok.Extra("actor") != w.clientID {
		t.Fatalf("token: %+v expires_in=%v scope=%v actor=%v", tok, tok.Extra("expires_in"), tok.Extra("scope"), tok.Extra("actor"))
	}
	bearer := http.Header{"Authorization": {"Bearer " + tok.AccessToken}}
	e.Do(apitest.Request{Method: http.MethodGet, Path: "/v2/tenants/" + w.tenantID + "/oauth-clients", Header: bearer}).
		ExpectStatus(t, http.StatusOK)
	// The user is an admin, but the token's scope only reads.
	e.Do(apitest.Request{Method: http.MethodPost, Path: "/v2/tenants/" + w.tenantID + "/oauth-clients", Header: bearer,
		Body: doc("oauth-client", map[string]any{"client_id": "x", "client_secret": "y"})}).
		ExpectStatus(t, http.StatusForbidden)

	// A code works once.
	_, err = cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Fatalf("second exchange: %v, want invalid_grant", err)
	}

	// Signed in already, the next authorization goes straight to consent.
	p = b.get(cfg.AuthCodeURL("again", oauth2.S256ChallengeOption(verifier)))
	expectStatus(t, p, http.StatusOK)
	p.form(t, "/oauth/authorize")
}

func TestAuthorizeCloud66Spelling(t *testing.T) {
	// redirect_url for redirect_uri, comma-separated scopes (Cloud 66's authentication docs).
	w, cfg := webWorld(t, "tenants.oauth_clients.get", "role:viewer")
	verifier := oauth2.GenerateVerifier()
	q := url.Values{"response_type": {"code"}, "client_id": {w.clientID}, "redirect_url": {callback},
		"scope": {"tenants.oauth_clients.get,role:viewer"}, "state": {"xyz"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"}}
	b := newBrowser(t, w.e)
	p := consent(t, b, w.e.URL("/oauth/authorize?"+q.Encode()), w.email)
	expectStatus(t, p, http.StatusOK)
	if text := p.text(); !strings.Contains(text, "Everything the viewer role may do:") || !strings.Contains(text, "Read the tenant's flows") {
		t.Errorf("consent page: %s", text)
	}
	got := redirected(t, b.submit(p.form(t, "/oauth/authorize"), nil, "decision", "approve"))
	if got.Get("state") != "xyz" || got.Get("code") == "" {
		t.Fatalf("callback query: %v", got)
	}
	tok, err := cfg.Exchange(w.e.OAuth2Context(context.Background()), got.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.Extra("scope") != "tenants.oauth_clients.get role:viewer" {
		t.Fatalf("scope %v", tok.Extra("scope"))
	}
}

func TestAuthorizeErrors(t *testing.T) {
	w, cfg := webWorld(t)
	e := w.e
	verifier := oauth2.GenerateVerifier()
	challenge := oauth2.S256ChallengeFromVerifier(verifier)
	base := func(extra map[string]string) string {
		q := url.Values{"response_type": {"code"}, "client_id": {w.clientID}, "redirect_uri": {callback}, "state": {"st"},
			"code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		for k, v := range extra {
			if v == "" {
				q.Del(k)
			} else {
				q.Set(k, v)
			}
		}
		return e.URL("/oauth/authorize?" + q.Encode())
	}

	// Nothing is redirected until the client and redirect URI are known good.
	for name, u := range map[string]string{
		"unregistered redirect URI": base(map[string]string{"redirect_uri": "https://evil.example/cb"}),
		"localhost for 127.0.0.1":   base(map[string]string{"redirect_uri": "http://localhost:43117/cb"}),
		"unknown client":            base(map[string]string{"client_id": "o2c_nosuchclient"}),
		"no client":                 base(map[string]string{"client_id": ""}),
		"two redirect URIs":         base(map[string]string{"redirect_url": "https://evil.example/cb"}),
	} {
		t.Run(name, func(t *testing.T) {
			e := e.For(t)
			p := newBrowser(t, e).get(u)
			expectStatus(t, p, http.StatusBadRequest)
			expectPageHeaders(t, p)
			if p.header.Get("Location") != "" || p.problem() == "" {
				t.Fatalf("want an error page, got Location %q and %s", p.header.Get("Location"), p.body)
			}
		})
	}

	// Errors that go back to the client, with the state.
	for name, tc := range map[string]struct {
		extra map[string]string
		code  string
	}{
		"PKCE plain refused":       {map[string]string{"code_challenge_method": "plain", "code_challenge": verifier}, "invalid_request"},
		"PKCE method left out":     {map[string]string{"code_challenge_method": ""}, "invalid_request"},
		"public client needs PKCE": {map[string]string{"code_challenge": "", "code_challenge_method": ""}, "invalid_request"},
		"malformed challenge":      {map[string]string{"code_challenge": "short"}, "invalid_request"},
		"response type token":      {map[string]string{"response_type": "token"}, "unsupported_response_type"},
		"no response type":         {map[string]string{"response_type": ""}, "invalid_request"},
		"scope not allowed":        {map[string]string{"scope": "tenants.oauth_clients.delete"}, "invalid_scope"},
		"unknown scope":            {map[string]string{"scope": "tenants.nothing.get"}, "invalid_scope"},
	} {
		t.Run(name, func(t *testing.T) {
			e := e.For(t)
			q := redirected(t, newBrowser(t, e).get(base(tc.extra)))
			if q.Get("error") != tc.code || q.Get("state") != "st" || q.Get("error_description") == "" || q.Has("code") {
				t.Fatalf("callback query %v, want error %s with state", q, tc.code)
			}
		})
	}

	b := newBrowser(t, e)
	p := consent(t, b, cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)), w.email)
	expectStatus(t, p, http.StatusOK)
	f := p.form(t, "/oauth/authorize")

	t.Run("deny", func(t *testing.T) {
		q := redirected(t, b.submit(f, nil, "decision", "deny"))
		if q.Get("error") != "access_denied" || q.Get("state") != "st" || q.Has("code") {
			t.Fatalf("callback query %v", q)
		}
	})
	t.Run("missing csrf", func(t *testing.T) {
		v := url.Values{}
		for k, vs := range f.values {
			v[k] = vs
		}
		v.Del("csrf")
		v.Set("decision", "approve")
		p := b.post("/oauth/authorize", v)
		expectStatus(t, p, http.StatusForbidden)
		expectPageHeaders(t, p)
		if p.header.Get("Location") != "" {
			t.Fatal("a form without its token was acted on")
		}
	})
	t.Run("csrf of another session", func(t *testing.T) {
		e := e.For(t)
		other := newBrowser(t, e)
		consent(t, other, cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)), w.email)
		p := other.submit(f, nil, "decision", "approve") // b's token, other's session
		expectStatus(t, p, http.StatusForbidden)
	})
	t.Run("tampered hidden input", func(t *testing.T) {
		// The posted request is checked again: a redirect URI changed in
		// the form is refused like one in the URL.
		g := form{action: f.action, values: url.Values{}, buttons: f.buttons}
		for k, vs := range f.values {
			g.values[k] = vs
		}
		g.values.Set("redirect_uri", "https://evil.example/cb")
		p := b.submit(g, nil, "decision", "approve")
		expectStatus(t, p, http.StatusBadRequest)
	})
	t.Run("not a member", func(t *testing.T) {
		e := e.For(t)
		createUser(t, e, "outsider@else.test")
		ob := newBrowser(t, e)
		p := ob.signIn(ob.get(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier))), "outsider@else.test")
		expectStatus(t, p, http.StatusForbidden)
		expectPageHeaders(t, p)
		if !strings.Contains(p.text(), "not a member") || strings.Contains(p.text(), "Acme Dashboard") {
			t.Fatalf("page: %s", p.text())
		}
		if len(p.forms()) != 1 || p.forms()[0].action != "/oauth/sign-out" {
			t.Fatalf("the page offers no way to switch accounts: %v", p.forms())
		}
	})
	t.Run("superuser who is no member", func(t *testing.T) {
		e := e.For(t)
		// Tokens are per membership (authserver's Check): a superuser
		// outside the tenant is refused like anyone else (membership_test.go).
		superEmail := "boss@oauthd.test"
		createSuperuser(t, e, superEmail)
		sb := newBrowser(t, e)
		p := sb.signIn(sb.get(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier))), superEmail)
		expectStatus(t, p, http.StatusForbidden)
		if !strings.Contains(p.text(), "not a member") {
			t.Fatalf("page: %s", p.text())
		}
	})
}
