package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/policy"
)

// apiClientDoc is a create body for a confidential client-credentials
// client (the deploy-bot of docs/DESIGN.md); attrs override or add attributes.
func apiClientDoc(attrs map[string]any) map[string]any {
	a := map[string]any{"name": "deploy-bot-" + uniq(), "client_type": "confidential",
		"grant_types": []string{"client_credentials"}, "roles": []string{"viewer"}, "redirect_uris": []string{}, "scopes": []string{}}
	for k, v := range attrs {
		if v == nil {
			delete(a, k)
			continue
		}
		a[k] = v
	}
	return doc("api-client", a, nil)
}

// mustAPIClient creates an API client in tid and returns its id and secret.
func mustAPIClient(t testing.TB, e *apitest.Env, tid string, creds *apitest.Creds, attrs map[string]any) (string, string) {
	t.Helper()
	r := e.Post(tenantPath(tid, "/api-clients"), creds, apiClientDoc(attrs)).ExpectStatus(t, http.StatusCreated)
	secret, _ := r.Attr(t, "client_secret").(string)
	return r.ID(t), secret
}

// mustAPIClientSecret adds a secret to an API client; attrs may be nil.
func mustAPIClientSecret(t testing.TB, e *apitest.Env, tid string, creds *apitest.Creds, clientID string, attrs map[string]any) (string, string) {
	t.Helper()
	if attrs == nil {
		attrs = map[string]any{}
	}
	r := e.Post(tenantPath(tid, "/api-clients/"+clientID+"/secrets"), creds, doc("api-client-secret", attrs, nil)).
		ExpectStatus(t, http.StatusCreated)
	secret, _ := r.Attr(t, "secret").(string)
	return r.ID(t), secret
}

var (
	clientIDPattern = regexp.MustCompile(`^o2c_[A-Za-z0-9_-]{22,}$`)
	secretPattern   = regexp.MustCompile(`^o2s_[A-Za-z0-9_-]{43}$`)
)

func TestAPIClientCRUD(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	owner := newMember(t, e, tid, []string{"owner"}, nil)
	base := tenantPath(tid, "/api-clients")

	// The documented shape (docs/DESIGN.md), verbatim.
	r := e.Post(base, &owner, doc("api-client", map[string]any{"name": "deploy-bot", "client_type": "confidential",
		"grant_types": []string{"client_credentials"}, "roles": []string{"viewer"}, "redirect_uris": []string{}, "scopes": []string{}}, nil))
	r.ExpectStatus(t, http.StatusCreated)
	id := r.ID(t)
	if loc := r.Header.Get("Location"); loc != base+"/"+id {
		t.Errorf("Location %q, want %q", loc, base+"/"+id)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q on the response carrying the secret", cc)
	}
	clientID, _ := r.Attr(t, "client_id").(string)
	secret, _ := r.Attr(t, "client_secret").(string)
	if !clientIDPattern.MatchString(clientID) || !secretPattern.MatchString(secret) {
		t.Fatalf("client_id %q, client_secret %q", clientID, secret)
	}
	data := r.Data(t)
	if attrOf(data, "created_by") != owner.UserID || attrOf(data, "access_token_ttl") != nil ||
		attrOf(data, "last_used_at") != nil || attrOf(data, "require_pkce") != false || attrOf(data, "client_type") != "confidential" {
		t.Errorf("created client: %s", r.Body)
	}

	got := e.Get(base+"/"+id, &owner).ExpectStatus(t, http.StatusOK)
	if got.Attr(t, "client_id") != clientID || got.Attr(t, "name") != "deploy-bot" {
		t.Errorf("get: %s", got.Body)
	}
	list := e.Get(base+"/", &owner).ExpectStatus(t, http.StatusOK)
	if items := list.List(t); len(items) != 1 || items[0]["id"] != id {
		t.Errorf("list: %s", list.Body)
	}
	for _, res := range []*apitest.Response{got, list} {
		if strings.Contains(string(res.Body), secret) || strings.Contains(string(res.Body), "client_secret") {
			t.Errorf("the secret is shown again: %s", res.Body)
		}
	}

	// PATCH any subset; a lifetime set, then back to the default with null.
	p := e.Patch(base+"/"+id, &owner, doc("api-client", map[string]any{"name": "deploy-bot-2", "access_token_ttl": 600,
		"roles": []string{"viewer", "developer"}}, nil)).ExpectStatus(t, http.StatusOK)
	if p.Attr(t, "name") != "deploy-bot-2" || p.Attr(t, "access_token_ttl") != float64(600) ||
		!slices.Equal(toStrings(p.Attr(t, "roles")), []string{"viewer", "developer"}) || p.Attr(t, "client_id") != clientID {
		t.Errorf("patched: %s", p.Body)
	}
	p = e.Patch(base+"/"+id, &owner, docWithID("api-client", id, map[string]any{"access_token_ttl": nil}, nil)).ExpectStatus(t, http.StatusOK)
	if p.Attr(t, "access_token_ttl") != nil || p.Attr(t, "name") != "deploy-bot-2" {
		t.Errorf("reset lifetime: %s", p.Body)
	}
	expectError(t, e.Patch(base+"/"+id, &owner, doc("api-client", map[string]any{"client_type": "public"}, nil)),
		http.StatusBadRequest, "unknown_attribute", "/data/attributes/client_type")

	e.Delete(base+"/"+id, &owner).ExpectStatus(t, http.StatusNoContent)
	expectError(t, e.Get(base+"/"+id, &owner), http.StatusNotFound, "api_client_not_found", "")
	expectError(t, e.Delete(base+"/"+id, &owner), http.StatusNotFound, "api_client_not_found", "")
	if _, err := e.App.APIClients.Authenticate(context.Background(), clientID, secret); !errors.Is(err, apiclients.ErrInvalidClient) {
		t.Errorf("a deleted client authenticates: %v", err)
	}
	if n := countRows(t, e, `SELECT count(*) FROM api_client_secrets WHERE tenant_id = $1`, tid); n != 0 {
		t.Errorf("%d secrets left after delete", n)
	}

	events := e.Get(tenantPath(tid, "/audit-events?filter[resource_type]=api-client"), &owner).ExpectStatus(t, http.StatusOK)
	var actions []string
	for _, ev := range events.List(t) {
		actions = append(actions, attrOf(ev, "action").(string))
	}
	slices.Sort(actions)
	if want := []string{"api_client.create", "api_client.delete", "api_client.update", "api_client.update"}; !slices.Equal(actions, want) {
		t.Errorf("audit actions %v, want %v", actions, want)
	}
	if strings.Contains(string(events.Body), secret) {
		t.Errorf("the audit log holds the secret")
	}
}

func toStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, len(list))
	for i, x := range list {
		out[i], _ = x.(string)
	}
	return out
}

// The secret appears in the create response and nowhere else: not in the
// database in plain text, not in the logs, not in the audit trail.
func TestAPIClientSecretShownOnce(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	id, secret := mustAPIClient(t, e, tid, &e.Super, nil)
	sid, second := mustAPIClientSecret(t, e, tid, &e.Super, id, nil)
	for _, s := range []string{secret, second} {
		if n := countRows(t, e, `SELECT count(*) FROM api_client_secrets WHERE strpos(hash, $1) > 0`, s); n != 0 {
			t.Errorf("secret stored in plain text")
		}
		if n := countRows(t, e, `SELECT count(*) FROM audit_events WHERE strpos(details::text, $1) > 0`, s); n != 0 {
			t.Errorf("secret in the audit trail")
		}
		if strings.Contains(e.Logs.String(), s) {
			t.Errorf("secret in the logs")
		}
		if n := countRows(t, e, `SELECT count(*) FROM api_client_secrets WHERE hash LIKE '$sha256$%'`); n != 2 {
			t.Errorf("%d SHA-256 digests, want 2", n)
		}
	}
	list := e.Get(tenantPath(tid, "/api-clients/"+id+"/secrets"), &e.Super).ExpectStatus(t, http.StatusOK)
	if strings.Contains(string(list.Body), secret) || strings.Contains(string(list.Body), second) || strings.Contains(string(list.Body), `"secret"`) {
		t.Errorf("the secrets list shows a secret: %s", list.Body)
	}
	items := list.List(t)
	if len(items) != 2 || items[1]["id"] != sid {
		t.Fatalf("secrets list: %s", list.Body)
	}
	for i, s := range []string{secret, second} {
		if attrOf(items[i], "hint") != s[len(s)-4:] {
			t.Errorf("hint %v for secret ending %q", attrOf(items[i], "hint"), s[len(s)-4:])
		}
	}
}

// Rotation without downtime: two secrets work at once; deleting one stops
// it at once while the other keeps working; an expired one fails.
//
// The instance runs no job workers: the lifecycle job (expiry warnings)
// would otherwise run whenever a worker polled, and the second secret,
// an hour from expiry, would draw an api_client_secret.expiring event at
// a moment of the job's choosing. The test runs the job itself, at a
// chosen point, and expects that warning exactly once.
func TestAPIClientSecretRotation(t *testing.T) {
	e := apitest.New(t, apitest.WithoutJobWorkers())
	ctx := context.Background()
	tid := newTenant(t, e)
	owner := newMember(t, e, tid, []string{"owner"}, nil)
	id, first := mustAPIClient(t, e, tid, &owner, nil)
	clientID, _ := e.Get(tenantPath(tid, "/api-clients/"+id), &owner).Attr(t, "client_id").(string)
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	r := e.Post(tenantPath(tid, "/api-clients/"+id+"/secrets"), &owner,
		doc("api-client-secret", map[string]any{"expires_at": future}, nil)).ExpectStatus(t, http.StatusCreated)
	secondID, second := r.ID(t), r.Attr(t, "secret").(string)
	if r.Header.Get("Cache-Control") != "no-store" || r.Attr(t, "expires_at") != future || r.Attr(t, "hint") != second[len(second)-4:] {
		t.Errorf("secret create response: %v %s", r.Header, r.Body)
	}
	if loc := r.Header.Get("Location"); loc != tenantPath(tid, "/api-clients/"+id+"/secrets/"+secondID) {
		t.Errorf("Location %q", loc)
	}
	// The lifecycle job, twice: the secret an hour from expiry is
	// announced once.
	for range 2 {
		if err := e.App.APIClients.NotifyLifecycle(ctx); err != nil {
			t.Fatal(err)
		}
	}

	for _, s := range []string{first, second, first, second} { // twice: the second round comes from the cache
		if c, err := e.App.APIClients.Authenticate(ctx, clientID, s); err != nil || c.ID.String() != id {
			t.Fatalf("authenticate: %v %v", c, err)
		}
	}
	items := e.Get(tenantPath(tid, "/api-clients/"+id+"/secrets"), &owner).ExpectStatus(t, http.StatusOK).List(t)
	for _, it := range items {
		if attrOf(it, "last_used_at") == nil {
			t.Errorf("secret %v has no last_used_at after use", it["id"])
		}
	}
	if e.Get(tenantPath(tid, "/api-clients/"+id), &owner).Attr(t, "last_used_at") == nil {
		t.Errorf("client has no last_used_at after use")
	}

	firstID, _ := items[0]["id"].(string)
	e.Delete(tenantPath(tid, "/api-clients/"+id+"/secrets/"+firstID), &owner).ExpectStatus(t, http.StatusNoContent)
	if _, err := e.App.APIClients.Authenticate(ctx, clientID, first); !errors.Is(err, apiclients.ErrInvalidClient) {
		t.Errorf("deleted secret still works: %v", err)
	}
	if _, err := e.App.APIClients.Authenticate(ctx, clientID, second); err != nil {
		t.Errorf("the other secret stopped working: %v", err)
	}
	expectError(t, e.Delete(tenantPath(tid, "/api-clients/"+id+"/secrets/"+firstID), &owner),
		http.StatusNotFound, "api_client_secret_not_found", "")

	// Expiry moved into the past behind the service's back (raw SQL, as
	// another instance would): the secret fails within the second that
	// changes take to reach every instance's cache.
	if _, err := e.App.DB.SQL().Exec(`UPDATE api_client_secrets SET expires_at = now() - interval '1 second' WHERE id = $1`, secondID); err != nil {
		t.Fatal(err)
	}
	apitest.Eventually(t, time.Second, func() error {
		_, err := e.App.APIClients.Authenticate(ctx, clientID, second)
		switch {
		case errors.Is(err, apiclients.ErrInvalidClient):
			return nil
		case err == nil:
			return errors.New("the expired secret still authenticates")
		}
		return fmt.Errorf("the expired secret: %w, want invalid client", err)
	})

	past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	expectError(t, e.Post(tenantPath(tid, "/api-clients/"+id+"/secrets"), &owner,
		doc("api-client-secret", map[string]any{"expires_at": past}, nil)), http.StatusUnprocessableEntity, "expires_in_past", "/data/attributes/expires_at")
	expectError(t, e.Post(tenantPath(tid, "/api-clients/"+id+"/secrets"), &owner,
		doc("api-client-secret", map[string]any{"expires_at": "tomorrow"}, nil)), http.StatusUnprocessableEntity, "invalid_timestamp", "/data/attributes/expires_at")
	expectError(t, e.Post(tenantPath(tid, "/api-clients/"+id+"/secrets"), &owner,
		doc("api-client", map[string]any{}, nil)), http.StatusConflict, "type_mismatch", "/data/type")

	var actions []string
	for _, ev := range e.Get(tenantPath(tid, "/audit-events?filter[resource_type]=api-client-secret"), &owner).ExpectStatus(t, http.StatusOK).List(t) {
		actions = append(actions, attrOf(ev, "action").(string))
	}
	slices.Sort(actions)
	// The deleted and the expired secret were each presented once more
	// above: someone still using them is news (api_client.secret_rejected).
	// The second secret's expiry was announced once, a day ahead.
	if want := []string{"api_client_secret.create", "api_client_secret.delete", "api_client_secret.expiring",
		"api_client_secret.rejected", "api_client_secret.rejected"}; !slices.Equal(actions, want) {
		t.Errorf("audit actions %v, want %v", actions, want)
	}
}

// Concurrent secret creates never take a client past 5 unexpired secrets.
func TestAPIClientSecretLimitRaces(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	id, _ := mustAPIClient(t, e, tid, &e.Super, nil)
	const n = 10
	statuses := make([]int, n)
	apitest.Race(t, n, func(i int, t testing.TB) {
		statuses[i] = e.For(t).Post(tenantPath(tid, "/api-clients/"+id+"/secrets"), &e.Super, doc("api-client-secret", nil, nil)).Status
	})
	created := 0
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
		default:
			t.Errorf("status %d", s)
		}
	}
	if rows := countRows(t, e, `SELECT count(*) FROM api_client_secrets WHERE client_pk = $1`, id); created != 4 || rows != 5 {
		t.Errorf("%d created, %d rows; want 4 and 5", created, rows)
	}
}

// A public client from the oauthd-cli template: no secret, PKCE forced,
// authenticates with nothing, and can have no secrets.
func TestAPIClientPublicFromTemplate(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	r := e.Post(tenantPath(tid, "/api-clients"), &e.Super, doc("api-client", map[string]any{"template": "oauthd-cli"}, nil)).
		ExpectStatus(t, http.StatusCreated)
	id := r.ID(t)
	data := r.Data(t)
	if _, has := data["attributes"].(map[string]any)["client_secret"]; has {
		t.Errorf("a public client got a secret: %s", r.Body)
	}
	if attrOf(data, "client_type") != "public" || attrOf(data, "require_pkce") != true || attrOf(data, "template") != "oauthd-cli" ||
		!slices.Equal(toStrings(attrOf(data, "grant_types")), []string{apiclients.GrantDeviceCode, "authorization_code", "refresh_token"}) ||
		!slices.Equal(toStrings(attrOf(data, "redirect_uris")), []string{"http://127.0.0.1/callback"}) || attrOf(data, "name") != "oauthd CLI" {
		t.Errorf("template client: %s", r.Body)
	}
	clientID := attrOf(data, "client_id").(string)
	ctx := context.Background()
	if c, err := e.App.APIClients.Authenticate(ctx, clientID, ""); err != nil || !c.Public() || !c.Allows(apiclients.GrantDeviceCode) {
		t.Errorf("public client without secret: %v %v", c, err)
	}
	if _, err := e.App.APIClients.Authenticate(ctx, clientID, "o2s_"+strings.Repeat("x", 43)); !errors.Is(err, apiclients.ErrInvalidClient) {
		t.Errorf("public client with a secret: %v", err)
	}
	expectError(t, e.Post(tenantPath(tid, "/api-clients/"+id+"/secrets"), &e.Super, doc("api-client-secret", nil, nil)),
		http.StatusConflict, "public_client_has_no_secrets", "")
	// require_pkce stays true for a public client.
	p := e.Patch(tenantPath(tid, "/api-clients/"+id), &e.Super, doc("api-client", map[string]any{"require_pkce": false}, nil))
	if p.ExpectStatus(t, http.StatusOK).Attr(t, "require_pkce") != true {
		t.Errorf("public client without PKCE: %s", p.Body)
	}
	// Attributes given override the template.
	r = e.Post(tenantPath(tid, "/api-clients"), &e.Super, doc("api-client", map[string]any{"template": "oauthd-cli",
		"name": "my cli", "grant_types": []string{apiclients.GrantDeviceCode}}, nil)).ExpectStatus(t, http.StatusCreated)
	if r.Attr(t, "name") != "my cli" || !slices.Equal(toStrings(r.Attr(t, "grant_types")), []string{apiclients.GrantDeviceCode}) {
		t.Errorf("override: %s", r.Body)
	}
}

func TestAPIClientTemplates(t *testing.T) {
	e := apitest.New(t)
	outsider := newUser(t, e) // any authenticated user, member of nothing
	r := e.Get("/v2/api-client-templates", &outsider).ExpectStatus(t, http.StatusOK)
	var cli map[string]any
	for _, it := range r.List(t) {
		if it["id"] == "oauthd-cli" {
			cli = it
		}
		if it["type"] != "api-client-template" {
			t.Errorf("type %v", it["type"])
		}
	}
	if cli == nil || attrOf(cli, "client_type") != "public" || attrOf(cli, "require_pkce") != true ||
		!slices.Contains(toStrings(attrOf(cli, "grant_types")), apiclients.GrantDeviceCode) ||
		!slices.Contains(toStrings(attrOf(cli, "grant_types")), "refresh_token") {
		t.Errorf("no oauthd-cli template as expected: %s", r.Body)
	}
	if page := e.Get("/v2/api-client-templates?page[size]=1&page[number]=2", &outsider).ExpectStatus(t, http.StatusOK).List(t); len(page) != 1 {
		t.Errorf("page 2 of size 1 has %d templates", len(page))
	}
	expectError(t, e.Get("/v2/api-client-templates?sort=name", &outsider), http.StatusBadRequest, "unknown_sort_field", "sort")
}

// Each rule gives a 422 naming the attribute; all problems come at once.
func TestAPIClientValidation(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	base := tenantPath(tid, "/api-clients")
	cases := []struct {
		name    string
		attrs   map[string]any
		code    string
		pointer string
	}{
		{"blank name", map[string]any{"name": "  "}, "required", "/data/attributes/name"},
		{"no name", map[string]any{"name": nil}, "required", "/data/attributes/name"},
		{"client type", map[string]any{"client_type": "secret"}, "invalid_client_type", "/data/attributes/client_type"},
		{"no grant types", map[string]any{"grant_types": []string{}}, "required", "/data/attributes/grant_types"},
		{"unknown grant type", map[string]any{"grant_types": []string{"password"}}, "unknown_grant_type", "/data/attributes/grant_types"},
		{"implicit", map[string]any{"grant_types": []string{"implicit"}}, "unknown_grant_type", "/data/attributes/grant_types"},
		{"duplicate grant type", map[string]any{"grant_types": []string{"client_credentials", "client_credentials"}}, "duplicate", "/data/attributes/grant_types"},
		{"public client credentials", map[string]any{"client_type": "public"}, "public_client_credentials", "/data/attributes/grant_types"},
		{"code without redirect", map[string]any{"grant_types": []string{"authorization_code"}}, "redirect_uri_required", "/data/attributes/redirect_uris"},
		{"relative redirect", map[string]any{"redirect_uris": []string{"/callback"}}, "invalid_redirect_uri", "/data/attributes/redirect_uris"},
		{"fragment", map[string]any{"redirect_uris": []string{"https://app.example.com/cb#x"}}, "invalid_redirect_uri", "/data/attributes/redirect_uris"},
		{"plain http", map[string]any{"redirect_uris": []string{"http://app.example.com/cb"}}, "invalid_redirect_uri", "/data/attributes/redirect_uris"},
		{"javascript", map[string]any{"redirect_uris": []string{"javascript:alert(1)"}}, "invalid_redirect_uri", "/data/attributes/redirect_uris"},
		{"user info", map[string]any{"redirect_uris": []string{"https://u:p@app.example.com/cb"}}, "invalid_redirect_uri", "/data/attributes/redirect_uris"},
		{"space", map[string]any{"redirect_uris": []string{"https://app.example.com/c b"}}, "invalid_redirect_uri", "/data/attributes/redirect_uris"},
		{"duplicate redirect", map[string]any{"redirect_uris": []string{"https://a.example/cb", "https://a.example/cb"}}, "duplicate", "/data/attributes/redirect_uris"},
		{"unknown role", map[string]any{"roles": []string{"emperor"}}, "unknown_role", "/data/attributes/roles"},
		{"unknown scope", map[string]any{"scopes": []string{"tenants.nothing.get"}}, "unknown_scope", "/data/attributes/scopes"},
		{"bad pattern", map[string]any{"scopes": []string{"tenants.flows*"}}, "unknown_scope", "/data/attributes/scopes"},
		{"unknown role scope", map[string]any{"scopes": []string{"role:emperor"}}, "unknown_role", "/data/attributes/scopes"},
		{"access ttl too short", map[string]any{"access_token_ttl": 59}, "out_of_bounds", "/data/attributes/access_token_ttl"},
		{"access ttl too long", map[string]any{"access_token_ttl": 86401}, "out_of_bounds", "/data/attributes/access_token_ttl"},
		{"refresh ttl too long", map[string]any{"refresh_token_ttl": 90*24*3600 + 1}, "out_of_bounds", "/data/attributes/refresh_token_ttl"},
		{"unknown template", map[string]any{"template": "nope"}, "unknown_template", "/data/attributes/template"},
		{"ttl not a number", map[string]any{"access_token_ttl": "1h"}, "wrong_type", "/data/attributes/access_token_ttl"},
		{"ttl fraction", map[string]any{"access_token_ttl": 60.5}, "wrong_type", "/data/attributes/access_token_ttl"},
		{"roles not a list", map[string]any{"roles": "viewer"}, "wrong_type", "/data/attributes/roles"},
		{"unknown attribute", map[string]any{"client_secret": "mine"}, "unknown_attribute", "/data/attributes/client_secret"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.For(t)
			r := e.Post(base, &e.Super, apiClientDoc(c.attrs))
			status := http.StatusUnprocessableEntity
			if c.code == "wrong_type" || c.code == "unknown_attribute" {
				status = http.StatusBadRequest
			}
			expectError(t, r, status, c.code, c.pointer)
		})
	}
	// Valid edge cases pass.
	for _, attrs := range []map[string]any{
		{"grant_types": []string{"authorization_code", "refresh_token"}, "redirect_uris": []string{"https://app.example.com/cb",
			"http://127.0.0.1/cb", "http://[::1]:8080/cb", "http://localhost:3000/cb", "com.example.app:/oauth"},
			"scopes": []string{"tenants.flows.*", "tenants.*", "role:viewer", "tenants.audit.get"}, "access_token_ttl": 60,
			"refresh_token_ttl": 3600},
		{"client_type": "public", "grant_types": []string{apiclients.GrantDeviceCode}, "roles": []string{}},
	} {
		e.Post(base, &e.Super, apiClientDoc(attrs)).ExpectStatus(t, http.StatusCreated)
	}
	// Every problem at once.
	r := e.Post(base, &e.Super, apiClientDoc(map[string]any{"name": "", "client_type": "x", "grant_types": []string{},
		"roles": []string{"emperor"}, "access_token_ttl": 1}))
	r.ExpectStatus(t, http.StatusUnprocessableEntity)
	if n := len(r.Errors(t)); n != 5 {
		t.Errorf("%d errors, want 5: %s", n, r.Body)
	}
	// Update checks the client as it would be.
	id, _ := mustAPIClient(t, e, tid, &e.Super, map[string]any{"grant_types": []string{"authorization_code"},
		"redirect_uris": []string{"https://app.example.com/cb"}})
	expectError(t, e.Patch(base+"/"+id, &e.Super, doc("api-client", map[string]any{"redirect_uris": []string{}}, nil)),
		http.StatusUnprocessableEntity, "redirect_uri_required", "/data/attributes/redirect_uris")
	expectError(t, e.Patch(base+"/"+id, &e.Super, docWithID("api-client", "00000000-0000-4000-8000-000000000000", map[string]any{}, nil)),
		http.StatusConflict, "id_mismatch", "/data/id")
}

func TestAPIClientRevokeTokens(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	// Acting on a client needs its rights too: the client is a viewer.
	editor := newMember(t, e, tid, []string{"viewer"}, []string{policy.APIClientsEdit})
	id, secret := mustAPIClient(t, e, tid, &e.Super, nil)
	path := tenantPath(tid, "/api-clients/"+id+"/revoke-tokens")
	before, err := e.App.APIClients.Get(context.Background(), uuid.MustParse(tid), uuid.MustParse(id))
	if err != nil {
		t.Fatal(err)
	}
	e.Do(apitest.Request{Method: http.MethodPost, Path: path, Auth: &editor}).ExpectStatus(t, http.StatusNoContent)
	e.Post(path, &editor, "{}").ExpectStatus(t, http.StatusNoContent)
	expectError(t, e.Post(path, &editor, doc("api-client", nil, nil)), http.StatusBadRequest, "body_not_allowed", "")
	after, err := e.App.APIClients.Get(context.Background(), uuid.MustParse(tid), uuid.MustParse(id))
	if err != nil {
		t.Fatal(err)
	}
	if !after.TokensValidAfter.After(before.TokensValidAfter) {
		t.Errorf("tokens_valid_after %v → %v", before.TokensValidAfter, after.TokensValidAfter)
	}
	// The client is kept and still authenticates.
	if _, err := e.App.APIClients.Authenticate(context.Background(), after.ClientID, secret); err != nil {
		t.Errorf("revoke-tokens broke the client: %v", err)
	}
	if n := countRows(t, e, `SELECT count(*) FROM audit_events WHERE action = 'api_client.revoke_tokens' AND resource_id = $1`, id); n != 2 {
		t.Errorf("%d revoke_tokens audit events, want 2", n)
	}
}

// Guards: get, create, edit and delete are separate permissions, and a
// member cannot give a client a role with rights they lack.
func TestAPIClientPermissions(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	id, _ := mustAPIClient(t, e, tid, &e.Super, nil)
	base := tenantPath(tid, "/api-clients")
	viewer := newMember(t, e, tid, []string{"viewer"}, nil)
	e.Get(base, &viewer).ExpectStatus(t, http.StatusOK)
	e.Get(base+"/"+id+"/secrets", &viewer).ExpectStatus(t, http.StatusOK)
	for _, r := range []*apitest.Response{
		e.Post(base, &viewer, apiClientDoc(nil)),
		e.Patch(base+"/"+id, &viewer, doc("api-client", map[string]any{"name": "x"}, nil)),
		e.Delete(base+"/"+id, &viewer),
		e.Post(base+"/"+id+"/secrets", &viewer, doc("api-client-secret", nil, nil)),
		e.Post(base+"/"+id+"/revoke-tokens", &viewer, nil),
	} {
		expectError(t, r, http.StatusForbidden, "permission_denied", "")
	}

	// May create API clients, and holds only what viewer holds otherwise.
	creator := newMember(t, e, tid, []string{"viewer"}, []string{policy.APIClientsCreate})
	expectError(t, e.Post(base, &creator, apiClientDoc(map[string]any{"roles": []string{"owner"}})),
		http.StatusForbidden, "grant_exceeds_own", "/data/attributes/roles")
	mustAPIClient(t, e, tid, &creator, map[string]any{"roles": []string{"viewer"}})
	editor := newMember(t, e, tid, []string{"viewer"}, []string{policy.APIClientsEdit})
	expectError(t, e.Patch(base+"/"+id, &editor, doc("api-client", map[string]any{"roles": []string{"admin"}}, nil)),
		http.StatusForbidden, "grant_exceeds_own", "/data/attributes/roles")
	e.Patch(base+"/"+id, &editor, doc("api-client", map[string]any{"name": "renamed"}, nil)).ExpectStatus(t, http.StatusOK)

	// Clients outlive their creator.
	cid, secret := mustAPIClient(t, e, tid, &creator, nil)
	e.Delete("/v2/users/"+creator.UserID, &e.Super).ExpectStatus(t, http.StatusNoContent)
	got := e.Get(base+"/"+cid, &e.Super).ExpectStatus(t, http.StatusOK)
	if got.Attr(t, "created_by") != creator.UserID {
		t.Errorf("created_by %v", got.Attr(t, "created_by"))
	}
	if _, err := e.App.APIClients.Authenticate(context.Background(), got.Attr(t, "client_id").(string), secret); err != nil {
		t.Errorf("client of a deleted user: %v", err)
	}
}

func TestAPIClientListPaging(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	for i := range 3 {
		mustAPIClient(t, e, tid, &e.Super, map[string]any{"name": fmt.Sprintf("client-%d", i)})
	}
	r := e.Get(tenantPath(tid, "/api-clients?sort=-name&page[size]=2"), &e.Super).ExpectStatus(t, http.StatusOK)
	items := r.List(t)
	if len(items) != 2 || attrOf(items[0], "name") != "client-2" || attrOf(items[1], "name") != "client-1" {
		t.Errorf("page: %s", r.Body)
	}
	if meta, _ := r.Doc(t)["meta"].(map[string]any); meta["total"] != float64(3) {
		t.Errorf("meta: %v", meta)
	}
	expectError(t, e.Get(tenantPath(tid, "/api-clients?sort=secret"), &e.Super), http.StatusBadRequest, "unknown_sort_field", "sort")
}

// A redirect URI's port is 1..65535: anything else names no endpoint a
// browser could be sent to, and URL parsers disagree on it.
func TestAPIClientRedirectURIPorts(t *testing.T) {
	e := apitest.New(t)
	tid := newTenant(t, e)
	base := tenantPath(tid, "/api-clients")
	web := func(uri string) map[string]any {
		return apiClientDoc(map[string]any{"grant_types": []string{"authorization_code"}, "roles": []string{},
			"redirect_uris": []string{uri}})
	}
	for _, uri := range []string{"https://app.example.test:0/cb", "https://app.example.test:65536/cb",
		"http://127.0.0.1:99999999999/cb", "https://app.example.test:00000/cb"} {
		expectError(t, e.Post(base, &e.Super, web(uri)), http.StatusUnprocessableEntity, "invalid_redirect_uri", "/data/attributes/redirect_uris")
	}
	for _, uri := range []string{"https://app.example.test:1/cb", "https://app.example.test:65535/cb", "http://127.0.0.1:8080/cb"} {
		e.Post(base, &e.Super, web(uri)).ExpectStatus(t, http.StatusCreated)
	}
}
