package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
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

// adminFlags are the flags each task takes and must be given.
var adminFlags = map[string]struct{ required, optional []string }{
	"create-superuser": {required: []string{"email"}},
	"create-tenant":    {required: []string{"name"}},
	"add-member":       {required: []string{"tenant", "email"}, optional: []string{"roles", "permissions"}},
	"create-api-key":   {required: []string{"email"}, optional: []string{"name"}},
}

// admin runs one administration task, printing its result to out. The task
// and its flags are checked before the database is touched, so a typo costs
// nothing and says what is wrong.
func admin(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, adminUsage)
		return errors.New("admin needs a task")
	}
	task, known := adminFlags[args[0]]
	if !known {
		fmt.Fprint(os.Stderr, adminUsage)
		return fmt.Errorf("unknown admin task %q", args[0])
	}
	fs := flag.NewFlagSet("admin "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the error below says what is wrong
	vals := map[string]*string{}
	for _, f := range append(append([]string{}, task.required...), task.optional...) {
		vals[f] = fs.String(f, "", f)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("admin %s: %w (takes -%s)", args[0], err, strings.Join(append(append([]string{}, task.required...), task.optional...), ", -"))
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("admin %s: unexpected argument %q; give values as flags (-%s)", args[0], fs.Arg(0), strings.Join(task.required, ", -"))
	}
	for _, f := range task.required {
		if strings.TrimSpace(*vals[f]) == "" {
			return fmt.Errorf("admin %s: -%s is required", args[0], f)
		}
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
	get := func(f string) string {
		if v, ok := vals[f]; ok {
			return *v
		}
		return ""
	}
	switch args[0] {
	case "create-superuser":
		return adminCreateSuperuser(ctx, a, get("email"), out)
	case "create-tenant":
		t, err := a.Tenants.CreateTenant(ctx, get("name"))
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(out, t.ID)
		return err
	case "add-member":
		return adminAddMember(ctx, a, get("tenant"), get("email"), splitList(get("roles")), splitList(get("permissions")), out)
	default: // create-api-key
		u, err := a.Tenants.UserByEmail(ctx, get("email"))
		if err != nil {
			return err
		}
		name := get("name")
		if name == "" {
			name = "cli"
		}
		_, key, err := a.Tenants.CreateAPIKey(ctx, u.ID, name)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(out, key)
		return err
	}
}

func adminCreateSuperuser(ctx context.Context, a *app.App, email string, out io.Writer) error {
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
	_, err = fmt.Fprintf(out, "superuser %s (%s)\nAPI key (shown once): %s\n", u.Email, u.ID, key)
	return err
}

func adminAddMember(ctx context.Context, a *app.App, tenantID, email string, roles, perms []string, out io.Writer) error {
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
	_, err = fmt.Fprintf(out, "%s is a member of %s with roles %v and permissions %v\n", m.Email, tenantID, m.Grants.Roles, m.Grants.Permissions)
	return err
}
