package api_test

// Nobody grants a right they lack. An admin (everything but reading stored
// secrets) walks every path that yields credentials or widens an API
// client, on a client an owner created with role owner, on the platform
// backend's client (role platform) and on a web app whose user tokens may
// carry everything (scope tenants.*): each is refused with 403 naming the
// permission the admin lacks, and nothing changes. The rule lives in the
// services, so a token acting for the admin is refused the same way.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/policy"
)

// expectBeyondOwn asserts a 403 with code whose meta names perm.
func expectBeyondOwn(t *testing.T, r *apitest.Response, code, pointer, perm string) {
	t.Helper()
	e := expectError(t, r, http.StatusForbidden, code, pointer)
	meta, _ := e["meta"].(map[string]any)
	if meta["permission"] != perm {
		t.Errorf("meta.permission = %v, want %s: %s", meta["permission"], perm, r.Body)
	}
	if detail, _ := e["detail"].(string); !strings.Contains(detail, perm) {
		t.Errorf("detail does not name %s: %q", perm, detail)
	}
}

// asCCFor is a client-credentials token for the client id and secret.
func asCCFor(t *testing.T, e *apitest.Env, clientID, secret string) string {
	t.Helper()
	r := apitest.PostForm(t, e, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}})
	if r.Status != http.StatusOK || r.Str("access_token") == "" {
		t.Fatalf("client credentials: %d %s", r.Status, r.Raw)
	}
	return r.Str("access_token")
}

func TestNobodyGrantsWhatTheyLack(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	owner := newMember(t, e, tid, []string{"owner"}, nil)
	admin := newMember(t, e, tid, []string{"admin"}, nil)
	base := tenantPath(tid, "/api-clients")
	const reveal = policy.OAuthClientsRevealSecret

	ownersClient, _ := mustAPIClient(t, e, tid, &owner, map[string]any{"roles": []string{"owner"}})
	platformClient, _ := mustAPIClient(t, e, tid, &e.Super, map[string]any{"roles": []string{"platform"}})
	webApp, _ := mustAPIClient(t, e, tid, &owner, map[string]any{"grant_types": []string{"authorization_code"},
		"roles": []string{}, "scopes": []string{"tenants.*"}, "redirect_uris": []string{"https://app.example.test/cb"}})

	// The admin's own machine client, and a token it mints for them: the
	// services judge a token acting for the admin by the same rule.
	adminsClient, adminsSecret := mustAPIClient(t, e, tid, &admin, map[string]any{"roles": []string{"admin"}})
	adminsClientID, _ := e.Get(base+"/"+adminsClient, &admin).ExpectStatus(t, http.StatusOK).Attr(t, "client_id").(string)
	token := asCCFor(t, e, adminsClientID, adminsSecret)

	for _, target := range []struct{ name, id string }{
		{"owner's client", ownersClient}, {"platform client", platformClient}, {"web app with every scope", webApp},
	} {
		path := base + "/" + target.id
		secretID := firstSecretID(t, e, path)
		t.Run(target.name, func(t *testing.T) {
			e := e.For(t)
			for _, step := range []struct {
				what string
				do   func() *apitest.Response
			}{
				{"add a secret", func() *apitest.Response {
					return e.Post(path+"/secrets", &admin, doc("api-client-secret", map[string]any{}, nil))
				}},
				{"add a secret with a token", func() *apitest.Response {
					return apitest.Bearer(t, e, http.MethodPost, path+"/secrets", token, doc("api-client-secret", map[string]any{}, nil))
				}},
				{"add client_credentials", func() *apitest.Response {
					return e.Patch(path, &admin, doc("api-client", map[string]any{"grant_types": []string{"client_credentials", "authorization_code"}}, nil))
				}},
				{"add a redirect URI", func() *apitest.Response {
					return e.Patch(path, &admin, doc("api-client", map[string]any{"redirect_uris": []string{"https://evil.example.test/cb"}}, nil))
				}},
				{"change its roles", func() *apitest.Response {
					return e.Patch(path, &admin, doc("api-client", map[string]any{"roles": []string{"viewer"}}, nil))
				}},
				{"change its scopes", func() *apitest.Response {
					return e.Patch(path, &admin, doc("api-client", map[string]any{"scopes": []string{"tenants.flows.get"}}, nil))
				}},
				{"rename it", func() *apitest.Response {
					return e.Patch(path, &admin, doc("api-client", map[string]any{"name": "mine-now"}, nil))
				}},
				{"delete a secret", func() *apitest.Response { return e.Delete(path+"/secrets/"+secretID, &admin) }},
				{"revoke its tokens", func() *apitest.Response { return e.Post(path+"/revoke-tokens", &admin, nil) }},
				{"delete it", func() *apitest.Response { return e.Delete(path, &admin) }},
			} {
				if target.id == webApp && step.what == "delete a secret" {
					continue // checked below: a web app keeps one secret too
				}
				r := step.do()
				if r.Status != http.StatusForbidden {
					t.Errorf("%s: %d %s", step.what, r.Status, r.Body)
					continue
				}
				expectBeyondOwn(t, r, policy.CodeClientExceedsOwn, "", reveal)
			}
			// Nothing changed: the one secret, the grant types, the client.
			if n := len(e.Get(path+"/secrets", &owner).ExpectStatus(t, http.StatusOK).List(t)); n != 1 {
				t.Errorf("%d secrets after the refusals, want 1", n)
			}
			got := e.Get(path, &owner).ExpectStatus(t, http.StatusOK)
			if name, _ := got.Attr(t, "name").(string); name == "mine-now" {
				t.Errorf("renamed")
			}
		})
	}

	// Creating a client with rights beyond the admin's own.
	t.Run("create", func(t *testing.T) {
		e := e.For(t)
		for _, c := range []struct {
			attrs   map[string]any
			pointer string
		}{
			{map[string]any{"roles": []string{"owner"}}, "/data/attributes/roles"},
			{map[string]any{"roles": []string{"platform"}}, "/data/attributes/roles"},
			{map[string]any{"grant_types": []string{"authorization_code"}, "roles": []string{},
				"redirect_uris": []string{"https://app.example.test/cb"}, "scopes": []string{reveal}}, "/data/attributes/scopes"},
			{map[string]any{"grant_types": []string{"authorization_code"}, "roles": []string{},
				"redirect_uris": []string{"https://app.example.test/cb"}, "scopes": []string{"role:owner"}}, "/data/attributes/scopes"},
			{map[string]any{"template": "oauthd-cli", "client_type": nil, "grant_types": nil, "redirect_uris": nil, "roles": nil,
				"scopes": nil}, "/data/attributes/scopes"},
		} {
			expectBeyondOwn(t, e.Post(base, &admin, apiClientDoc(c.attrs)), policy.CodeGrantExceedsOwn, c.pointer, reveal)
		}
		expectBeyondOwn(t, apitest.Bearer(t, e, http.MethodPost, base, token, apiClientDoc(map[string]any{"roles": []string{"owner"}})),
			policy.CodeGrantExceedsOwn, "/data/attributes/roles", reveal)
	})

	// Widening a client the admin may act on, beyond the admin's rights.
	t.Run("widen the admin's own client", func(t *testing.T) {
		e := e.For(t)
		path := base + "/" + adminsClient
		expectBeyondOwn(t, e.Patch(path, &admin, doc("api-client", map[string]any{"roles": []string{"admin", "platform"}}, nil)),
			policy.CodeGrantExceedsOwn, "/data/attributes/roles", reveal)
		expectBeyondOwn(t, e.Patch(path, &admin, doc("api-client", map[string]any{"scopes": []string{"tenants.oauth_clients.*"}}, nil)),
			policy.CodeGrantExceedsOwn, "/data/attributes/scopes", reveal)
		// Within the admin's rights, everything works.
		mustAPIClientSecret(t, e, tid, &admin, adminsClient, nil)
		e.Patch(path, &admin, doc("api-client", map[string]any{"roles": []string{"developer"}, "scopes": []string{"tenants.flows.*"}}, nil)).
			ExpectStatus(t, http.StatusOK)
	})

	// Members: the same rule for roles and single permissions.
	t.Run("members", func(t *testing.T) {
		e := e.For(t)
		other := newUser(t, e)
		expectBeyondOwn(t, e.Post(tenantPath(tid, "/members"), &admin, memberDoc(other.UserID, []string{"platform"}, nil)),
			policy.CodeGrantExceedsOwn, "/data/attributes/roles", reveal)
		expectBeyondOwn(t, e.Post(tenantPath(tid, "/members"), &admin, memberDoc(other.UserID, nil, []string{reveal})),
			policy.CodeGrantExceedsOwn, "/data/attributes/permissions", reveal)
	})

	// The owner, who holds everything, may do all of it.
	mustAPIClientSecret(t, e, tid, &owner, ownersClient, nil)
	e.Patch(base+"/"+platformClient, &owner, doc("api-client", map[string]any{"roles": []string{"platform", "viewer"}}, nil)).
		ExpectStatus(t, http.StatusOK)
}

// firstSecretID is the id of the first secret of the client at path.
func firstSecretID(t *testing.T, e *apitest.Env, path string) string {
	t.Helper()
	items := e.Get(path+"/secrets", &e.Super).ExpectStatus(t, http.StatusOK).List(t)
	if len(items) == 0 {
		t.Fatalf("%s has no secret", path)
	}
	return items[0]["id"].(string)
}
