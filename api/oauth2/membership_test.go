package oauth2_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/authserver"
)

// A user's token lives only while the user is a member of the token's
// tenant (authserver's Check, code exchange and refresh). The consent and
// device pages apply the same rule, superusers included, so nobody
// approves what could only fail later with invalid_grant.

func createSuperuser(t *testing.T, e *apitest.Env, email string) string {
	t.Helper()
	return e.Post("/v2/users", &e.Super, doc("user", map[string]any{"email": email, "password": testPassword, "superuser": true})).
		ExpectStatus(t, http.StatusCreated).ID(t)
}

func addMember(t *testing.T, e *apitest.Env, tenantID, userID string) {
	t.Helper()
	e.Post("/v2/tenants/"+tenantID+"/members", &e.Super, map[string]any{"data": map[string]any{
		"type": "member", "attributes": map[string]any{"roles": []string{"viewer"}, "permissions": []string{}},
		"relationships": map[string]any{"user": map[string]any{"data": map[string]any{"type": "user", "id": userID}}},
	}}).ExpectStatus(t, http.StatusCreated)
}

func removeMember(t *testing.T, e *apitest.Env, tenantID, userID string) {
	t.Helper()
	e.Delete("/v2/tenants/"+tenantID+"/members/"+userID, &e.Super).ExpectStatus(t, http.StatusNoContent)
}

// expectNotMemberPage checks the 403 page: plain HTML, the problem named,
// the way out (an owner adds the user, or another account), and only the
// sign-out form; superuser says whether the superuser sentence is there.
func expectNotMemberPage(t *testing.T, p *page, superuser bool) {
	t.Helper()
	expectStatus(t, p, http.StatusForbidden)
	expectPageHeaders(t, p)
	if loc := p.header.Get("Location"); loc != "" {
		t.Errorf("the refusal redirects to %s", loc)
	}
	problem := p.problem()
	for _, want := range []string{"not a member of the tenant", "owner of that tenant must add you", "another account"} {
		if !strings.Contains(problem, want) {
			t.Errorf("the page lacks %q: %s", want, problem)
		}
	}
	if got := strings.Contains(problem, "superuser"); got != superuser {
		t.Errorf("superuser sentence shown = %v, want %v: %s", got, superuser, problem)
	}
	if fs := p.forms(); len(fs) != 1 || fs[0].action != "/oauth/sign-out" {
		t.Errorf("want only the sign-out form, got %v", fs)
	}
}

func countRows(t *testing.T, e *apitest.Env, query string, args ...any) int {
	t.Helper()
	var n int
	if err := e.App.DB.SQL().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestConsentNeedsMembership(t *testing.T) {
	w, cfg := webWorld(t)
	e := w.e
	verifier := oauth2.GenerateVerifier()
	authURL := cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier))
	codes := func(uid string) int {
		return countRows(t, e, "SELECT count(*) FROM authorization_codes WHERE user_id = $1", uid)
	}

	superEmail := "boss@oauthd.test"
	superID := createSuperuser(t, e, superEmail)
	sb := newBrowser(t, e)

	t.Run("superuser who is no member", func(t *testing.T) {
		p := sb.signIn(sb.get(authURL), superEmail)
		expectNotMemberPage(t, p, true)
		if strings.Contains(p.text(), "Acme Dashboard") || strings.Contains(p.text(), w.tenant) {
			t.Errorf("the page names the client or the tenant: %s", p.text())
		}
		// Signed in already: the same page again, not the consent.
		expectNotMemberPage(t, sb.get(authURL), true)
		if n := codes(superID); n != 0 {
			t.Fatalf("%d codes issued", n)
		}
	})
	t.Run("plain user who is no member", func(t *testing.T) {
		e := e.For(t)
		createUser(t, e, "outsider@else.test")
		ob := newBrowser(t, e)
		expectNotMemberPage(t, ob.signIn(ob.get(authURL), "outsider@else.test"), false)
	})
	t.Run("consent posted after the membership ended", func(t *testing.T) {
		e := e.For(t)
		addMember(t, e, w.tenantID, superID)
		p := sb.get(authURL)
		expectStatus(t, p, http.StatusOK)
		f := p.form(t, "/oauth/authorize")
		removeMember(t, e, w.tenantID, superID)
		for _, decision := range []string{"approve", "deny"} {
			expectNotMemberPage(t, sb.submit(f, nil, "decision", decision), true)
		}
		if n := codes(superID); n != 0 {
			t.Fatalf("%d codes issued", n)
		}
	})
	t.Run("superuser who is a member", func(t *testing.T) {
		e := e.For(t)
		addMember(t, e, w.tenantID, superID)
		p := sb.get(authURL)
		expectStatus(t, p, http.StatusOK)
		q := redirected(t, sb.submit(p.form(t, "/oauth/authorize"), nil, "decision", "approve"))
		if q.Get("code") == "" {
			t.Fatalf("callback query %v", q)
		}
		if _, err := cfg.Exchange(e.OAuth2Context(context.Background()), q.Get("code"), oauth2.VerifierOption(verifier)); err != nil {
			t.Fatalf("exchange: %v", err)
		}
	})
}

func TestDeviceApprovalNeedsMembership(t *testing.T) {
	w, cfg := deviceWorld(t)
	e := w.e
	ctx := e.OAuth2Context(context.Background())
	da, err := cfg.DeviceAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	userCode, ok := authserver.NormalizeUserCode(da.UserCode)
	if !ok {
		t.Fatalf("user code %q", da.UserCode)
	}
	expectPending := func(t *testing.T) {
		t.Helper()
		if n := countRows(t, e, "SELECT count(*) FROM device_codes WHERE user_code = $1 AND status = 'pending' AND user_id IS NULL", userCode); n != 1 {
			t.Fatalf("the device code is no longer pending and undecided (%d rows)", n)
		}
	}

	superEmail := "boss@oauthd.test"
	superID := createSuperuser(t, e, superEmail)
	sb := newBrowser(t, e)
	p := sb.signIn(sb.get(da.VerificationURIComplete), superEmail)
	expectStatus(t, p, http.StatusOK)
	codeForm := p.form(t, "/device")

	t.Run("superuser who is no member", func(t *testing.T) {
		p := sb.submit(codeForm, nil)
		expectNotMemberPage(t, p, true)
		if strings.Contains(p.text(), "oauthd CLI") || strings.Contains(p.text(), w.tenant) {
			t.Errorf("the page names the client or the tenant: %s", p.text())
		}
		expectPending(t)
	})
	t.Run("plain user who is no member", func(t *testing.T) {
		e := e.For(t)
		createUser(t, e, "outsider@else.test")
		ob := newBrowser(t, e)
		p := ob.signIn(ob.get(da.VerificationURIComplete), "outsider@else.test")
		expectNotMemberPage(t, ob.submit(p.form(t, "/device"), nil), false)
		expectPending(t)
	})
	t.Run("decision posted after the membership ended", func(t *testing.T) {
		e := e.For(t)
		addMember(t, e, w.tenantID, superID)
		p := sb.submit(codeForm, nil)
		expectStatus(t, p, http.StatusOK)
		f := p.form(t, "/device/decision")
		removeMember(t, e, w.tenantID, superID)
		for _, decision := range []string{"approve", "deny"} {
			expectNotMemberPage(t, sb.submit(f, nil, "decision", decision), true)
		}
		expectPending(t)
	})
	t.Run("superuser who is a member", func(t *testing.T) {
		e := e.For(t)
		addMember(t, e, w.tenantID, superID)
		p := sb.submit(codeForm, nil)
		expectStatus(t, p, http.StatusOK)
		p = sb.submit(p.form(t, "/device/decision"), nil, "decision", "approve")
		expectStatus(t, p, http.StatusOK)
		da.Interval = 1
		tok, err := cfg.DeviceAccessToken(ctx, da)
		if err != nil {
			t.Fatalf("device access token: %v", err)
		}
		if tok.AccessToken == "" {
			t.Fatalf("token: %+v", tok)
		}
	})
}
