package api_test

// Bearer tokens on /v2: a token reaches only its own tenant's routes, and
// its rights are the intersection the design sets (docs/DESIGN.md): the token's scopes, what its
// client may still grant today and, for a user's token, the user's own
// rights in the tenant.

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/apiclients"
)

// asStatus is the status of a bearer call; it also checks the error code
// of 401 and 403 answers when want names one.
func asExpect(t *testing.T, e *apitest.Env, method, path, token string, status int, code string) {
	t.Helper()
	r := apitest.Bearer(t, e, method, path, token, nil)
	if r.Status != status {
		t.Fatalf("%s %s: %d, want %d: %s", method, path, r.Status, status, r.Body)
	}
	if code != "" {
		if got, _ := r.Errors(t)[0]["code"].(string); got != code {
			t.Fatalf("%s %s: code %q, want %q", method, path, got, code)
		}
	}
}

func TestBearerClientToken(t *testing.T) {
	e := apitest.New(t)
	tidA, tidB := newTenant(t, e), newTenant(t, e)
	cl := apitest.MachineClient(t, e, tidA, "viewer")
	tok := apitest.ClientCredentialsToken(t, e, cl)
	clients := tenantPath(tidA, "/oauth-clients")
	missing := tenantPath(tidA, "/oauth-clients/"+uuid.NewString())

	asExpect(t, e, http.MethodGet, clients, tok, http.StatusOK, "")
	asExpect(t, e, http.MethodGet, tenantPath(tidA, "/flows"), tok, http.StatusOK, "")
	// viewer cannot delete (403 before the lookup; an allowed caller gets 404).
	asExpect(t, e, http.MethodDelete, missing, tok, http.StatusForbidden, "permission_denied")
	r := apitest.Bearer(t, e, http.MethodPost, clients, tok, doc("oauth-client", map[string]any{"client_id": "x", "client_secret": "y"}, nil))
	if r.Status != http.StatusForbidden {
		t.Fatalf("POST oauth-clients as viewer token: %d %s", r.Status, r.Body)
	}
	asExpect(t, e, http.MethodGet, tenantPath(tidA, "/audit-events"), tok, http.StatusForbidden, "permission_denied")
	asExpect(t, e, http.MethodDelete, tenantPath(tidA, "/api-clients/"+uuid.NewString()), tok, http.StatusForbidden, "permission_denied")

	// Another tenant: 404, as for a non-member; and a tenant that does not exist.
	asExpect(t, e, http.MethodGet, tenantPath(tidB, "/oauth-clients"), tok, http.StatusNotFound, "")
	asExpect(t, e, http.MethodGet, tenantPath(uuid.NewString(), "/oauth-clients"), tok, http.StatusNotFound, "")

	// Routes that are not a tenant's: token_not_allowed.
	for _, p := range []string{"/v2/users/me", "/v2/tenants", "/v2/users", "/v2/users/me/api-keys"} {
		asExpect(t, e, http.MethodGet, p, tok, http.StatusForbidden, "token_not_allowed")
	}
	r = apitest.Bearer(t, e, http.MethodPost, "/v2/tenants", tok, doc("tenant", map[string]any{"name": "t-" + uniq()}, nil))
	if r.Status != http.StatusForbidden {
		t.Fatalf("POST /v2/tenants with a token: %d %s", r.Status, r.Body)
	}
	// Superuser-only tenant changes: a token never has superuser powers.
	asExpect(t, e, http.MethodDelete, tenantPath(tidA, ""), tok, http.StatusForbidden, "token_not_allowed")

	// A role removed from the client is gone from its live tokens at once.
	none := []string{}
	if _, err := e.App.APIClients.Update(context.Background(), cl.Client.TenantID, cl.Client.ID, apiclients.Patch{Roles: &none}, nil); err != nil {
		t.Fatal(err)
	}
	asExpect(t, e, http.MethodGet, clients, tok, http.StatusForbidden, "permission_denied")
	// ...and a role added again (admin) does not widen what the token's
	// scope (role:viewer) says.
	admin := []string{"admin"}
	if _, err := e.App.APIClients.Update(context.Background(), cl.Client.TenantID, cl.Client.ID, apiclients.Patch{Roles: &admin}, nil); err != nil {
		t.Fatal(err)
	}
	asExpect(t, e, http.MethodGet, clients, tok, http.StatusOK, "")
	asExpect(t, e, http.MethodDelete, missing, tok, http.StatusForbidden, "permission_denied")
	tok2 := apitest.ClientCredentialsToken(t, e, cl) // role:admin
	asExpect(t, e, http.MethodDelete, missing, tok2, http.StatusNotFound, "")
}

func TestBearerUserTokenIntersection(t *testing.T) {
	e := apitest.New(t)
	tid, other := newTenant(t, e), newTenant(t, e)
	viewer := newMember(t, e, tid, []string{"viewer"}, nil)
	admin := newMember(t, e, tid, []string{"admin"}, nil)
	addMember(t, e, other, admin, []string{"admin"}, nil)
	cl := apitest.WebAppClient(t, e, tid, "tenants.oauth_clients.*")
	clients := tenantPath(tid, "/oauth-clients")
	missing := tenantPath(tid, "/oauth-clients/"+uuid.NewString())

	// The scope allows delete, the viewer does not: 403.
	vt := apitest.UserToken(t, e, cl, viewer.UserID, "tenants.oauth_clients.*")
	asExpect(t, e, http.MethodGet, clients, vt.AccessToken, http.StatusOK, "")
	asExpect(t, e, http.MethodDelete, missing, vt.AccessToken, http.StatusForbidden, "permission_denied")
	// The admin may delete, the token's scope does not allow it: 403.
	at := apitest.UserToken(t, e, cl, admin.UserID, "tenants.oauth_clients.get")
	asExpect(t, e, http.MethodGet, clients, at.AccessToken, http.StatusOK, "")
	asExpect(t, e, http.MethodDelete, missing, at.AccessToken, http.StatusForbidden, "permission_denied")
	// Both allow it: the request goes through (404 for an unknown id).
	both := apitest.UserToken(t, e, cl, admin.UserID, "tenants.oauth_clients.*")
	asExpect(t, e, http.MethodDelete, missing, both.AccessToken, http.StatusNotFound, "")
	// Nothing outside the scope, whatever the user may do.
	asExpect(t, e, http.MethodGet, tenantPath(tid, "/flows"), both.AccessToken, http.StatusForbidden, "permission_denied")
	// The user is admin in another tenant too; the token is not.
	asExpect(t, e, http.MethodGet, tenantPath(other, "/oauth-clients"), both.AccessToken, http.StatusNotFound, "")
	asExpect(t, e, http.MethodGet, "/v2/users/me", both.AccessToken, http.StatusForbidden, "token_not_allowed")
	asExpect(t, e, http.MethodGet, "/v2/tenants", both.AccessToken, http.StatusForbidden, "token_not_allowed")

	// The client's allowed scopes narrowed: live tokens narrow with them.
	narrow := []string{"tenants.oauth_clients.get"}
	if _, err := e.App.APIClients.Update(context.Background(), cl.Client.TenantID, cl.Client.ID, apiclients.Patch{Scopes: &narrow}, nil); err != nil {
		t.Fatal(err)
	}
	asExpect(t, e, http.MethodDelete, missing, both.AccessToken, http.StatusForbidden, "permission_denied")
	asExpect(t, e, http.MethodGet, clients, both.AccessToken, http.StatusOK, "")

	// The user's role lowered: at once.
	e.Patch(tenantPath(tid, "/members/"+admin.UserID), &e.Super, doc("member", map[string]any{"roles": []string{}, "permissions": []string{}}, nil)).
		ExpectStatus(t, http.StatusOK)
	asExpect(t, e, http.MethodGet, clients, both.AccessToken, http.StatusForbidden, "permission_denied")
	// The user removed from the tenant: the token is dead at once on this
	// instance (401 invalid_token, as introspection says active: false),
	// the tests of revocation_test.go show the same on a second instance.
	e.Delete(tenantPath(tid, "/members/"+viewer.UserID), &e.Super).ExpectStatus(t, http.StatusNoContent)
	asExpect(t, e, http.MethodGet, clients, vt.AccessToken, http.StatusUnauthorized, "invalid_token")
}

// TestBearerGarbage: malformed, forged and foreign tokens are 401
// invalid_token, never a 500.
func TestBearerGarbage(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	cl := apitest.MachineClient(t, e, tid, "viewer")
	good := apitest.ClientCredentialsToken(t, e, cl)
	parts := strings.Split(good, ".")
	b64 := base64.RawURLEncoding.EncodeToString
	none := b64([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + parts[1] + "."
	hs := b64([]byte(`{"alg":"HS256","typ":"at+jwt"}`)) + "." + parts[1] + "." + parts[2]
	tampered := parts[0] + "." + b64([]byte(`{"iss":"x","tid":"`+tid+`"}`)) + "." + parts[2]
	garbage := []string{
		"x", "a.b.c", "...", good + "x", parts[0] + "." + parts[1], none, hs, tampered,
		strings.Repeat("A", 10000), "\u00e9\u00e9.\u00e9.\u00e9", "ort_" + strings.Repeat("z", 43), good[:len(good)-2],
	}
	path := tenantPath(tid, "/oauth-clients")
	for _, g := range garbage {
		r := e.Do(apitest.Request{Method: http.MethodGet, Path: path, Header: http.Header{"Authorization": {"Bearer " + g}}})
		if r.Status != http.StatusUnauthorized {
			t.Errorf("Bearer %.40q: %d %s", g, r.Status, r.Body)
			continue
		}
		if code, _ := r.Errors(t)[0]["code"].(string); code != "invalid_token" {
			t.Errorf("Bearer %.40q: code %q", g, code)
		}
		if !strings.Contains(r.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("Bearer %.40q: WWW-Authenticate %q", g, r.Header.Get("WWW-Authenticate"))
		}
		// The introspection endpoint says inactive for the same garbage.
		if len(g) < 9000 {
			if ir := apitest.Introspect(t, e, cl, g); ir.Status != http.StatusOK || ir.JSON["active"] != false || len(ir.JSON) != 1 {
				t.Errorf("introspect %.40q: %d %s", g, ir.Status, ir.Raw)
			}
		}
	}
	// An empty bearer, and lower-case scheme with the good token.
	r := e.Do(apitest.Request{Method: http.MethodGet, Path: path, Header: http.Header{"Authorization": {"Bearer "}}})
	if r.Status != http.StatusUnauthorized {
		t.Errorf("empty bearer: %d", r.Status)
	}
	e.Do(apitest.Request{Method: http.MethodGet, Path: path, Header: http.Header{"Authorization": {"bearer " + good}}}).ExpectStatus(t, http.StatusOK)
	// A token in the query string is not accepted (RFC 6750 §2.3 is optional and leaks).
	q := e.Do(apitest.Request{Method: http.MethodGet, Path: path + "?access_token=" + url.QueryEscape(good), NoCheck: true})
	if q.Status != http.StatusUnauthorized && q.Status != http.StatusBadRequest {
		t.Errorf("access_token in the query: %d", q.Status)
	}
}

// A client token with the right to manage members edits and removes them
// like a user would; it has no user behind it, which the grant-limit checks
// must not trip over.
func TestBearerClientTokenManagesMembers(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	member := newUser(t, e)
	addMember(t, e, tid, member, []string{"viewer"}, nil)
	tok := apitest.ClientCredentialsToken(t, e, apitest.MachineClient(t, e, tid, "owner"))
	path := tenantPath(tid, "/members/"+member.UserID)

	r := apitest.Bearer(t, e, http.MethodPatch, path, tok, doc("member", map[string]any{"roles": []string{"developer"}}, nil))
	if r.Status != http.StatusOK {
		t.Fatalf("PATCH member with a client token: %d %s", r.Status, r.Body)
	}
	if r := apitest.Bearer(t, e, http.MethodDelete, path, tok, nil); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE member with a client token: %d %s", r.Status, r.Body)
	}
	if n := countRows(t, e, "SELECT count(*) FROM memberships WHERE tenant_id = $1 AND user_id = $2", tid, member.UserID); n != 0 {
		t.Errorf("membership still there: %d rows", n)
	}
}
