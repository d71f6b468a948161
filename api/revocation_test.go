package api_test

// Revocation reaches every instance: a deleted client, revoke-tokens, and
// RFC 7009 revocation of an access or refresh token make the tokens fail
// on this instance at once and on a second oauthd serving the same
// database within a second; a user removed from the tenant or deleted
// loses their tokens on both within a second. Also RFC 7662 introspection.

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/apiclients"
)

// asWorks asserts token works on /v2 and introspects active on env.
func asWorks(t *testing.T, env *apitest.Env, tid, token string, introspector apitest.APIClient) {
	t.Helper()
	apitest.Bearer(t, env, http.MethodGet, tenantPath(tid, "/oauth-clients"), token, nil).ExpectStatus(t, http.StatusOK)
	if r := apitest.Introspect(t, env, introspector, token); r.JSON["active"] != true {
		t.Fatalf("introspect a live token: %d %s", r.Status, r.Raw)
	}
}

// asDead reports whether token is refused on /v2 with 401 invalid_token
// and introspects inactive on env.
func asDead(t *testing.T, env *apitest.Env, tid, token string, introspector apitest.APIClient) (bool, string) {
	t.Helper()
	r := apitest.Bearer(t, env, http.MethodGet, tenantPath(tid, "/oauth-clients"), token, nil)
	if r.Status != http.StatusUnauthorized {
		return false, "GET → " + http.StatusText(r.Status)
	}
	if code, _ := r.Errors(t)[0]["code"].(string); code != "invalid_token" {
		return false, "code " + code
	}
	if ir := apitest.Introspect(t, env, introspector, token); ir.Status != http.StatusOK || ir.JSON["active"] != false || len(ir.JSON) != 1 {
		return false, "introspection " + string(ir.Raw)
	}
	return true, ""
}

// asGone asserts token fails on e immediately (no waiting at all) and on
// e2 within one second.
func asGone(t *testing.T, e, e2 *apitest.Env, tid, token string, introspector apitest.APIClient) {
	t.Helper()
	if dead, why := asDead(t, e, tid, token, introspector); !dead {
		t.Fatalf("same instance, right after the revocation: %s", why)
	}
	apitest.Eventually(t, time.Second, func() error {
		if dead, why := asDead(t, e2, tid, token, introspector); !dead {
			return errors.New("second instance after the revocation: " + why)
		}
		return nil
	})
}

func TestRevocationReachesEveryInstance(t *testing.T) {
	e := apitest.New(t)
	e2 := apitest.New(t, apitest.WithDatabaseURL(e.DatabaseURL), apitest.WithIssuer(e.App.Issuer))
	tid := newTenant(t, e)
	user := newMember(t, e, tid, []string{"viewer"}, nil)
	inspector := apitest.MachineClient(t, e, tid) // introspects, never revoked

	// Each case gets fresh clients and tokens, proves they work on both
	// instances, revokes, and checks both instances.
	type tokens struct {
		machine          apitest.APIClient
		web              apitest.APIClient
		cc, user, userRT string
	}
	fresh := func(t *testing.T) tokens {
		t.Helper()
		m := apitest.MachineClient(t, e, tid, "viewer")
		w := apitest.WebAppClient(t, e, tid, "tenants.oauth_clients.get")
		ut := apitest.UserToken(t, e, w, user.UserID)
		tk := tokens{machine: m, web: w, cc: apitest.ClientCredentialsToken(t, e, m), user: ut.AccessToken, userRT: ut.RefreshToken}
		for _, env := range []*apitest.Env{e, e2} {
			asWorks(t, env, tid, tk.cc, inspector)
			asWorks(t, env, tid, tk.user, inspector)
		}
		return tk
	}
	mgmt := func(c apitest.APIClient, suffix string) string {
		return tenantPath(tid, "/api-clients/"+c.Client.ID.String()+suffix)
	}

	t.Run("delete the client", func(t *testing.T) {
		e := e.For(t)
		e2 := e2.For(t)
		tk := fresh(t)
		e.Delete(mgmt(tk.machine, ""), &e.Super).ExpectStatus(t, http.StatusNoContent)
		e.Delete(mgmt(tk.web, ""), &e.Super).ExpectStatus(t, http.StatusNoContent)
		asGone(t, e, e2, tid, tk.cc, inspector)
		asGone(t, e, e2, tid, tk.user, inspector)
		r := apitest.PostForm(t, e, "/oauth/token", tk.machine.PostCreds(url.Values{"grant_type": {"client_credentials"}}))
		r.ExpectError(t, http.StatusUnauthorized, "invalid_client")
	})

	t.Run("revoke-tokens", func(t *testing.T) {
		e := e.For(t)
		e2 := e2.For(t)
		tk := fresh(t)
		other := apitest.ClientCredentialsToken(t, e, apitest.MachineClient(t, e, tid, "viewer")) // another client's token: untouched
		e.Do(apitest.Request{Method: http.MethodPost, Path: mgmt(tk.machine, "/revoke-tokens"), Auth: &e.Super}).ExpectStatus(t, http.StatusNoContent)
		e.Do(apitest.Request{Method: http.MethodPost, Path: mgmt(tk.web, "/revoke-tokens"), Auth: &e.Super}).ExpectStatus(t, http.StatusNoContent)
		asGone(t, e, e2, tid, tk.cc, inspector)
		asGone(t, e, e2, tid, tk.user, inspector)
		apitest.PostForm(t, e2, "/oauth/token", tk.web.PostCreds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk.userRT}})).
			ExpectError(t, http.StatusBadRequest, "invalid_grant")
		// The client lives on: a new token works on both instances.
		newCC := apitest.ClientCredentialsToken(t, e, tk.machine)
		newUser := apitest.UserToken(t, e, tk.web, user.UserID)
		for _, env := range []*apitest.Env{e, e2} {
			asWorks(t, env, tid, newCC, inspector)
			asWorks(t, env, tid, newUser.AccessToken, inspector)
			apitest.Bearer(t, env, http.MethodGet, tenantPath(tid, "/oauth-clients"), other, nil).ExpectStatus(t, http.StatusOK)
		}
	})

	t.Run("RFC 7009 access token", func(t *testing.T) {
		e := e.For(t)
		e2 := e2.For(t)
		tk := fresh(t)
		sibling := apitest.ClientCredentialsToken(t, e, tk.machine)
		// Another client cannot revoke it (200, and nothing happens).
		r := apitest.PostForm(t, e, "/oauth/revoke", inspector.PostCreds(url.Values{"token": {tk.cc}}))
		if r.Status != http.StatusOK {
			t.Fatalf("revoke as another client: %d %s", r.Status, r.Raw)
		}
		asWorks(t, e, tid, tk.cc, inspector)
		r = apitest.PostForm(t, e, "/oauth/revoke", tk.machine.PostCreds(url.Values{"token": {tk.cc}, "token_type_hint": {"access_token"}}))
		if r.Status != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.Status, r.Raw)
		}
		asGone(t, e, e2, tid, tk.cc, inspector)
		// Only that token: the client's other token still works.
		asWorks(t, e2, tid, sibling, inspector)
		// The user token revoked by its client (basic auth this time).
		req, _ := http.NewRequest(http.MethodPost, e2.URL("/oauth/revoke"), nil)
		req.SetBasicAuth(url.QueryEscape(tk.web.Client.ClientID), url.QueryEscape(tk.web.Secret))
		r = apitest.PostOAuth(t, e2, "/oauth/revoke", "application/x-www-form-urlencoded",
			strings.NewReader(url.Values{"token": {tk.user}}.Encode()), map[string]string{"Authorization": req.Header.Get("Authorization")})
		if r.Status != http.StatusOK {
			t.Fatalf("revoke with basic auth on the second instance: %d %s", r.Status, r.Raw)
		}
		asGone(t, e2, e, tid, tk.user, inspector)
		// Revoking again, or an unknown token, is still 200 (RFC 7009 §2.2).
		for _, tok := range []string{tk.cc, "nonsense", "a.b.c"} {
			if r := apitest.PostForm(t, e, "/oauth/revoke", tk.machine.PostCreds(url.Values{"token": {tok}})); r.Status != http.StatusOK {
				t.Fatalf("revoke %q: %d %s", tok, r.Status, r.Raw)
			}
		}
		apitest.PostForm(t, e, "/oauth/revoke", tk.machine.PostCreds(url.Values{"token": {tk.cc}, "token_type_hint": {"id_token"}})).
			ExpectError(t, http.StatusBadRequest, "unsupported_token_type")
	})

	// A user's token lives only while the user is a member of the token's
	// tenant: removed from it, or deleted, the user's tokens fail and their
	// refresh tokens are invalid_grant, while other tokens live on.
	userGone := map[string]func(t *testing.T, u apitest.Creds){
		"remove the user from the tenant": func(t *testing.T, u apitest.Creds) {
			e.Delete(tenantPath(tid, "/members/"+u.UserID), &e.Super).ExpectStatus(t, http.StatusNoContent)
		},
		"delete the user": func(t *testing.T, u apitest.Creds) {
			e.Delete("/v2/users/"+u.UserID, &e.Super).ExpectStatus(t, http.StatusNoContent)
		},
	}
	for name, gone := range userGone {
		t.Run(name, func(t *testing.T) {
			e := e.For(t)
			e2 := e2.For(t)
			tk := fresh(t)
			leaving := newMember(t, e, tid, []string{"viewer"}, nil)
			ut := apitest.UserToken(t, e, tk.web, leaving.UserID)
			asWorks(t, e, tid, ut.AccessToken, inspector)
			// The other instance learns of the new member's role within the second.
			apitest.Eventually(t, time.Second, func() error {
				if r := apitest.Bearer(t, e2, http.MethodGet, tenantPath(tid, "/oauth-clients"), ut.AccessToken, nil); r.Status != http.StatusOK {
					return fmt.Errorf("the second instance answers %d", r.Status)
				}
				return nil
			})
			asWorks(t, e2, tid, ut.AccessToken, inspector)
			gone(t, leaving)
			// This instance refuses it at once, on /v2 and at introspection
			// (its own commit empties its caches); the other within the
			// second (NOTIFY).
			asGone(t, e, e2, tid, ut.AccessToken, inspector)
			apitest.PostForm(t, e2, "/oauth/token", tk.web.PostCreds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {ut.RefreshToken}})).
				ExpectError(t, http.StatusBadRequest, "invalid_grant")
			// Everybody else's tokens are untouched.
			for _, env := range []*apitest.Env{e, e2} {
				asWorks(t, env, tid, tk.cc, inspector)
				asWorks(t, env, tid, tk.user, inspector)
			}
			if r := apitest.PostForm(t, e, "/oauth/token", tk.web.PostCreds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk.userRT}})); r.Status != http.StatusOK {
				t.Fatalf("another user's refresh: %d %s", r.Status, r.Raw)
			}
		})
	}

	t.Run("RFC 7009 refresh token", func(t *testing.T) {
		e := e.For(t)
		e2 := e2.For(t)
		tk := fresh(t)
		// Another client's revoke of it does nothing.
		thief := apitest.WebAppClient(t, e, tid, "tenants.oauth_clients.get")
		if r := apitest.PostForm(t, e, "/oauth/revoke", thief.PostCreds(url.Values{"token": {tk.userRT}})); r.Status != http.StatusOK {
			t.Fatalf("revoke as another client: %d %s", r.Status, r.Raw)
		}
		asWorks(t, e, tid, tk.user, inspector)
		r := apitest.PostForm(t, e, "/oauth/revoke", tk.web.PostCreds(url.Values{"token": {tk.userRT}, "token_type_hint": {"refresh_token"}}))
		if r.Status != http.StatusOK {
			t.Fatalf("revoke refresh token: %d %s", r.Status, r.Raw)
		}
		asGone(t, e, e2, tid, tk.user, inspector)
		apitest.PostForm(t, e2, "/oauth/token", tk.web.PostCreds(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tk.userRT}})).
			ExpectError(t, http.StatusBadRequest, "invalid_grant")
		// The client-credentials token of another client is untouched.
		asWorks(t, e2, tid, tk.cc, inspector)
	})
}

func TestIntrospection(t *testing.T) {
	e := apitest.New(t)
	tid, tidB := newTenant(t, e), newTenant(t, e)
	user := newMember(t, e, tid, []string{"viewer"}, nil)
	machine := apitest.MachineClient(t, e, tid, "viewer")
	web := apitest.WebAppClient(t, e, tid, "tenants.oauth_clients.get")
	cc := apitest.ClientCredentialsToken(t, e, machine)
	ut := apitest.UserToken(t, e, web, user.UserID)

	// A confidential client of the same tenant (any client, not only the
	// token's own) sees the claims.
	r := apitest.Introspect(t, e, web, cc)
	if r.Status != http.StatusOK || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("introspect: %d %s", r.Status, r.Raw)
	}
	now := float64(time.Now().Unix())
	if r.JSON["active"] != true || r.Str("scope") != "role:viewer" || r.Str("client_id") != machine.Client.ClientID ||
		r.Str("sub") != machine.Client.ClientID || r.Str("iss") != e.App.Issuer || r.Str("token_type") != "Bearer" {
		t.Fatalf("introspection %s", r.Raw)
	}
	exp, _ := r.JSON["exp"].(float64)
	iat, _ := r.JSON["iat"].(float64)
	if iat < now-60 || iat > now+1 || exp-iat != 3600 {
		t.Fatalf("iat %v exp %v", iat, exp)
	}
	r = apitest.Introspect(t, e, machine, ut.AccessToken)
	if r.JSON["active"] != true || r.Str("sub") != user.UserID || r.Str("client_id") != web.Client.ClientID ||
		r.Str("scope") != "tenants.oauth_clients.get" {
		t.Fatalf("user token introspection %s", r.Raw)
	}
	// A refresh token is not an access token: inactive.
	if r := apitest.Introspect(t, e, web, ut.RefreshToken); r.JSON["active"] != false {
		t.Fatalf("refresh token introspected %s", r.Raw)
	}

	// Another tenant's confidential client: inactive, nothing leaked.
	foreign := apitest.MachineClient(t, e, tidB, "viewer")
	if r := apitest.Introspect(t, e, foreign, cc); r.Status != http.StatusOK || r.JSON["active"] != false || len(r.JSON) != 1 {
		t.Fatalf("foreign introspection %d %s", r.Status, r.Raw)
	}
	// A public client cannot authenticate, so it may not introspect.
	pub := apitest.NewAPIClient(t, e, tid, apiclients.NewClient{ClientType: apiclients.TypePublic,
		GrantTypes: []string{apiclients.GrantDeviceCode}, Scopes: []string{"tenants.oauth_clients.get"}})
	apitest.Introspect(t, e, pub, cc).ExpectError(t, http.StatusBadRequest, "unauthorized_client")
	// No or wrong client authentication.
	apitest.PostForm(t, e, "/oauth/introspect", url.Values{"token": {cc}}).ExpectError(t, http.StatusUnauthorized, "invalid_client")
	apitest.PostForm(t, e, "/oauth/introspect", url.Values{"token": {cc}, "client_id": {machine.Client.ClientID}, "client_secret": {machine.Secret + "x"}}).
		ExpectError(t, http.StatusUnauthorized, "invalid_client")
	apitest.PostForm(t, e, "/oauth/introspect", machine.PostCreds(url.Values{})).ExpectError(t, http.StatusBadRequest, "invalid_request")
}
