package authserver

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/credential"
)

type refreshRow struct {
	TenantID  uuid.UUID
	GrantID   uuid.UUID
	ExpiresAt time.Time
	UsedAt    *time.Time
	ClientPK  uuid.UUID
	UserID    uuid.UUID
	Scopes    []string `gorm:"serializer:json"`
	RevokedAt *time.Time
	// UserIsMember: the grant's user is still a member of its tenant.
	UserIsMember bool
}

// Refresh rotates a refresh token: the presented one is used up and a new
// access token and refresh token are issued in the same grant. Presenting
// a token that was already used is taken as theft: the whole grant is
// revoked, including the newest tokens issued from it. So is presenting
// one whose user is no longer a member of the tenant (removed, or deleted):
// the grant ends for good, even should the user be added again.
func (g *Grants) Refresh(ctx context.Context, c Client, refreshToken string, narrowTo []string) (*TokenSet, error) {
	var ts *TokenSet
	revoke := false // the grant of revokeRow must be revoked, whatever the answer
	var revokeRow refreshRow
	err := g.db.InTx(ctx, func(ctx context.Context) error {
		var row refreshRow
		// Claim the token: one conditional UPDATE, scoped to the
		// authenticated client's grants.
		res := g.db.Conn(ctx).Raw(`UPDATE refresh_tokens r SET used_at = now()
			FROM grants g
			WHERE r.tenant_id = ? AND r.digest = ? AND r.used_at IS NULL
				AND g.tenant_id = r.tenant_id AND g.id = r.grant_id AND g.client_pk = ?
			RETURNING r.tenant_id, r.grant_id, r.expires_at, g.client_pk, g.user_id, g.scopes, g.revoked_at,
				`+isMember("r.tenant_id", "g.user_id")+` AS user_is_member`,
			c.TenantID, credential.DigestOf(refreshToken), c.PK).Scan(&row)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			// Unknown, or used before: find out which. The revocation a
			// reuse calls for runs after this transaction, which fails.
			r := g.db.Conn(ctx).Raw(`SELECT r.tenant_id, r.grant_id, r.used_at FROM refresh_tokens r
				JOIN grants g ON g.tenant_id = r.tenant_id AND g.id = r.grant_id
				WHERE r.tenant_id = ? AND r.digest = ? AND g.client_pk = ?`, c.TenantID, credential.DigestOf(refreshToken), c.PK).Scan(&revokeRow)
			if r.Error != nil {
				return r.Error
			}
			revoke = r.RowsAffected == 1 && revokeRow.UsedAt != nil
			return ErrInvalidGrant
		}
		if row.RevokedAt != nil || g.now().After(row.ExpiresAt) {
			return ErrInvalidGrant
		}
		if !row.UserIsMember {
			revoke, revokeRow = true, row
			return ErrInvalidGrant
		}
		scopes := row.Scopes
		if len(narrowTo) > 0 {
			for _, sc := range narrowTo {
				if !g.scopes.Covers(row.Scopes, sc) {
					return ErrInvalidScope
				}
			}
			scopes = narrowTo
		}
		var err error
		ts, err = g.issueForGrant(ctx, c, row.GrantID, row.UserID, scopes, true)
		return err
	})
	if revoke {
		if rerr := g.db.InTx(context.WithoutCancel(ctx), func(ctx context.Context) error {
			return g.revokeGrant(ctx, revokeRow.TenantID, revokeRow.GrantID)
		}); rerr != nil {
			return nil, rerr
		}
		g.changed()
	}
	if err != nil {
		return nil, err
	}
	return ts, nil
}
