package tenants_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/oauthd/oauthd/audit"
	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/listing"
	"github.com/oauthd/oauthd/internal/testdb"
	"github.com/oauthd/oauthd/policy"
	"github.com/oauthd/oauthd/tenants"
)

func idService(t *testing.T) (*database.DB, *tenants.Service, *policy.Enforcer) {
	t.Helper()
	db, err := database.Open(testdb.New(t), database.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if _, err := database.Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	enf, err := policy.NewEnforcer(db)
	if err != nil {
		t.Fatal(err)
	}
	return db, tenants.NewService(db, tenants.NewStore(db), enf, audit.NewLog(db), tenants.Options{PasswordCost: bcrypt.MinCost}), enf
}

func TestAuthenticate(t *testing.T) {
	db, svc, _ := idService(t)
	ctx := context.Background()
	u, err := svc.CreateUser(ctx, tenants.NewUser{Email: "Ada@Example.com"})
	if err != nil {
		t.Fatal(err)
	}
	k, key, err := svc.CreateAPIKey(ctx, nil, u.ID, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if k.LastUsedAt != nil || k.Hint != key[len(key)-4:] || string(k.Digest) == key {
		t.Errorf("new key = %+v", k)
	}
	for _, email := range []string{"Ada@Example.com", "ada@example.com", "ADA@EXAMPLE.COM"} {
		got, err := svc.Authenticate(ctx, email, key)
		if err != nil || got.ID != u.ID {
			t.Errorf("Authenticate(%q) = %v, %v", email, got, err)
		}
	}
	other, err := svc.CreateUser(ctx, tenants.NewUser{Email: "bob@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range [][2]string{{"ada@example.com", key + "x"}, {"ada@example.com", ""}, {"nobody@example.com", key}, {other.Email, key}} {
		if _, err := svc.Authenticate(ctx, c[0], c[1]); !errors.Is(err, tenants.ErrUnauthenticated) {
			t.Errorf("Authenticate(%q, ...) = %v, want ErrUnauthenticated", c[0], err)
		}
	}
	page, err := svc.APIKeys(ctx, u.ID, listing.Default())
	if err != nil || len(page.Items) != 1 || page.Items[0].LastUsedAt == nil {
		t.Errorf("after use: %+v, %v", page.Items, err)
	}
	if err := svc.DeleteAPIKey(ctx, other.ID, k.ID); !errors.Is(err, tenants.ErrAPIKeyNotFound) {
		t.Errorf("deleting another user's key: %v", err)
	}
	if err := svc.DeleteAPIKey(ctx, u.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, "ada@example.com", key); !errors.Is(err, tenants.ErrUnauthenticated) {
		t.Errorf("a deleted key authenticates: %v", err)
	}
	_ = db
}

func TestEnsureSuperuser(t *testing.T) {
	db, svc, _ := idService(t)
	ctx := context.Background()
	key := strings.Repeat("k", 40)
	for range 2 {
		u, err := svc.EnsureSuperuser(ctx, "root@example.com", key)
		if err != nil {
			t.Fatal(err)
		}
		if !u.Superuser {
			t.Error("not a superuser")
		}
	}
	var users, keys int64
	if err := db.Conn(ctx).Raw("SELECT count(*) FROM users").Scan(&users).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Conn(ctx).Raw("SELECT count(*) FROM api_keys").Scan(&keys).Error; err != nil {
		t.Fatal(err)
	}
	if users != 1 || keys != 1 {
		t.Errorf("%d users and %d keys after two runs, want 1 and 1", users, keys)
	}
	if u, err := svc.Authenticate(ctx, "ROOT@example.com", key); err != nil || !u.Superuser {
		t.Errorf("bootstrap key: %v, %v", u, err)
	}
	// A second key for the same user is added, not substituted.
	key2 := strings.Repeat("q", 32)
	if _, err := svc.EnsureSuperuser(ctx, "root@example.com", key2); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{key, key2} {
		if _, err := svc.Authenticate(ctx, "root@example.com", k); err != nil {
			t.Errorf("key %q: %v", k[:4], err)
		}
	}
	for _, bad := range []string{strings.Repeat("k", 31), strings.Repeat("k", 129), strings.Repeat("k", 40) + "+"} {
		if _, err := svc.EnsureSuperuser(ctx, "new@example.com", bad); err == nil {
			t.Errorf("bootstrap key of %d characters accepted", len(bad))
		}
	}
	if _, err := svc.UserByEmail(ctx, "new@example.com"); !errors.Is(err, tenants.ErrUserNotFound) {
		t.Errorf("rejected bootstrap created a user: %v", err)
	}
}

func TestMembershipsGrantRights(t *testing.T) {
	_, svc, enf := idService(t)
	ctx := context.Background()
	tn, err := svc.CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	other, err := svc.CreateTenant(ctx, "other")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateTenant(ctx, "ACME"); !errors.Is(err, tenants.ErrTenantNameTaken) {
		t.Errorf("duplicate name: %v", err)
	}
	u, err := svc.CreateUser(ctx, tenants.NewUser{Email: "m@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.AddMember(ctx, tn.ID, u.ID, policy.Grants{Roles: []string{"admin"}}, nil); err != nil {
		t.Fatal(err)
	}
	if ok, _ := enf.Allowed(u.ID, tn.ID, policy.OAuthClientsCreate); !ok {
		t.Error("admin cannot create OAuth clients right after AddMember")
	}
	if ok, _ := enf.Allowed(u.ID, other.ID, policy.OAuthClientsGet); ok {
		t.Error("membership in one tenant grants rights in another")
	}
	if _, err := svc.AddMember(ctx, tn.ID, u.ID, policy.Grants{}, nil); !errors.Is(err, tenants.ErrAlreadyMember) {
		t.Errorf("second AddMember: %v", err)
	}
	if _, err := svc.AddMember(ctx, tn.ID, uuid.New(), policy.Grants{}, nil); err == nil {
		t.Error("AddMember of a user that does not exist succeeded")
	}
	roles := []string{"viewer"}
	if _, err := svc.UpdateMember(ctx, tn.ID, u.ID, tenants.MemberPatch{Roles: &roles}, nil); err != nil {
		t.Fatal(err)
	}
	if ok, _ := enf.Allowed(u.ID, tn.ID, policy.OAuthClientsCreate); ok {
		t.Error("downgrade not in force at once")
	}
	if err := svc.RemoveMember(ctx, tn.ID, u.ID, nil); err != nil {
		t.Fatal(err)
	}
	if ok, _ := enf.Allowed(u.ID, tn.ID, policy.OAuthClientsGet); ok {
		t.Error("removed member keeps rights")
	}
	if member, err := svc.IsMember(ctx, tn.ID, u.ID); err != nil || member {
		t.Errorf("IsMember after removal = %v, %v", member, err)
	}
	page, err := svc.Tenants(ctx, &u.ID, listing.Default())
	if err != nil || page.Total != 0 {
		t.Errorf("tenants of a former member: %+v, %v", page, err)
	}
}

// An API key carries every right of its user, and a user row's superuser
// flag every right there is: only the user themself (not through a token)
// or a superuser mints a key, and only a superuser changes the flag. The
// services apply this whoever calls them.
func TestCredentialsOnlyFromWhoHoldsTheRights(t *testing.T) {
	_, svc, _ := idService(t)
	ctx := context.Background()
	ada, err := svc.CreateUser(ctx, tenants.NewUser{Email: "ada@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := svc.CreateUser(ctx, tenants.NewUser{Email: "bob@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, by := range []*tenants.Acting{
		{UserID: bob.ID},                                // someone else
		{UserID: ada.ID, Scoped: true},                  // ada, through a token
		{UserID: bob.ID, Superuser: true, Scoped: true}, // a token never has superuser powers
	} {
		if _, _, err := svc.CreateAPIKey(ctx, by, ada.ID, "k"); !errors.Is(err, tenants.ErrAPIKeyExceedsOwn) {
			t.Errorf("CreateAPIKey by %+v: %v", by, err)
		}
	}
	for _, by := range []*tenants.Acting{{UserID: ada.ID}, {UserID: bob.ID, Superuser: true}, nil} {
		if _, _, err := svc.CreateAPIKey(ctx, by, ada.ID, "k"); err != nil {
			t.Errorf("CreateAPIKey by %+v: %v", by, err)
		}
	}
	yes := true
	if _, err := svc.UpdateUser(ctx, &tenants.Acting{UserID: ada.ID}, ada.ID, tenants.UserPatch{Superuser: &yes}); !errors.Is(err, tenants.ErrSuperuserRequired) {
		t.Errorf("a user made themself superuser: %v", err)
	}
	if u, err := svc.User(ctx, ada.ID); err != nil || u.Superuser {
		t.Errorf("after the refusal: %+v %v", u, err)
	}
}

// failingSync is the enforcer with a reload that fails, as when the
// database goes away just after a change commits.
type failingSync struct{ *policy.Enforcer }

func (failingSync) Sync() error { return errors.New("policy reload: connection refused") }

// A membership change that committed is reported as done even when the
// policy reload after it fails: the change is saved (and the periodic
// reload will apply it), so answering an error would tell the caller to
// retry what already happened.
func TestCommittedChangeStandsWhenReloadFails(t *testing.T) {
	db, _, enf := idService(t)
	var logs bytes.Buffer
	svc := tenants.NewService(db, tenants.NewStore(db), failingSync{enf}, audit.NewLog(db),
		tenants.Options{PasswordCost: bcrypt.MinCost, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx := context.Background()
	tn, err := svc.CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	u, err := svc.CreateUser(ctx, tenants.NewUser{Email: "ada@acme.test"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := svc.AddMember(ctx, tn.ID, u.ID, policy.Grants{Roles: []string{"viewer"}, Permissions: []string{}}, nil)
	if err != nil || m == nil {
		t.Fatalf("add member with a failing reload: %v, want the saved member", err)
	}
	if member, err := svc.IsMember(ctx, tn.ID, u.ID); err != nil || !member {
		t.Fatalf("the membership was not saved: %v", err)
	}
	if err := svc.RemoveMember(ctx, tn.ID, u.ID, nil); err != nil {
		t.Fatalf("remove member with a failing reload: %v", err)
	}
	if !strings.Contains(logs.String(), "policy reload after a committed change failed") {
		t.Errorf("the failed reload was not logged:\n%s", logs.String())
	}
}
