package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/internal/app"
	"github.com/oauthd/oauthd/internal/keyring"
	"github.com/oauthd/oauthd/internal/testdb"
	"github.com/oauthd/oauthd/tenants"
)

// TestAdminTasks runs each admin task as `oauthd admin ...` would, against
// a real database, and checks what it did through the services a server on
// the same database uses.
func TestAdminTasks(t *testing.T) {
	ctx := context.Background()
	dbURL, masterKey := testdb.New(t), keyring.NewKey()
	t.Setenv("OAUTHD_DATABASE_URL", dbURL)
	t.Setenv("OAUTHD_MASTER_KEY", masterKey)
	run := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := admin(ctx, args, strings.NewReader(""), &out); err != nil {
			t.Fatalf("admin %v: %v", args, err)
		}
		return out.String()
	}

	keyOf := regexp.MustCompile(`API key \(shown once\): (\S+)`)
	m := keyOf.FindStringSubmatch(run("create-superuser", "-email", "Root@Example.test"))
	if m == nil {
		t.Fatal("create-superuser printed no API key")
	}
	tenantID := strings.TrimSpace(run("create-tenant", "-name", "acme"))
	if _, err := uuid.Parse(tenantID); err != nil {
		t.Fatalf("create-tenant printed %q, not a tenant id", tenantID)
	}
	// A second superuser run promotes and prints another key; both work.
	m2 := keyOf.FindStringSubmatch(run("create-superuser", "-email", "root@example.test"))
	if m2 == nil || m2[1] == m[1] {
		t.Fatalf("second create-superuser: %v", m2)
	}

	a := openApp(t, dbURL, masterKey)
	for _, key := range []string{m[1], m2[1]} {
		u, err := a.Tenants.Authenticate(ctx, "root@example.test", key)
		if err != nil || !u.Superuser {
			t.Fatalf("superuser key does not authenticate a superuser: %v, %+v", err, u)
		}
	}

	// A plain user, added to the tenant with a role and a permission, then
	// given a key of its own.
	su, err := a.Tenants.UserByEmail(ctx, "root@example.test")
	if err != nil {
		t.Fatal(err)
	}
	if out := run("add-member", "-tenant", tenantID, "-email", su.Email, "-roles", "viewer, developer", "-permissions", "tenants.oauth_clients.reveal_secret"); !strings.Contains(out, "member of "+tenantID) {
		t.Errorf("add-member printed %q", out)
	}
	mem, err := a.Tenants.Member(ctx, uuid.MustParse(tenantID), su.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mem.Grants.Roles, []string{"developer", "viewer"}) && !slices.Equal(mem.Grants.Roles, []string{"viewer", "developer"}) {
		t.Errorf("roles = %v", mem.Grants.Roles)
	}
	if !slices.Equal(mem.Grants.Permissions, []string{"tenants.oauth_clients.reveal_secret"}) {
		t.Errorf("permissions = %v", mem.Grants.Permissions)
	}
	key := strings.TrimSpace(run("create-api-key", "-email", su.Email, "-name", "ci"))
	if _, err := a.Tenants.Authenticate(ctx, su.Email, key); err != nil {
		t.Errorf("create-api-key printed a key that does not authenticate: %v", err)
	}

	// set-password reads the password from stdin; the sign-in pages then
	// accept it.
	var out bytes.Buffer
	if err := admin(ctx, []string{"set-password", "-email", su.Email}, strings.NewReader("a long enough passphrase 42\n"), &out); err != nil {
		t.Fatalf("set-password: %v", err)
	}
	if u, err := a.Tenants.UserByEmail(ctx, su.Email); err != nil || !u.CheckPassword("a long enough passphrase 42") {
		t.Errorf("set-password did not set the password: %v", err)
	}
	// Emails are found whatever their case, beyond ASCII too.
	if _, err := a.Tenants.CreateUser(ctx, tenants.NewUser{Email: "\u00c9VA@example.test"}); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := admin(ctx, []string{"set-password", "-email", "\u00e9va@example.test"}, strings.NewReader("another long passphrase 7\n"), &out); err != nil {
		t.Fatalf("set-password -email \u00e9va@example.test: %v", err)
	}
	if u, err := a.Tenants.UserByEmail(ctx, "\u00c9VA@example.test"); err != nil || !u.CheckPassword("another long passphrase 7") {
		t.Errorf("set-password -email \u00e9va@example.test did not set \u00c9VA@example.test's password: %v", err)
	}

	// API clients: create prints the id and the secret once; the client
	// gets tokens; a second secret works beside the first; list shows it;
	// delete removes it.
	created := run("create-api-client", "-tenant", tenantID, "-name", "deploy-bot", "-roles", "viewer")
	id, secret := field(t, created, "client_id"), field(t, created, "client_secret")
	if _, err := a.APIClients.Authenticate(ctx, id, secret); err != nil {
		t.Fatalf("the printed client secret does not authenticate: %v", err)
	}
	// The admin command is another instance: its changes reach this one's
	// caches within the second changes take.
	second := field(t, run("add-api-client-secret", "-tenant", tenantID, "-client", id), "client_secret")
	apitest.Eventually(t, 2*time.Second, func() error {
		for _, s := range []string{secret, second} {
			if _, err := a.APIClients.Authenticate(ctx, id, s); err != nil {
				return fmt.Errorf("secret %s…: %w", s[:6], err)
			}
		}
		return nil
	})
	if list := run("list-api-clients", "-tenant", tenantID); !strings.Contains(list, id) || !strings.Contains(list, "deploy-bot") {
		t.Errorf("list-api-clients printed:\n%s", list)
	}
	run("delete-api-client", "-tenant", tenantID, "-client", id)
	apitest.Eventually(t, 2*time.Second, func() error {
		if _, err := a.APIClients.Authenticate(ctx, id, secret); err == nil {
			return errors.New("a deleted client still authenticates")
		}
		return nil
	})
	// Another tenant's id names nothing.
	err = admin(ctx, []string{"delete-api-client", "-tenant", uuid.NewString(), "-client", id}, strings.NewReader(""), &out)
	if err == nil || !strings.Contains(err.Error(), "no API client") {
		t.Errorf("delete in another tenant: %v", err)
	}
}

// field is the value after "name " on a line of out.
func field(t *testing.T, out, name string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %s in %q", name, out)
	}
	return m[1]
}

// TestAdminRefusesBadInvocations: mistakes are named before the database is
// touched (no database is configured here, so reaching it would fail with a
// configuration error instead).
func TestAdminRefusesBadInvocations(t *testing.T) {
	t.Setenv("OAUTHD_DATABASE_URL", "")
	t.Setenv("OAUTHD_MASTER_KEY", "")
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "needs a task"},
		{[]string{"drop-everything"}, `unknown admin task "drop-everything"`},
		{[]string{"create-tenant", "acme"}, `unexpected argument "acme"`},
		{[]string{"create-tenant"}, "-name is required"},
		{[]string{"create-tenant", "-name", "  "}, "-name is required"},
		{[]string{"create-superuser", "-name", "x"}, "flag provided but not defined: -name"},
		{[]string{"add-member", "-email", "a@b.c"}, "-tenant is required"},
		{[]string{"create-api-key"}, "-email is required"},
		{[]string{"set-password", "-email", "a@b.c"}, "reads the new password from stdin"},
		{[]string{"create-api-client", "-tenant", "not-an-id", "-name", "x"}, "-tenant"},
		{[]string{"delete-api-client", "-tenant", uuid.NewString()}, "-client is required"},
		{[]string{"rewrap"}, "-from-previous is required"},
		{[]string{"rewrap", "-from-previous", "-batch", "0"}, "-batch must be a whole number"},
		{[]string{"rotate-signing-key", "-withdraw-old=maybe"}, "invalid boolean value"},
		{[]string{"rotate-signing-key", "now"}, `unexpected argument "now"`},
	} {
		err := admin(context.Background(), c.args, strings.NewReader(""), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("admin %v: error %v, want it to say %q", c.args, err, c.want)
		}
	}
	// With every flag right, what is missing next is the configuration.
	err := admin(context.Background(), []string{"create-tenant", "-name", "acme"}, strings.NewReader(""), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "OAUTHD_DATABASE_URL") {
		t.Errorf("admin without configuration: %v, want it to name OAUTHD_DATABASE_URL", err)
	}
}

// The operators' levers as commands: rotate-signing-key prints the new
// kid (and withdraws the others when told); rewrap needs a previous key,
// re-seals what it sealed and says when nothing is left.
func TestAdminKeyLevers(t *testing.T) {
	ctx := context.Background()
	dbURL, oldKey, newKey := testdb.New(t), keyring.NewKey(), keyring.NewKey()
	t.Setenv("OAUTHD_DATABASE_URL", dbURL)
	t.Setenv("OAUTHD_MASTER_KEY", oldKey)
	run := func(args ...string) (string, error) {
		t.Helper()
		var out bytes.Buffer
		err := admin(ctx, args, strings.NewReader(""), &out)
		return out.String(), err
	}
	countKeys := func(a *app.App, where string) int {
		t.Helper()
		var n int
		if err := a.DB.SQL().QueryRow("SELECT count(*) FROM signing_keys WHERE " + where).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	a := openApp(t, dbURL, oldKey) // a serving instance: its key exists
	out, err := run("rotate-signing-key")
	kid := regexp.MustCompile(`signing key (\S+) signs from now`).FindStringSubmatch(out)
	if err != nil || kid == nil || !strings.Contains(out, "stay published") {
		t.Fatalf("rotate-signing-key: %q, %v", out, err)
	}
	if countKeys(a, "true") != 2 || countKeys(a, "kid = '"+kid[1]+"' AND activates_at <= now()") != 1 {
		t.Errorf("after a rotation: %d keys", countKeys(a, "true"))
	}
	out, err = run("rotate-signing-key", "--withdraw-old")
	kid2 := regexp.MustCompile(`signing key (\S+) signs from now`).FindStringSubmatch(out)
	if err != nil || kid2 == nil || kid2[1] == kid[1] || !strings.Contains(out, "withdrawn") {
		t.Fatalf("rotate-signing-key --withdraw-old: %q, %v", out, err)
	}
	if countKeys(a, "true") != 1 || countKeys(a, "kid = '"+kid2[1]+"'") != 1 {
		t.Errorf("after a withdrawal: %d keys", countKeys(a, "true"))
	}

	if _, err := run("rewrap", "--from-previous"); err == nil || !strings.Contains(err.Error(), "OAUTHD_PREVIOUS_MASTER_KEYS is empty") {
		t.Errorf("rewrap without a previous key: %v", err)
	}
	t.Setenv("OAUTHD_MASTER_KEY", newKey)
	t.Setenv("OAUTHD_PREVIOUS_MASTER_KEYS", oldKey)
	out, err = run("rewrap", "--from-previous", "-batch", "1")
	if err != nil || !regexp.MustCompile(`(?m)^signing_keys +1 re-sealed$`).MatchString(out) || !strings.Contains(out, "nothing is sealed with a previous key") {
		t.Fatalf("rewrap: %q, %v", out, err)
	}
	raw, _ := keyring.ParseKey(newKey)
	if countKeys(a, "sealed_with <> '"+keyring.KeyID(raw)+"'") != 0 {
		t.Error("a signing key is still sealed with the old master key")
	}
}

func openApp(t *testing.T, dbURL, masterKey string) *app.App {
	t.Helper()
	raw, err := keyring.ParseKey(masterKey)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := keyring.New(raw)
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), app.Options{DatabaseURL: dbURL, Keyring: kr, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}
