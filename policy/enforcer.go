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

	"github.com/oauthd/oauthd/internal/changes"
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

// Channel is the NOTIFY channel the casbin_rule trigger uses.
const Channel = "oauthd_policy"

// Handlers reload the policy when any instance changes casbin_rule (its
// trigger sends NOTIFY oauthd_policy); give them to changes.Listen.
func (e *Enforcer) Handlers(log *slog.Logger) changes.Handlers {
	return changes.Handlers{Channel: func() {
		if err := e.Reload(); err != nil {
			log.Warn("policy reload failed", "err", err)
		}
	}}
}

// ReloadPeriodically reloads every reloadEvery, in case a notification was
// missed while the listener was disconnected, until ctx ends.
func (e *Enforcer) ReloadPeriodically(ctx context.Context, log *slog.Logger) {
	changes.Every(ctx, reloadEvery, log, "periodic policy reload", func(context.Context) error { return e.Reload() })
}

// Watch keeps this instance's policy current on its own: notifications and
// the periodic reload. (oauthd itself listens to all its channels on one
// connection; see app.Maintain.) It returns when ctx ends.
func (e *Enforcer) Watch(ctx context.Context, databaseURL string, log *slog.Logger) {
	go e.ReloadPeriodically(ctx, log)
	changes.Listen(ctx, databaseURL, log, e.Handlers(log))
}
