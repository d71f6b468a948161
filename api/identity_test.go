package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/apiclients"
)

// --- tenants ---

func TestTenantsSuperuserCRUD(t *testing.T) {
	e := apitest.New(t)
	su := &e.Super

	created := e.Post("/v2/tenants", su, doc("tenant", map[string]any{"name": "Acme"}, nil)).ExpectStatus(t, http.StatusCreated)
	tid := created.ID(t)
	if loc := created.Header.Get("Location"); loc != "/v2/tenants/"+tid {
		t.Errorf("Location = %q, want /v2/tenants/%s", loc, tid)
	}
	if got := created.Attr(t, "name"); got != "Acme" {
		t.Errorf("name = %v, want Acme", got)
	}

	// Names are unique whatever their case.
	expectError(t, e.Post("/v2/tenants", su, doc("tenant", map[string]any{"name": "ACME"}, nil)), http.StatusConflict, "tenant_name_taken", "/data/attributes/name")
	expectError(t, e.Post("/v2/tenants", su, doc("tenant", map[string]any{"name": ""}, nil)), http.StatusUnprocessableEntity, "required", "/data/attributes/name")

	if got := e.Get("/v2/tenants/"+tid, su).ExpectStatus(t, http.StatusOK).Attr(t, "name"); got != "Acme" {
		t.Errorf("GET name = %v", got)
	}
	other := newTenant(t, e)
	expectError(t, e.Patch("/v2/tenants/"+other, su, doc("tenant", map[string]any{"name": "acme"}, nil)), http.StatusConflict, "tenant_name_taken", "/data/attributes/name")
	renamed := e.Patch("/v2/tenants/"+tid, su, doc("tenant", map[string]any{"name": "Acme Corp"}, nil)).ExpectStatus(t, http.StatusOK)
	if got := renamed.Attr(t, "name"); got != "Acme Corp" {
		t.Errorf("renamed = %v", got)
	}
	list := e.Get("/v2/tenants?sort=name", su).ExpectStatus(t, http.StatusOK)
	if ids := listIDs(t, list); !slices.Contains(ids, tid) || !slices.Contains(ids, other) {
		t.Errorf("superuser list %v lacks %s or %s", ids, tid, other)
	}

	r := e.Delete("/v2/tenants/"+tid, su).ExpectStatus(t, http.StatusNoContent)
	if len(r.Body) != 0 {
		t.Errorf("delete has a body: %s", r.Body)
	}
	expectError(t, e.Get("/v2/tenants/"+tid, su), http.StatusNotFound, "tenant_not_found", "")
	expectError(t, e.Delete("/v2/tenants/"+tid, su), http.StatusNotFound, "tenant_not_found", "")
	// The name is free again.
	e.Post("/v2/tenants", su, doc("tenant", map[string]any{"name": "acme corp"}, nil)).ExpectStatus(t, http.StatusCreated)
}

func TestTenantsMembersSeeOnlyTheirOwn(t *testing.T) {
	e := apitest.New(t)
	mine, theirs := newTenant(t, e), newTenant(t, e)
	u := newUser(t, e)
	addMember(t, e, mine, u, []string{"viewer"}, nil)

	ids := listIDs(t, e.Get("/v2/tenants", &u).ExpectStatus(t, http.StatusOK))
	if !slices.Equal(ids, []string{mine}) {
		t.Errorf("member sees tenants %v, want only %s", ids, mine)
	}
	if total := listMeta(t, e.Get("/v2/tenants", &u))["total"]; total != float64(1) {
		t.Errorf("meta.total = %v, want 1", total)
	}
	e.Get("/v2/tenants/"+mine, &u).ExpectStatus(t, http.StatusOK)
	// Not a member: the same 404 as a tenant that does not exist.
	expectError(t, e.Get("/v2/tenants/"+theirs, &u), http.StatusNotFound, "tenant_not_found", "")
	expectError(t, e.Get("/v2/tenants/00000000-0000-4000-8000-000000000000", &u), http.StatusNotFound, "tenant_not_found", "")
	// Members do not administer tenants.
	expectError(t, e.Post("/v2/tenants", &u, doc("tenant", map[string]any{"name": "x" + "-" + uniq()}, nil)), http.StatusForbidden, "superuser_required", "")
	expectError(t, e.Patch("/v2/tenants/"+mine, &u, doc("tenant", map[string]any{"name": "x" + "-" + uniq()}, nil)), http.StatusForbidden, "superuser_required", "")
	expectError(t, e.Delete("/v2/tenants/"+mine, &u), http.StatusForbidden, "superuser_required", "")
}

// Deleting a tenant leaves no row that names it in any table (the audit
// trail of other tenants aside): every table and column is searched for
// its id after a tenant with members, grants, components, flows, OAuth
// clients, API clients, tokens, codes and revocations is deleted.
func TestTenantDeleteCascades(t *testing.T) {
	e := apitest.New(t)
	su := &e.Super
	tid := newTenant(t, e)
	u := newUser(t, e)
	addMember(t, e, tid, u, []string{"owner"}, []string{"tenants.audit.get"})
	cid := newComponent(t, e, tid, &u, map[string]any{"descriptor": map[string]any{"useOAuthClient": true}})
	e.Post("/v2/tenants/"+tid+"/oauth-clients", &u, oauthClientDoc(cid, "client", "secret-value")).ExpectStatus(t, http.StatusCreated)
	newFlow(t, e, tid, &u, "flow-"+uniq(), cid)
	machine := apitest.MachineClient(t, e, tid, "viewer")
	web := apitest.WebAppClient(t, e, tid, "tenants.oauth_clients.get")
	apitest.UserToken(t, e, web, u.UserID)                   // a grant and its refresh token
	apitest.IssueCode(t, e, web, u.UserID, "")               // an unused code
	apitest.ClientCredentialsToken(t, e, machine)            // a client's token
	revoked := apitest.ClientCredentialsToken(t, e, machine) // and one revoked by RFC 7009
	if r := apitest.PostForm(t, e, "/oauth/revoke", machine.PostCreds(url.Values{"token": {revoked}})); r.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.Status, r.Raw)
	}
	device := apitest.NewAPIClient(t, e, tid, apiclients.NewClient{ClientType: apiclients.TypePublic, GrantTypes: []string{apiclients.GrantDeviceCode}})
	if r := apitest.PostForm(t, e, "/oauth/device_authorization", url.Values{"client_id": {device.Client.ClientID}}); r.Status != http.StatusOK {
		t.Fatalf("device authorization: %d %s", r.Status, r.Raw)
	}

	e.Delete("/v2/tenants/"+tid, su).ExpectStatus(t, http.StatusNoContent)

	for table, n := range rowsNaming(t, e, tid) {
		t.Errorf("%s still has %d rows naming the deleted tenant", table, n)
	}
	// The user survives, and no longer sees the tenant.
	if ids := listIDs(t, e.Get("/v2/tenants", &u).ExpectStatus(t, http.StatusOK)); len(ids) != 0 {
		t.Errorf("former member still sees tenants %v", ids)
	}
	expectError(t, e.Get("/v2/tenants/"+tid+"/components", &u), http.StatusNotFound, "tenant_not_found", "")
}

// Deleting a tenant must not silently take other tenants' flows and OAuth
// clients with it: its global components are in use elsewhere.
func TestTenantDeleteRefusedWhileOtherTenantsUseItsGlobalComponents(t *testing.T) {
	e := apitest.New(t)
	su := &e.Super
	owner, user := newTenant(t, e), newTenant(t, e)
	cid := newComponent(t, e, owner, su, map[string]any{"visibility": "global", "descriptor": map[string]any{"useOAuthClient": true}})
	oc := e.Post("/v2/tenants/"+user+"/oauth-clients", su, oauthClientDoc(cid, "client", "secret-value")).ExpectStatus(t, http.StatusCreated).ID(t)
	fid := newFlow(t, e, user, su, "flow-"+uniq(), cid)

	expectError(t, e.Delete("/v2/tenants/"+owner, su), http.StatusConflict, "tenant_in_use", "")
	e.Get("/v2/tenants/"+owner, su).ExpectStatus(t, http.StatusOK)
	e.Get("/v2/tenants/"+user+"/oauth-clients/"+oc, su).ExpectStatus(t, http.StatusOK)
	f := e.Get("/v2/tenants/"+user+"/flows/"+fid, su).ExpectStatus(t, http.StatusOK)
	if !strings.Contains(string(f.Body), cid) {
		t.Errorf("flow lost its component: %s", f.Body)
	}

	// Once the other tenant lets go, the delete goes through.
	e.Delete("/v2/tenants/"+user+"/flows/"+fid, su).ExpectStatus(t, http.StatusNoContent)
	e.Delete("/v2/tenants/"+user+"/oauth-clients/"+oc, su).ExpectStatus(t, http.StatusNoContent)
	e.Delete("/v2/tenants/"+owner, su).ExpectStatus(t, http.StatusNoContent)
}

// --- users ---

func TestUsersCreate(t *testing.T) {
	e := apitest.New(t)
	su := &e.Super

	withPw := e.Post("/v2/users", su, doc("user", map[string]any{"email": "Ada@Example.com", "password": "correct horse"}, nil)).
		ExpectStatus(t, http.StatusCreated)
	if withPw.Attr(t, "has_password") != true || withPw.Attr(t, "superuser") != false || withPw.Attr(t, "email") != "Ada@Example.com" {
		t.Errorf("user with password: %s", withPw.Body)
	}
	if strings.Contains(string(withPw.Body), "correct horse") || strings.Contains(string(withPw.Body), "password_hash") {
		t.Errorf("response leaks the password: %s", withPw.Body)
	}
	if loc := withPw.Header.Get("Location"); loc != "/v2/users/"+withPw.ID(t) {
		t.Errorf("Location = %q", loc)
	}
	noPw := e.Post("/v2/users", su, doc("user", map[string]any{"email": "bob@example.com"}, nil)).ExpectStatus(t, http.StatusCreated)
	if noPw.Attr(t, "has_password") != false {
		t.Errorf("user without password: %s", noPw.Body)
	}

	expectError(t, e.Post("/v2/users", su, doc("user", map[string]any{"email": "ADA@example.COM"}, nil)), http.StatusConflict, "email_taken", "/data/attributes/email")
	for _, bad := range []string{"not-an-email", "Ada <ada@example.com>", "", "a@"} {
		expectError(t, e.Post("/v2/users", su, doc("user", map[string]any{"email": bad}, nil)), http.StatusUnprocessableEntity, "", "")
		r := e.Post("/v2/users", su, doc("user", map[string]any{"email": bad}, nil))
		if errs := r.Errors(t); errs[0]["source"].(map[string]any)["pointer"] != "/data/attributes/email" {
			t.Errorf("email %q: error not at the email attribute: %s", bad, r.Body)
		}
	}
	// Every problem at once.
	r := e.Post("/v2/users", su, doc("user", map[string]any{"email": "nope", "password": "short"}, nil)).ExpectStatus(t, http.StatusUnprocessableEntity)
	if n := len(r.Errors(t)); n != 2 {
		t.Errorf("want 2 errors (email and password), got %d: %s", n, r.Body)
	}

	list := e.Get("/v2/users?sort=email", su).ExpectStatus(t, http.StatusOK)
	if ids := listIDs(t, list); !slices.Contains(ids, withPw.ID(t)) || !slices.Contains(ids, noPw.ID(t)) {
		t.Errorf("user list %v", ids)
	}
	u := newUser(t, e)
	expectError(t, e.Get("/v2/users", &u), http.StatusForbidden, "superuser_required", "")
	expectError(t, e.Post("/v2/users", &u, doc("user", map[string]any{"email": "x@example.com"}, nil)), http.StatusForbidden, "superuser_required", "")
}

func TestUsersMeAndSelfService(t *testing.T) {
	e := apitest.New(t)
	u := newUser(t, e)
	other := newUser(t, e)

	me := e.Get("/v2/users/me", &u).ExpectStatus(t, http.StatusOK)
	if me.ID(t) != u.UserID || me.Attr(t, "email") != u.Email {
		t.Errorf("/v2/users/me = %s, want %s", me.Body, u.UserID)
	}
	e.Get("/v2/users/"+u.UserID, &u).ExpectStatus(t, http.StatusOK)
	// Other users are not even visible.
	expectError(t, e.Get("/v2/users/"+other.UserID, &u), http.StatusNotFound, "user_not_found", "")
	expectError(t, e.Patch("/v2/users/"+other.UserID, &u, doc("user", map[string]any{"email": "hijack@example.com"}, nil)), http.StatusNotFound, "user_not_found", "")

	// Self may change email and password, without data.id.
	newEmail := "renamed" + "-" + uniq() + "@example.com"
	p := e.Patch("/v2/users/me", &u, doc("user", map[string]any{"email": newEmail, "password": "a long password"}, nil)).
		ExpectStatus(t, http.StatusOK)
	if p.Attr(t, "email") != newEmail || p.Attr(t, "has_password") != true {
		t.Errorf("patched self: %s", p.Body)
	}
	u.Email = newEmail
	e.Get("/v2/users/me", &u).ExpectStatus(t, http.StatusOK)
	expectError(t, e.Patch("/v2/users/me", &u, doc("user", map[string]any{"email": other.Email}, nil)), http.StatusConflict, "email_taken", "/data/attributes/email")

	// ... but not the superuser flag.
	expectError(t, e.Patch("/v2/users/me", &u, doc("user", map[string]any{"superuser": true}, nil)), http.StatusForbidden, "superuser_required", "/data/attributes/superuser")
	if e.Get("/v2/users/me", &u).Attr(t, "superuser") != false {
		t.Fatal("user made themself superuser")
	}
	expectError(t, e.Get("/v2/users", &u), http.StatusForbidden, "superuser_required", "")

	// The superuser can.
	su := e.Patch("/v2/users/"+u.UserID, &e.Super, doc("user", map[string]any{"superuser": true}, nil)).ExpectStatus(t, http.StatusOK)
	if su.Attr(t, "superuser") != true {
		t.Errorf("superuser flag not set: %s", su.Body)
	}
	e.Get("/v2/users", &u).ExpectStatus(t, http.StatusOK)

	// A data.id that differs from the URL is a conflict.
	e.Patch("/v2/users/"+u.UserID, &e.Super, map[string]any{"data": map[string]any{"type": "user", "id": other.UserID,
		"attributes": map[string]any{"email": "z@example.com"}}}).ExpectStatus(t, http.StatusConflict)

	// The superuser deletes users; their keys stop working.
	e.Delete("/v2/users/"+other.UserID, &e.Super).ExpectStatus(t, http.StatusNoContent)
	e.Get("/v2/users/me", &other).ExpectStatus(t, http.StatusUnauthorized)
}

// --- API keys and basic auth ---

func TestAPIKeysLifecycle(t *testing.T) {
	e := apitest.New(t)
	u := newUser(t, e)

	created := e.Post("/v2/users/me/api-keys", &u, doc("api-key", map[string]any{"name": "ci"}, nil)).ExpectStatus(t, http.StatusCreated)
	key, _ := created.Attr(t, "key").(string)
	kid := created.ID(t)
	if len(key) < 32 || strings.Trim(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") != "" {
		t.Fatalf("key %q is not a long URL-safe string", key)
	}
	if hint := created.Attr(t, "hint"); hint != key[len(key)-4:] {
		t.Errorf("hint = %v, want the key's last 4 characters", hint)
	}
	if created.Attr(t, "last_used_at") != nil {
		t.Errorf("new key has last_used_at: %s", created.Body)
	}
	if cc := created.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	// The key is stored as a digest only: no text or binary column of any
	// table holds it, plainly or base64-encoded, and its row holds exactly
	// its SHA-256 digest.
	if where := dbHolding(t, e, key); len(where) > 0 {
		t.Errorf("the plain key is stored in %v", where)
	}
	var stored []byte
	if err := e.App.DB.SQL().QueryRow("SELECT digest FROM api_keys WHERE id = $1", kid).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if want := sha256.Sum256([]byte(key)); !bytes.Equal(stored, want[:]) {
		t.Errorf("stored digest %x is not the key's SHA-256", stored)
	}

	// It works at once.
	ci := apitest.Creds{UserID: u.UserID, Email: u.Email, Key: key}
	if got := e.Get("/v2/users/me", &ci).ExpectStatus(t, http.StatusOK).ID(t); got != u.UserID {
		t.Errorf("key authenticates as %s, want %s", got, u.UserID)
	}

	list := e.Get("/v2/users/me/api-keys", &u).ExpectStatus(t, http.StatusOK)
	if strings.Contains(string(list.Body), key) {
		t.Fatalf("list shows the key: %s", list.Body)
	}
	var found map[string]any
	for _, it := range list.List(t) {
		attrs := it["attributes"].(map[string]any)
		if _, has := attrs["key"]; has {
			t.Errorf("list item has a key attribute: %v", attrs)
		}
		if it["id"] == kid {
			found = attrs
		}
	}
	if found == nil {
		t.Fatalf("list lacks key %s: %s", kid, list.Body)
	}
	if found["hint"] != key[len(key)-4:] || found["name"] != "ci" {
		t.Errorf("listed key = %v", found)
	}
	if found["last_used_at"] == nil {
		t.Errorf("last_used_at not set after use: %v", found)
	}
	// A superuser sees the user's keys too; other users do not.
	e.Get("/v2/users/"+u.UserID+"/api-keys", &e.Super).ExpectStatus(t, http.StatusOK)
	stranger := newUser(t, e)
	expectError(t, e.Get("/v2/users/"+u.UserID+"/api-keys", &stranger), http.StatusNotFound, "user_not_found", "")
	expectError(t, e.Delete("/v2/users/"+u.UserID+"/api-keys/"+kid, &stranger), http.StatusNotFound, "user_not_found", "")
	// A key id of another user is not found under mine.
	expectError(t, e.Delete("/v2/users/me/api-keys/"+kid, &stranger), http.StatusNotFound, "api_key_not_found", "")
	e.Get("/v2/users/me", &ci).ExpectStatus(t, http.StatusOK)

	expectError(t, e.Post("/v2/users/me/api-keys", &u, doc("api-key", map[string]any{"name": " "}, nil)), http.StatusUnprocessableEntity, "required", "/data/attributes/name")

	// Deleting revokes.
	e.Delete("/v2/users/me/api-keys/"+kid, &u).ExpectStatus(t, http.StatusNoContent)
	expectError(t, e.Get("/v2/users/me", &ci), http.StatusUnauthorized, "unauthenticated", "")
	expectError(t, e.Delete("/v2/users/me/api-keys/"+kid, &u), http.StatusNotFound, "api_key_not_found", "")
	e.Get("/v2/users/me", &u).ExpectStatus(t, http.StatusOK)
}

func TestBasicAuth(t *testing.T) {
	e := apitest.New(t)
	u := newUser(t, e)

	upper := u
	upper.Email = strings.ToUpper(u.Email)
	if got := e.Get("/v2/users/me", &upper).ExpectStatus(t, http.StatusOK).ID(t); got != u.UserID {
		t.Errorf("upper-case email authenticates as %s", got)
	}

	wrongKey := u
	wrongKey.Key = u.Key + "x"
	wrongEmail := u
	wrongEmail.Email = "nobody@example.com"
	otherUsersEmail := u
	otherUsersEmail.Email = e.Super.Email
	var bodies []string
	for name, c := range map[string]apitest.Creds{"wrong key": wrongKey, "unknown email": wrongEmail, "another user's email": otherUsersEmail} {
		r := e.Get("/v2/users/me", &c)
		expectError(t, r, http.StatusUnauthorized, "unauthenticated", "")
		if r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: no WWW-Authenticate header", name)
		}
		bodies = append(bodies, string(r.Errors(t)[0]["detail"].(string)))
	}
	if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
		t.Errorf("failures differ, leaking which part was wrong: %q", bodies)
	}
	expectError(t, e.Get("/v2/users/me", nil), http.StatusUnauthorized, "unauthenticated", "")
	expectError(t, e.Do(apitest.Request{Method: http.MethodGet, Path: "/v2/users/me",
		Header: http.Header{"Authorization": {"Bearer not-a-token"}}}), http.StatusUnauthorized, "invalid_token", "")
}

// EnsureSuperuser is what OAUTHD_BOOTSTRAP_SUPERUSER runs at every start.
func TestEnsureSuperuserIsIdempotent(t *testing.T) {
	e := apitest.New(t)
	ctx := context.Background()
	key := strings.Repeat("A1_-", 10)
	u1, err := e.App.Tenants.EnsureSuperuser(ctx, "Boot@Example.com", key)
	if err != nil {
		t.Fatal(err)
	}
	u2, err := e.App.Tenants.EnsureSuperuser(ctx, "boot@example.com", key)
	if err != nil {
		t.Fatal(err)
	}
	if u1.ID != u2.ID || !u2.Superuser {
		t.Errorf("second call gave %+v, first %+v", u2, u1)
	}
	var users, keys int
	db := e.App.DB.SQL()
	if err := db.QueryRow("SELECT count(*) FROM users WHERE lower(email) = 'boot@example.com'").Scan(&users); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT count(*) FROM api_keys WHERE user_id = $1", u1.ID).Scan(&keys); err != nil {
		t.Fatal(err)
	}
	if users != 1 || keys != 1 {
		t.Errorf("after two calls: %d users, %d keys; want 1 and 1", users, keys)
	}
	boot := apitest.Creds{Email: "boot@example.com", Key: key}
	if e.Get("/v2/users/me", &boot).ExpectStatus(t, http.StatusOK).Attr(t, "superuser") != true {
		t.Error("bootstrap user is not a superuser")
	}
	e.Get("/v2/users", &boot).ExpectStatus(t, http.StatusOK)

	// An existing ordinary user is promoted, keeping their id.
	plain := newUser(t, e)
	p, err := e.App.Tenants.EnsureSuperuser(ctx, plain.Email, strings.Repeat("z", 32))
	if err != nil {
		t.Fatal(err)
	}
	if p.ID.String() != plain.UserID || !p.Superuser {
		t.Errorf("promoted %+v, want id %s superuser", p, plain.UserID)
	}

	for _, bad := range []string{
		strings.Repeat("a", 31), strings.Repeat("a", 129), strings.Repeat("a", 31) + "!",
		strings.Repeat("a", 31) + " ", strings.Repeat("é", 32), "",
	} {
		if _, err := e.App.Tenants.EnsureSuperuser(ctx, "bad@example.com", bad); err == nil {
			t.Errorf("key %q (%d bytes) accepted", bad, len(bad))
		}
	}
	for _, good := range []string{strings.Repeat("a", 32), strings.Repeat("Z9_-", 32)} {
		if _, err := e.App.Tenants.EnsureSuperuser(ctx, "good@example.com", good); err != nil {
			t.Errorf("key of %d characters refused: %v", len(good), err)
		}
	}
	if err := db.QueryRow("SELECT count(*) FROM users WHERE email = 'bad@example.com'").Scan(&users); err != nil {
		t.Fatal(err)
	}
	if users != 0 {
		t.Error("a rejected bootstrap still created the user")
	}
}

// rowsNaming counts, per table, the rows any column of which contains
// text (its text form), leaving out the audit trail and goose's table.
func rowsNaming(t *testing.T, e *apitest.Env, text string) map[string]int {
	t.Helper()
	db := e.App.DB.SQL()
	rows, err := db.Query(`SELECT table_name, string_agg(format('%I::text LIKE $1', column_name), ' OR ')
		FROM information_schema.columns c JOIN information_schema.tables USING (table_schema, table_name)
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
		  AND table_name NOT IN ('audit_events', 'goose_db_version')
		GROUP BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	queries := map[string]string{}
	for rows.Next() {
		var table, cond string
		if err := rows.Scan(&table, &cond); err != nil {
			t.Fatal(err)
		}
		queries[table] = fmt.Sprintf("SELECT count(*) FROM %q WHERE %s", table, cond)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if len(queries) < 10 {
		t.Fatalf("only %d tables found to search", len(queries))
	}
	out := map[string]int{}
	for table, q := range queries {
		var n int
		if err := db.QueryRow(q, "%"+text+"%").Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if n > 0 {
			out[table] = n
		}
	}
	return out
}
