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

// parseAdminFlags reads a task's flags: every value by name ("" when not
// given), or an error that names what is wrong.
func parseAdminFlags(task string, args []string) (map[string]string, error) {
	spec, known := adminFlags[task]
	if !known {
		fmt.Fprint(os.Stderr, adminUsage)
		return nil, fmt.Errorf("unknown admin task %q", task)
	}
	names := append(append([]string{}, spec.required...), spec.optional...)
	fs := flag.NewFlagSet("admin "+task, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the errors below say what is wrong
	ptrs := map[string]*string{}
	for _, n := range names {
		ptrs[n] = fs.String(n, "", n)
	}
	if err := fs.Parse(args); err != nil {
		return nil, fmt.Errorf("admin %s: %w (takes -%s)", task, err, strings.Join(names, ", -"))
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("admin %s: unexpected argument %q; give values as flags (-%s)", task, fs.Arg(0), strings.Join(spec.required, ", -"))
	}
	vals := map[string]string{}
	for n, p := range ptrs {
		vals[n] = *p
	}
	for _, n := range spec.required {
		if strings.TrimSpace(vals[n]) == "" {
			return nil, fmt.Errorf("admin %s: -%s is required", task, n)
		}
	}
	return vals, nil
}

// admin runs one administration task, printing its result to out. The task
// and its flags are checked before the database is touched, so a typo costs
// nothing and says what is wrong.
func admin(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, adminUsage)
		return errors.New("admin needs a task")
	}
	task := args[0]
	v, err := parseAdminFlags(task, args[1:])
	if err != nil {
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
	switch task {
	case "create-superuser":
		return adminCreateSuperuser(ctx, a, v["email"], out)
	case "create-tenant":
		t, err := a.Tenants.CreateTenant(ctx, v["name"])
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(out, t.ID)
		return err
	case "add-member":
		return adminAddMember(ctx, a, v["tenant"], v["email"], splitList(v["roles"]), splitList(v["permissions"]), out)
	default: // create-api-key
		u, err := a.Tenants.UserByEmail(ctx, v["email"])
		if err != nil {
			return err
		}
		name := v["name"]
		if name == "" {
			name = "cli"
		}
		_, key, err := a.Tenants.CreateAPIKey(ctx, nil, u.ID, name)
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
		u, err = a.Tenants.UpdateUser(ctx, nil, u.ID, tenants.UserPatch{Superuser: &su})
	}
	if err != nil {
		return err
	}
	_, key, err := a.Tenants.CreateAPIKey(ctx, nil, u.ID, "admin-cli")
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
