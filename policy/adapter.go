package policy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"
	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/oauthd/oauthd/internal/database"
)

// adapter is policy's Casbin adapter on the service's own pool. It reads
// role_permissions and member_grants; it never writes, because the rows
// change inside the services' transactions (SetGrants) and reach the
// in-memory policy through the change log (sync.go).
type adapter struct {
	db *database.DB

	mu     sync.Mutex
	loaded *loaded // the last LoadPolicy's result, for the enforcer to adopt
}

// loaded is a whole policy as read at one snapshot.
type loaded struct {
	roles    map[string][]string
	held     map[member][]string
	snapshot string
}

// loadTimeout bounds a full read of the policy.
const loadTimeout = time.Minute

var _ persist.Adapter = (*adapter)(nil)

// LoadPolicy reads every role and grant at one snapshot (a repeatable-read
// transaction) and remembers that snapshot, so the change log can be read
// from exactly there on.
func (a *adapter) LoadPolicy(m model.Model) error {
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	l := &loaded{held: map[member][]string{}}
	err := a.db.Conn(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Raw("SELECT pg_current_snapshot()::text").Scan(&l.snapshot).Error; err != nil {
			return err
		}
		var err error
		if l.roles, err = readRoles(tx); err != nil {
			return err
		}
		rows, err := tx.Raw("SELECT tenant_id, user_id, kind, name FROM member_grants").Rows()
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }()
		for rows.Next() {
			var mem member
			var kind, name string
			if err := rows.Scan(&mem.tenant, &mem.user, &kind, &name); err != nil {
				return err
			}
			l.held[mem] = append(l.held[mem], target(kind, name))
		}
		return rows.Err()
	}, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("load policy: %w", err)
	}
	for role, perms := range l.roles {
		for _, p := range perms {
			if err := persist.LoadPolicyArray(append([]string{"p"}, roleRule(role, p)...), m); err != nil {
				return err
			}
		}
	}
	for mem, targets := range l.held {
		slices.Sort(targets)
		for _, t := range targets {
			if err := persist.LoadPolicyArray(append([]string{"g"}, groupingRule(mem, t)...), m); err != nil {
				return err
			}
			if perm, ok := permOfTarget(t); ok {
				if err := persist.LoadPolicyArray(append([]string{"p"}, permRule(perm)...), m); err != nil {
					return err
				}
			}
		}
	}
	a.mu.Lock()
	a.loaded = l
	a.mu.Unlock()
	return nil
}

// takeLoaded hands over what the last LoadPolicy read.
func (a *adapter) takeLoaded() *loaded {
	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.loaded
	a.loaded = nil
	return l
}

var errReadOnly = errors.New("policy rows are written by SetGrants in the services' transactions, not through Casbin")

// SavePolicy is refused: see errReadOnly.
func (*adapter) SavePolicy(model.Model) error { return errReadOnly }

// AddPolicy is refused: see errReadOnly.
func (*adapter) AddPolicy(string, string, []string) error { return errReadOnly }

// RemovePolicy is refused: see errReadOnly.
func (*adapter) RemovePolicy(string, string, []string) error { return errReadOnly }

// RemoveFilteredPolicy is refused: see errReadOnly.
func (*adapter) RemoveFilteredPolicy(string, string, int, ...string) error { return errReadOnly }

// The rows as Casbin holds them (see modelText).

func roleRule(role, perm string) []string { return []string{roleSubject(role), "*", perm} }
func permRule(perm string) []string       { return []string{permSubject(perm), "*", perm} }
func groupingRule(m member, target string) []string {
	return []string{userSubject(m.user), target, tenantDomain(m.tenant)}
}

// target is what a member_grants row makes the member hold: role:R or perm:P.
func target(kind, name string) string {
	if kind == "role" {
		return roleSubject(name)
	}
	return permSubject(name)
}

func permOfTarget(t string) (string, bool) { return strings.CutPrefix(t, "perm:") }

// readRoles reads every role's permissions.
func readRoles(db *gorm.DB) (map[string][]string, error) {
	var rows []struct{ Role, Permission string }
	if err := db.Raw("SELECT role, permission FROM role_permissions ORDER BY role, permission").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("read roles: %w", err)
	}
	roles := make(map[string][]string)
	for _, r := range rows {
		roles[r.Role] = append(roles[r.Role], r.Permission)
	}
	return roles, nil
}

// changeSet is what the change log holds since a snapshot.
type changeSet struct {
	snapshot      string // the snapshot it was read at
	members       []member
	roles         bool
	tenantDeleted bool
}

// changesSince reads the changes committed after snapshot: rows whose
// transaction it did not see. Transactions finished before the snapshot's
// xmin were all visible to it, so the index range starts there.
func (a *adapter) changesSince(ctx context.Context, snapshot string) (*changeSet, error) {
	rows, err := a.db.Conn(ctx).Raw(`SELECT s.now::text, c.kind, c.tenant_id, c.user_id
		FROM (SELECT pg_current_snapshot() AS now) s
		LEFT JOIN policy_changes c ON c.xid >= pg_snapshot_xmin(?::pg_snapshot)
			AND NOT pg_visible_in_snapshot(c.xid, ?::pg_snapshot)`, snapshot, snapshot).Rows()
	if err != nil {
		return nil, fmt.Errorf("read policy changes: %w", err)
	}
	defer func() { _ = rows.Close() }()
	cs := &changeSet{}
	seen := map[member]bool{}
	for rows.Next() {
		var kind sql.NullString
		var tenant, user uuid.NullUUID
		if err := rows.Scan(&cs.snapshot, &kind, &tenant, &user); err != nil {
			return nil, fmt.Errorf("read policy changes: %w", err)
		}
		switch kind.String {
		case "member":
			m := member{tenant: tenant.UUID, user: user.UUID}
			if !seen[m] {
				seen[m] = true
				cs.members = append(cs.members, m)
			}
		case "roles":
			cs.roles = true
		case "tenant_deleted":
			cs.tenantDeleted = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read policy changes: %w", err)
	}
	return cs, nil
}

// memberTargets reads what each of ms holds now, sorted.
func (a *adapter) memberTargets(ctx context.Context, ms []member) (map[member][]string, error) {
	tenants, users := make([]string, len(ms)), make([]string, len(ms))
	for i, m := range ms {
		tenants[i], users[i] = m.tenant.String(), m.user.String()
	}
	rows, err := a.db.Conn(ctx).Raw(`SELECT g.tenant_id, g.user_id, g.kind, g.name FROM member_grants g
		JOIN unnest(?::uuid[], ?::uuid[]) AS m (tenant_id, user_id) USING (tenant_id, user_id)`, pgArray(tenants), pgArray(users)).Rows()
	if err != nil {
		return nil, fmt.Errorf("read member grants: %w", err)
	}
	defer func() { _ = rows.Close() }()
	out := make(map[member][]string, len(ms))
	for rows.Next() {
		var m member
		var kind, name string
		if err := rows.Scan(&m.tenant, &m.user, &kind, &name); err != nil {
			return nil, fmt.Errorf("read member grants: %w", err)
		}
		out[m] = append(out[m], target(kind, name))
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read member grants: %w", err)
	}
	for m, ts := range out {
		slices.Sort(ts)
		out[m] = ts
	}
	return out, nil
}

// existingTenants returns which of ids still name a tenant.
func (a *adapter) existingTenants(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]bool, error) {
	strs := make([]string, len(ids))
	for i, id := range ids {
		strs[i] = id.String()
	}
	var found []uuid.UUID
	if err := a.db.Conn(ctx).Raw("SELECT id FROM tenants WHERE id = ANY(?::uuid[])", pgArray(strs)).
		Scan(&found).Error; err != nil {
		return nil, fmt.Errorf("read tenants: %w", err)
	}
	out := make(map[uuid.UUID]bool, len(found))
	for _, id := range found {
		out[id] = true
	}
	return out, nil
}

// pgArray writes uuids (or any strings without quotes, commas or braces) as
// a Postgres array literal.
func pgArray(items []string) string {
	n := 2
	for _, s := range items {
		n += len(s) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, s := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, s...)
	}
	return string(append(b, '}'))
}
