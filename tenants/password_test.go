package tenants_test

import (
	"context"
	"errors"
	"testing"

	"github.com/oauthd/oauthd/internal/fault"
	"github.com/oauthd/oauthd/tenants"
)

func TestChangePassword(t *testing.T) {
	_, svc, _ := idService(t)
	ctx := context.Background()
	old := "correct horse battery"
	u, err := svc.CreateUser(ctx, tenants.NewUser{Email: "ada@example.com", Password: &old})
	if err != nil {
		t.Fatal(err)
	}
	attrs := func(err error) map[string]bool {
		ps, _ := fault.List(err)
		out := map[string]bool{}
		for _, p := range ps {
			out[p.Attribute] = true
		}
		return out
	}
	err = svc.ChangePassword(ctx, u.ID, "wrong", "a new long password")
	if !errors.Is(err, tenants.ErrWrongPassword) {
		t.Errorf("wrong current password: %v", err)
	}
	if a := attrs(svc.ChangePassword(ctx, u.ID, "wrong", "short")); !a["current_password"] || !a["password"] {
		t.Errorf("both problems at once: %v", a)
	}
	if err := svc.ChangePassword(ctx, u.ID, old, "a new long password"); err != nil {
		t.Fatal(err)
	}
	got, err := svc.User(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CheckPassword(old) || !got.CheckPassword("a new long password") {
		t.Error("the password did not change")
	}

	// A user with API keys only sets a first password without a current one.
	keysOnly, err := svc.CreateUser(ctx, tenants.NewUser{Email: "bot@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.ChangePassword(ctx, keysOnly.ID, "", "first password here"); err != nil {
		t.Errorf("first password: %v", err)
	}
}
