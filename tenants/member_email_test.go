package tenants_test

import (
	"context"
	"errors"
	"testing"

	"github.com/oauthd/oauthd/internal/fault"
	"github.com/oauthd/oauthd/policy"
	"github.com/oauthd/oauthd/tenants"
)

func TestAddMemberByEmail(t *testing.T) {
	_, svc, enf := idService(t)
	ctx := context.Background()
	tn, err := svc.CreateTenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	u, err := svc.CreateUser(ctx, tenants.NewUser{Email: "Ada@Example.com"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := svc.AddMemberByEmail(ctx, tn.ID, "  ada@EXAMPLE.com ", policy.Grants{Roles: []string{"viewer"}, Permissions: []string{}}, nil)
	if err != nil || m.UserID != u.ID {
		t.Fatalf("AddMemberByEmail = %+v, %v", m, err)
	}
	if ok, _ := enf.Allowed(u.ID, tn.ID, policy.FlowsGet); !ok {
		t.Error("the viewer role was not given")
	}

	_, err = svc.AddMemberByEmail(ctx, tn.ID, "nobody@example.com", policy.Grants{}, nil)
	var p *fault.Problem
	if !errors.As(err, &p) || p.Attribute != "email" || p.Kind != fault.NotFound {
		t.Errorf("unknown email: %v, want a not-found problem on email", err)
	}
	for _, bad := range []string{" ", "a\x00b@example.com", "\xff@example.com", "not an email"} {
		_, err = svc.AddMemberByEmail(ctx, tn.ID, bad, policy.Grants{}, nil)
		if !errors.As(err, &p) || p.Attribute != "email" {
			t.Errorf("email %q: %v, want a problem on email", bad, err)
		}
	}
	if _, err := svc.UserByEmail(ctx, "a\x00b@example.com"); !errors.Is(err, tenants.ErrUserNotFound) {
		t.Errorf("UserByEmail with a NUL: %v, want not found (and no query)", err)
	}

	// The grant rule of AddMember holds: nobody grants more than they hold.
	other, err := svc.CreateUser(ctx, tenants.NewUser{Email: "bob@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	viewerOnly := func(perm string) (bool, error) { return enf.RoleAllows("viewer", perm), nil }
	_, err = svc.AddMemberByEmail(ctx, tn.ID, other.Email, policy.Grants{Roles: []string{"owner"}}, viewerOnly)
	if !errors.As(err, &p) || p.Code != "grant_exceeds_own" {
		t.Errorf("owner granted by a viewer: %v, want grant_exceeds_own", err)
	}
	if member, _ := svc.IsMember(ctx, tn.ID, other.ID); member {
		t.Error("a refused add made a member")
	}
}
