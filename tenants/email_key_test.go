package tenants_test

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/oauthd/oauthd/audit"
	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/testdb"
	"github.com/oauthd/oauthd/policy"
	"github.com/oauthd/oauthd/tenants"
)

// On a database in the C locale, whose lower() folds ASCII only, the case
// variants of a non-ASCII address are still one user: the key is folded in
// Go. Every lookup by email finds that user: API-key sign-in, the sign-in
// pages' and admin commands' UserByEmail, and "add member by email".
func TestEmailCaseIsFoldedWhateverTheDatabaseLocale(t *testing.T) {
	db, err := database.Open(testdb.NewCLocale(t), database.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	ctx := context.Background()
	if _, err := database.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	enf, err := policy.NewEnforcer(db)
	if err != nil {
		t.Fatal(err)
	}
	svc := tenants.NewService(db, tenants.NewStore(db), enf, audit.NewLog(db), tenants.Options{PasswordCost: bcrypt.MinCost})

	eva, err := svc.CreateUser(ctx, tenants.NewUser{Email: "ÉVA@x.test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, variant := range []string{"éva@x.test", "E\u0301va@X.TEST", "éVA@x.test"} {
		if _, err := svc.CreateUser(ctx, tenants.NewUser{Email: variant}); !errors.Is(err, tenants.ErrEmailTaken) {
			t.Errorf("creating %q beside ÉVA@x.test: %v, want ErrEmailTaken", variant, err)
		}
		if u, err := svc.UserByEmail(ctx, variant); err != nil || u.ID != eva.ID {
			t.Errorf("UserByEmail(%q) = %v, %v; want ÉVA@x.test's user", variant, u, err)
		}
	}
	_, key, err := svc.CreateAPIKey(ctx, nil, eva.ID, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if u, err := svc.Authenticate(ctx, "éva@x.test", key); err != nil || u.ID != eva.ID {
		t.Errorf("Authenticate as éva@x.test = %v, %v; want ÉVA@x.test's user", u, err)
	}
	tn, err := svc.CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	m, err := svc.AddMemberByEmail(ctx, tn.ID, "éva@x.test", policy.Grants{Roles: []string{"viewer"}, Permissions: []string{}}, nil)
	if err != nil || m.UserID != eva.ID {
		t.Errorf("AddMemberByEmail(éva@x.test) = %+v, %v; want ÉVA@x.test's user", m, err)
	}

	// Another user cannot take the address by a change of email either,
	// and a different address is not caught up in the fold.
	bob, err := svc.CreateUser(ctx, tenants.NewUser{Email: "bob@x.test"})
	if err != nil {
		t.Fatal(err)
	}
	taken := "éva@X.test"
	if _, err := svc.UpdateUser(ctx, nil, bob.ID, tenants.UserPatch{Email: &taken}); !errors.Is(err, tenants.ErrEmailTaken) {
		t.Errorf("renaming bob to %q: %v, want ErrEmailTaken", taken, err)
	}
	if _, err := svc.CreateUser(ctx, tenants.NewUser{Email: "eva@x.test"}); err != nil {
		t.Errorf("eva@x.test (no accent) is another address: %v", err)
	}
}
