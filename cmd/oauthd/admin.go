package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/oauthd/oauthd/internal/app"
	"github.com/oauthd/oauthd/internal/config"
	"github.com/oauthd/oauthd/internal/listing"
	"github.com/oauthd/oauthd/policy"
	"github.com/oauthd/oauthd/tenants"
)

const adminUsage = `usage: oauthd admin <task> [flags]   (needs OAUTHD_DATABASE_URL and OAUTHD_MASTER_KEY)

tasks:
  create-superuser -email E            create a superuser (or promote one) and print a new API key
  create-tenant    -name N             create a tenant and print its id
  add-member       -tenant ID -email E -roles owner,admin [-permissions p1,p2]
  create-api-key   -email E [-name N]  print a new API key for a user
`

func defaultPage() listing.Params { return listing.Params{Number: 1, Size: listing.MaxSize} }

func splitList(s string) []string {
	out := []string{}
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func admin(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, adminUsage)
		return errors.New("admin needs a task")
	}
	fs := flag.NewFlagSet("admin "+args[0], flag.ContinueOnError)
	email := fs.String("email", "", "user email")
	name := fs.String("name", "", "name")
	tenant := fs.String("tenant", "", "tenant id")
	roles := fs.String("roles", "", "comma-separated roles")
	perms := fs.String("permissions", "", "comma-separated permissions")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := config.Load("DATABASE_URL", "MASTER_KEY")
	if err != nil {
		return err
	}
	a, err := build(ctx, cfg, newLogger("warn"))
	if err != nil {
		return err
	}
	defer func() { _ = a.Close() }()
	switch args[0] {
	case "create-superuser":
		return adminCreateSuperuser(ctx, a, *email)
	case "create-tenant":
		t, err := a.Tenants.CreateTenant(ctx, *name)
		if err != nil {
			return err
		}
		fmt.Println(t.ID)
		return nil
	case "add-member":
		return adminAddMember(ctx, a, *tenant, *email, splitList(*roles), splitList(*perms))
	case "create-api-key":
		u, err := a.Tenants.UserByEmail(ctx, *email)
		if err != nil {
			return err
		}
		if *name == "" {
			*name = "cli"
		}
		_, key, err := a.Tenants.CreateAPIKey(ctx, u.ID, *name)
		if err != nil {
			return err
		}
		fmt.Println(key)
		return nil
	}
	fmt.Fprint(os.Stderr, adminUsage)
	return fmt.Errorf("unknown admin task %q", args[0])
}

func adminCreateSuperuser(ctx context.Context, a *app.App, email string) error {
	u, err := a.Tenants.UserByEmail(ctx, email)
	if errors.Is(err, tenants.ErrUserNotFound) {
		u, err = a.Tenants.CreateUser(ctx, tenants.NewUser{Email: email, Superuser: true})
	} else if err == nil && !u.Superuser {
		su := true
		u, err = a.Tenants.UpdateUser(ctx, u.ID, tenants.UserPatch{Superuser: &su})
	}
	if err != nil {
		return err
	}
	_, key, err := a.Tenants.CreateAPIKey(ctx, u.ID, "admin-cli")
	if err != nil {
		return err
	}
	fmt.Printf("superuser %s (%s)\nAPI key (shown once): %s\n", u.Email, u.ID, key)
	return nil
}

func adminAddMember(ctx context.Context, a *app.App, tenantID, email string, roles, perms []string) error {
	id, err := parseID(tenantID)
	if err != nil {
		return fmt.Errorf("-tenant: %w", err)
	}
	u, err := a.Tenants.UserByEmail(ctx, email)
	if err != nil {
		return err
	}
	m, err := a.Tenants.AddMember(ctx, id, u.ID, policy.Grants{Roles: roles, Permissions: perms}, nil)
	if err != nil {
		return err
	}
	fmt.Printf("%s is a member of %s with roles %v and permissions %v\n", m.Email, tenantID, m.Grants.Roles, m.Grants.Permissions)
	return nil
}
