package policy

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/bounded"
	"github.com/oauthd/oauthd/internal/database"
)

// The model: a subject has a permission in a tenant when something it holds
// in that tenant has a policy row whose action pattern matches. What a user
// holds in a tenant is a grouping row (g, user:U, role:R | perm:P,
// tenant:T); the policy rows are few and hold for every tenant: a role's
// permissions (p, role:R, *, P) and one row per single permission granted
// anywhere (p, perm:P, *, P). So Casbin, which walks every policy row on
// each question, walks a few dozen whatever the number of tenants, and the
// tenant-scoped grouping rows are hash lookups in its role manager.
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

// Enforcer answers permission questions from the policy in role_permissions
// and member_grants, held in memory and kept current by Sync (see sync.go).
type Enforcer struct {
	db      *database.DB
	adapter *adapter
	casbin  *casbin.SyncedEnforcer

	// roles maps each role to its permissions, for the questions about
	// roles that must not walk Casbin's rows (RoleAllows is on the token
	// path).
	roles atomic.Pointer[map[string][]string]

	// decisions are Allowed's answers under the current model (see forget).
	decisions atomic.Pointer[bounded.Map[decision, bool]]

	syncMu   sync.Mutex          // one Sync at a time; guards the fields below
	held     map[member][]string // each member's grouping targets (role:R, perm:P), sorted
	snapshot string              // the pg_snapshot this instance's policy reflects
	synced   time.Time           // when the last Sync succeeded
	stats    Stats
}

// member is one user in one tenant.
type member struct{ tenant, user uuid.UUID }

// Stats counts how this instance's policy was kept current.
type Stats struct {
	FullLoads        int // whole policy read (start, or after a long outage)
	RoleReloads      int // role definitions read again
	MembersRefreshed int // single members' grants read again
	TenantsDropped   int // deleted tenants whose grants were dropped
}

// NewEnforcer loads the policy from the database.
func NewEnforcer(db *database.DB) (*Enforcer, error) {
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return nil, fmt.Errorf("policy model: %w", err)
	}
	a := &adapter{db: db}
	e, err := casbin.NewSyncedEnforcer(m, a) // loads the policy through a
	if err != nil {
		return nil, fmt.Errorf("policy enforcer: %w", err)
	}
	e.EnableAutoSave(false) // rows are written by SetGrants inside service transactions
	en := &Enforcer{db: db, adapter: a, casbin: e}
	en.forget()
	en.adopt(a.takeLoaded())
	return en, nil
}

func userSubject(id uuid.UUID) string  { return "user:" + id.String() }
func tenantDomain(id uuid.UUID) string { return "tenant:" + id.String() }
func roleSubject(name string) string   { return "role:" + name }
func permSubject(name string) string   { return "perm:" + name }

// Allowed reports whether the user holds perm in the tenant.
func (e *Enforcer) Allowed(userID, tenantID uuid.UUID, perm string) (bool, error) {
	// Decisions are remembered until the policy changes: every change to
	// Casbin's model replaces the map (forget), after the change is in, so
	// a decision taken before it can only land in a map no longer read.
	decided := e.decisions.Load()
	q := decision{user: userID, tenant: tenantID, perm: perm}
	if ok, hit := decided.Get(q); hit {
		return ok, nil
	}
	ok, err := e.casbin.Enforce(userSubject(userID), tenantDomain(tenantID), perm)
	if err != nil {
		return false, fmt.Errorf("enforce %s: %w", perm, err)
	}
	decided.Put(q, ok)
	return ok, nil
}

// decision is a question Allowed answered.
type decision struct {
	user, tenant uuid.UUID
	perm         string
}

// decisionCacheSize bounds the remembered decisions (the map starts
// afresh when full).
const decisionCacheSize = 100000

// forget drops every remembered decision; called after each change to
// Casbin's model.
func (e *Enforcer) forget() {
	e.decisions.Store(bounded.New[decision, bool](decisionCacheSize))
}

// RoleAllows reports whether the named role grants perm (in any tenant).
func (e *Enforcer) RoleAllows(role, perm string) bool {
	for _, granted := range (*e.roles.Load())[role] {
		if Matches(granted, perm) {
			return true
		}
	}
	return false
}

// Roles lists the defined role names.
func (e *Enforcer) Roles() []string {
	return slices.Sorted(maps.Keys(*e.roles.Load()))
}

// Stats says how this instance's policy has been kept current so far.
func (e *Enforcer) Stats() Stats {
	e.syncMu.Lock()
	defer e.syncMu.Unlock()
	return e.stats
}
