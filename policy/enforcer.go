package policy

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	gormadapter "github.com/casbin/gorm-adapter/v3"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/oauthd/oauthd/internal/database"
)

// The model: a subject has a permission in a tenant when a role it holds in
// that tenant (or the subject itself, for single grants) has a policy row
// for that tenant or for every tenant ("*") whose action pattern matches.
const modelText = `
[request_definition]
r = sub, dom, act

[policy_definition]
p = sub, dom, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = g(r.sub, p.sub, r.dom) && (p.dom == "*" || p.dom == r.dom) && keyMatch(r.act, p.act)
`

// reloadEvery bounds how stale an instance can be if a notification is lost.
const reloadEvery = 30 * time.Second

// Enforcer answers permission questions from the policy in casbin_rule.
type Enforcer struct {
	db     *database.DB
	casbin *casbin.SyncedEnforcer
	mu     sync.Mutex // serialises reloads
}

// NewEnforcer loads the policy from the database.
func NewEnforcer(db *database.DB) (*Enforcer, error) {
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return nil, fmt.Errorf("policy model: %w", err)
	}
	g := db.Conn(context.Background())
	gormadapter.TurnOffAutoMigrate(g) // the schema is ours, in migrations/
	adapter, err := gormadapter.NewAdapterByDB(g)
	if err != nil {
		return nil, fmt.Errorf("policy adapter: %w", err)
	}
	e, err := casbin.NewSyncedEnforcer(m, adapter)
	if err != nil {
		return nil, fmt.Errorf("policy enforcer: %w", err)
	}
	e.EnableAutoSave(false) // rows are written by SetGrants inside service transactions
	return &Enforcer{db: db, casbin: e}, nil
}

func userSubject(id uuid.UUID) string  { return "user:" + id.String() }
func tenantDomain(id uuid.UUID) string { return "tenant:" + id.String() }
func roleSubject(name string) string   { return "role:" + name }
func roleName(subject string) string   { return strings.TrimPrefix(subject, "role:") }

// Allowed reports whether the user holds perm in the tenant.
func (e *Enforcer) Allowed(userID, tenantID uuid.UUID, perm string) (bool, error) {
	ok, err := e.casbin.Enforce(userSubject(userID), tenantDomain(tenantID), perm)
	if err != nil {
		return false, fmt.Errorf("enforce %s: %w", perm, err)
	}
	return ok, nil
}

// RoleAllows reports whether the named role grants perm (in any tenant).
func (e *Enforcer) RoleAllows(role, perm string) bool {
	rules, _ := e.casbin.GetFilteredPolicy(0, roleSubject(role))
	for _, r := range rules {
		if len(r) >= 3 && Matches(r[2], perm) {
			return true
		}
	}
	return false
}

// Roles lists the defined role names.
func (e *Enforcer) Roles() []string {
	rules, _ := e.casbin.GetPolicy()
	var names []string
	for _, r := range rules {
		if strings.HasPrefix(r[0], "role:") && !slices.Contains(names, roleName(r[0])) {
			names = append(names, roleName(r[0]))
		}
	}
	slices.Sort(names)
	return names
}

// Reload reads the whole policy again.
func (e *Enforcer) Reload() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.casbin.LoadPolicy(); err != nil {
		return fmt.Errorf("reload policy: %w", err)
	}
	return nil
}

// Watch keeps this instance's policy current: it reloads when any instance
// changes casbin_rule (a trigger sends NOTIFY oauthd_policy), and every
// reloadEvery in case a notification was missed while disconnected. It
// returns when ctx ends.
func (e *Enforcer) Watch(ctx context.Context, databaseURL string, log *slog.Logger) {
	go func() {
		t := time.NewTicker(reloadEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := e.Reload(); err != nil && ctx.Err() == nil {
					log.Warn("periodic policy reload failed", "err", err)
				}
			}
		}
	}()
	for ctx.Err() == nil {
		if err := e.listen(ctx, databaseURL); err != nil && ctx.Err() == nil {
			log.Warn("policy listener disconnected; retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

func (e *Enforcer) listen(ctx context.Context, databaseURL string) error {
	conn, err := pgx.Connect(ctx, databaseURL)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() { _ = conn.Close(context.Background()) }()
	if _, err := conn.Exec(ctx, "LISTEN oauthd_policy"); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Changes made while we were not listening.
	if err := e.Reload(); err != nil {
		return err
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return fmt.Errorf("wait: %w", err)
		}
		if err := e.Reload(); err != nil {
			return err
		}
	}
}
