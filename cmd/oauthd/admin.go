package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/google/uuid"
	"github.com/oauthd/oauthd/internal/app"
	"github.com/oauthd/oauthd/internal/config"
	"github.com/oauthd/oauthd/internal/listing"
	"github.com/oauthd/oauthd/policy"
	"github.com/oauthd/oauthd/tenants"
)

const adminUsage = `usage: oauthd admin <task> [flags]   (needs OAUTHD_DATABASE_URL and OAUTHD_MASTER_KEY)

tasks:
  create-superuser  -email E            create a superuser (or promote one) and print a new API key
  set-password      -email E            set a user's password for the sign-in pages, read from stdin
  create-tenant     -name N             create a tenant and print its id
  add-member        -tenant ID -email E -roles owner,admin [-permissions p1,p2]
  create-api-key    -email E [-name N]  print a new API key for a user
  create-api-client -tenant ID -name N [-type confidential|public] [-grant-types client_credentials]
                    [-roles viewer] [-scopes s1,s2] [-redirect-uris u1,u2]
                                        create an API client; prints its client_id and secret (shown once)
  list-api-clients  -tenant ID          list a tenant's API clients
  add-api-client-secret -tenant ID -client CLIENT_ID
                                        print a new secret of the client (shown once; the old ones still work)
  delete-api-client -tenant ID -client CLIENT_ID
                                        delete the client; every token it was issued stops working
  rotate-signing-key [-withdraw-old]    a new token signing key signs from now (prints its kid); the old
                                        ones verify their tokens until those expire, or, with
                                        -withdraw-old (a key suspected to have leaked), not at all
  rewrap -from-previous [-batch N]      re-seal every stored secret sealed with a key of
                                        OAUTHD_PREVIOUS_MASTER_KEYS under OAUTHD_MASTER_KEY, N rows a
                                        transaction (default 200); safe while instances serve, resumable

Lists are comma-separated. Every task checks its flags before it touches the database.
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

// adminFlags are the flags each task takes and must be given, and the
// switches (flags without a value) it knows.
var adminFlags = map[string]struct{ required, optional, switches []string }{
	"create-superuser":      {required: []string{"email"}},
	"set-password":          {required: []string{"email"}},
	"create-tenant":         {required: []string{"name"}},
	"add-member":            {required: []string{"tenant", "email"}, optional: []string{"roles", "permissions"}},
	"create-api-key":        {required: []string{"email"}, optional: []string{"name"}},
	"create-api-client":     {required: []string{"tenant", "name"}, optional: []string{"type", "grant-types", "roles", "scopes", "redirect-uris"}},
	"list-api-clients":      {required: []string{"tenant"}},
	"add-api-client-secret": {required: []string{"tenant", "client"}},
	"delete-api-client":     {required: []string{"tenant", "client"}},
	"rotate-signing-key":    {switches: []string{"withdraw-old"}},
	"rewrap":                {switches: []string{"from-previous"}, optional: []string{"batch"}},
}

// usageError is a mistake in the command line (exit status 2), found
// before anything is done.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

// parseAdminFlags reads a task's flags: every value by name ("" when not
// given), or an error that names what is wrong.
func parseAdminFlags(task string, args []string) (map[string]string, error) {
	spec, known := adminFlags[task]
	if !known {
		return nil, usagef("unknown admin task %q (\"oauthd admin --help\" lists them)", task)
	}
	names := append(append([]string{}, spec.required...), spec.optional...)
	fs := flag.NewFlagSet("admin "+task, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // the errors below say what is wrong
	ptrs := map[string]*string{}
	for _, n := range names {
		ptrs[n] = fs.String(n, "", n)
	}
	switches := map[string]*bool{}
	for _, n := range spec.switches {
		switches[n] = fs.Bool(n, false, n)
	}
	if err := fs.Parse(args); err != nil {
		return nil, usagef("admin %s: %v (takes -%s)", task, err, strings.Join(append(names, spec.switches...), ", -"))
	}
	if fs.NArg() > 0 {
		return nil, usagef("admin %s: unexpected argument %q; give values as flags (-%s)", task, fs.Arg(0), strings.Join(spec.required, ", -"))
	}
	vals := map[string]string{}
	for n, p := range ptrs {
		vals[n] = *p
	}
	for n, on := range switches {
		if *on {
			vals[n] = "true"
		}
	}
	for _, n := range spec.required {
		if strings.TrimSpace(vals[n]) == "" {
			return nil, usagef("admin %s: -%s is required", task, n)
		}
	}
	return vals, nil
}

// admin runs one administration task, printing its result to out (a
// password is read from in). The task and its flags are checked before the
// database is touched, so a typo costs nothing and says what is wrong.
func admin(ctx context.Context, args []string, in io.Reader, out io.Writer) error {
	if len(args) == 0 {
		return usagef("admin needs a task (\"oauthd admin --help\" lists them)")
	}
	task := args[0]
	v, err := parseAdminFlags(task, args[1:])
	if err != nil {
		return err
	}
	var tenantID uuid.UUID
	if v["tenant"] != "" {
		if tenantID, err = parseID(v["tenant"]); err != nil {
			return usagef("admin %s: -tenant: %v", task, err)
		}
	}
	batch, err := checkRewrap(task, v)
	if err != nil {
		return err
	}
	var password string
	if task == "set-password" {
		if password, err = readPassword(in); err != nil {
			return err
		}
	}
	cfg, err := config.Load("DATABASE_URL", "MASTER_KEY")
	if err != nil {
		return err
	}
	if task == "rewrap" && len(cfg.PreviousMasterKeys) == 0 {
		return errors.New("admin rewrap: OAUTHD_PREVIOUS_MASTER_KEYS is empty, so there is no previous key to re-seal from; " +
			"set OAUTHD_MASTER_KEY to the new key and OAUTHD_PREVIOUS_MASTER_KEYS to the old one, as every instance must run")
	}
	a, err := build(ctx, cfg, newLogger(slog.LevelWarn))
	if err != nil {
		return err
	}
	defer func() { _ = a.Close() }()
	switch task {
	case "create-superuser":
		return adminCreateSuperuser(ctx, a, v["email"], out)
	case "set-password":
		return adminSetPassword(ctx, a, v["email"], password, out)
	case "create-tenant":
		t, err := a.Tenants.CreateTenant(ctx, v["name"])
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(out, t.ID)
		return err
	case "add-member":
		return adminAddMember(ctx, a, tenantID, v["email"], splitList(v["roles"]), splitList(v["permissions"]), out)
	case "create-api-key":
		return adminCreateAPIKey(ctx, a, v["email"], v["name"], out)
	case "rotate-signing-key":
		return adminRotateSigningKey(ctx, a, v["withdraw-old"] != "", out)
	case "rewrap":
		return adminRewrap(ctx, a, batch, out)
	default:
		return adminAPIClients(ctx, a, task, tenantID, v, out)
	}
}

func adminCreateAPIKey(ctx context.Context, a *app.App, email, name string, out io.Writer) error {
	u, err := a.Tenants.UserByEmail(ctx, email)
	if err != nil {
		return err
	}
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

// readPassword reads the first line of in: the password is never a flag,
// which other users of the machine could read in the process list.
func readPassword(in io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from stdin: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	if password == "" {
		return "", usagef("admin set-password reads the new password from stdin, e.g. printf '%%s\\n' \"$PASSWORD\" | oauthd admin set-password -email a@x.io")
	}
	return password, nil
}

// adminSetPassword sets a user's password through the service, which
// applies the password rules and hashes it.
func adminSetPassword(ctx context.Context, a *app.App, email, password string, out io.Writer) error {
	u, err := a.Tenants.UserByEmail(ctx, email)
	if err != nil {
		return err
	}
	if _, err := a.Tenants.UpdateUser(ctx, nil, u.ID, tenants.UserPatch{Password: &password}); err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "password of %s set\n", u.Email)
	return err
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

func adminAddMember(ctx context.Context, a *app.App, id uuid.UUID, email string, roles, perms []string, out io.Writer) error {
	u, err := a.Tenants.UserByEmail(ctx, email)
	if err != nil {
		return err
	}
	m, err := a.Tenants.AddMember(ctx, id, u.ID, policy.Grants{Roles: roles, Permissions: perms}, nil)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s is a member of %s with roles %v and permissions %v\n", m.Email, id, m.Grants.Roles, m.Grants.Permissions)
	return err
}
