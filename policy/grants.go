package policy

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"
)

// memberGrant is a row of member_grants.
type memberGrant struct {
	TenantID uuid.UUID
	UserID   uuid.UUID
	Kind     string // "role" or "permission"
	Name     string
}

func (memberGrant) TableName() string { return "member_grants" }

// Grants is what one member holds in one tenant.
type Grants struct {
	Roles       []string
	Permissions []string
}

func (g Grants) rows(tenantID, userID uuid.UUID) []memberGrant {
	var rows []memberGrant
	for _, r := range g.Roles {
		rows = append(rows, memberGrant{TenantID: tenantID, UserID: userID, Kind: "role", Name: r})
	}
	for _, p := range g.Permissions {
		rows = append(rows, memberGrant{TenantID: tenantID, UserID: userID, Kind: "permission", Name: p})
	}
	return rows
}

// SetGrants replaces a member's roles and single permissions in a tenant
// (the membership must exist: the rows go with it). It writes in the
// caller's transaction (if ctx carries one), only the rows that differ, so
// an unchanged member causes no change-log entry; call Sync after the
// transaction commits so this instance sees the change at once (other
// instances hear of it through the change log).
func (e *Enforcer) SetGrants(ctx context.Context, tenantID, userID uuid.UUID, g Grants) error {
	db := e.db.Conn(ctx)
	var have []memberGrant
	if err := db.Where("tenant_id = ? AND user_id = ?", tenantID, userID).Find(&have).Error; err != nil {
		return fmt.Errorf("read grants: %w", err)
	}
	want := g.rows(tenantID, userID)
	for _, h := range have {
		if slices.Contains(want, h) {
			continue
		}
		if err := db.Where("tenant_id = ? AND user_id = ? AND kind = ? AND name = ?", tenantID, userID, h.Kind, h.Name).
			Delete(&memberGrant{}).Error; err != nil {
			return fmt.Errorf("clear grant: %w", err)
		}
	}
	var added []memberGrant
	for _, w := range want {
		if !slices.Contains(have, w) {
			added = append(added, w)
		}
	}
	if len(added) == 0 {
		return nil
	}
	if err := db.Create(&added).Error; err != nil {
		return fmt.Errorf("write grants: %w", err)
	}
	return nil
}

// ClearGrants removes everything a member holds in a tenant. (Ending the
// membership does too, by cascade.)
func (e *Enforcer) ClearGrants(ctx context.Context, tenantID, userID uuid.UUID) error {
	return e.SetGrants(ctx, tenantID, userID, Grants{})
}

// GrantsOf reads members' roles and permissions from the database (not the
// in-memory policy, so a response reflects what was just written).
func (e *Enforcer) GrantsOf(ctx context.Context, tenantID uuid.UUID, userIDs []uuid.UUID) (map[uuid.UUID]Grants, error) {
	out := make(map[uuid.UUID]Grants, len(userIDs))
	if len(userIDs) == 0 {
		return out, nil
	}
	for _, id := range userIDs {
		out[id] = Grants{Roles: []string{}, Permissions: []string{}}
	}
	var rows []memberGrant
	if err := e.db.Conn(ctx).Where("tenant_id = ? AND user_id IN ?", tenantID, userIDs).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("read grants: %w", err)
	}
	for _, r := range rows {
		g := out[r.UserID]
		if r.Kind == "role" {
			g.Roles = append(g.Roles, r.Name)
		} else {
			g.Permissions = append(g.Permissions, r.Name)
		}
		out[r.UserID] = g
	}
	for id, g := range out {
		slices.Sort(g.Roles) // in Go: the database's collation may order differently
		slices.Sort(g.Permissions)
		out[id] = g
	}
	return out, nil
}
