package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
)

// casbinRule is a row of casbin_rule as the adapter stores it.
type casbinRule struct {
	ID    uint `gorm:"primaryKey"`
	Ptype string
	V0    string
	V1    string
	V2    string
}

func (casbinRule) TableName() string { return "casbin_rule" }

// Grants is what one member holds in one tenant.
type Grants struct {
	Roles       []string
	Permissions []string
}

// SetGrants replaces a member's roles and single permissions in a tenant. It
// writes in the caller's transaction (if ctx carries one); call Sync after
// the transaction commits so this instance sees the change at once (other
// instances hear of it by NOTIFY).
func (e *Enforcer) SetGrants(ctx context.Context, tenantID, userID uuid.UUID, g Grants) error {
	db := e.db.Conn(ctx)
	sub, dom := userSubject(userID), tenantDomain(tenantID)
	if err := db.Where("(ptype = 'g' AND v0 = ? AND v2 = ?) OR (ptype = 'p' AND v0 = ? AND v1 = ?)",
		sub, dom, sub, dom).Delete(&casbinRule{}).Error; err != nil {
		return fmt.Errorf("clear grants: %w", err)
	}
	var rows []casbinRule
	for _, r := range g.Roles {
		rows = append(rows, casbinRule{Ptype: "g", V0: sub, V1: roleSubject(r), V2: dom})
	}
	for _, p := range g.Permissions {
		rows = append(rows, casbinRule{Ptype: "p", V0: sub, V1: dom, V2: p})
	}
	if len(rows) == 0 {
		return nil
	}
	if err := db.Create(&rows).Error; err != nil {
		return fmt.Errorf("write grants: %w", err)
	}
	return nil
}

// ClearGrants removes everything a member holds in a tenant.
func (e *Enforcer) ClearGrants(ctx context.Context, tenantID, userID uuid.UUID) error {
	return e.SetGrants(ctx, tenantID, userID, Grants{})
}

// GrantsOf reads a member's roles and permissions from the database (not the
// in-memory policy, so a response reflects what was just written).
func (e *Enforcer) GrantsOf(ctx context.Context, tenantID uuid.UUID, userIDs []uuid.UUID) (map[uuid.UUID]Grants, error) {
	out := make(map[uuid.UUID]Grants, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	subs := make([]string, len(userIDs))
	for i, id := range userIDs {
		subs[i] = userSubject(id)
		out[id] = Grants{Roles: []string{}, Permissions: []string{}}
	}
	dom := tenantDomain(tenantID)
	var rows []casbinRule
	if err := e.db.Conn(ctx).Where("v0 IN ? AND ((ptype = 'g' AND v2 = ?) OR (ptype = 'p' AND v1 = ?))", subs, dom, dom).
		Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read grants: %w", err)
	}
	for _, r := range rows {
		id, err := uuid.Parse(strings.TrimPrefix(r.V0, "user:"))
		if err != nil {
			continue
		}
		g := out[id]
		if r.Ptype == "g" {
			g.Roles = append(g.Roles, roleName(r.V1))
		} else {
			g.Permissions = append(g.Permissions, r.V2)
		}
		slices.Sort(g.Roles)
		slices.Sort(g.Permissions)
		out[id] = g
	}
	return out, nil
}

// Sync makes this instance's in-memory policy match the database now.
func (e *Enforcer) Sync() error { return e.Reload() }
