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
}

// Refresh rotates a refresh token: the presented one is used up and a new
// access token and refresh token are issued in the same grant. Presenting
// a token that was already used is taken as theft: the whole grant is
// revoked, including the newest tokens issued from it.
func (g *Grants) Refresh(ctx context.Context, c Client, refreshToken string, narrowTo []string) (*TokenSet, error) {
	var ts *TokenSet
	reused := false
	var reusedRow refreshRow
	err := g.db.InTx(ctx, func(ctx context.Context) error {
		var row refreshRow
		// Claim the token: one conditional UPDATE, scoped to the
		// authenticated client's grants.
		res := g.db.Conn(ctx).Raw(`UPDATE refresh_tokens r SET used_at = now()
			FROM grants g
			WHERE r.tenant_id = ? AND r.digest = ? AND r.used_at IS NULL
				AND g.tenant_id = r.tenant_id AND g.id = r.grant_id AND g.client_pk = ?
			RETURNING r.tenant_id, r.grant_id, r.expires_at, g.client_pk, g.user_id, g.scopes, g.revoked_at`,
			c.TenantID, credential.DigestOf(refreshToken), c.PK).Scan(&row)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			// Unknown, or used before: find out which. The revocation a
			// reuse calls for runs after this transaction, which fails.
			r := g.db.Conn(ctx).Raw(`SELECT r.tenant_id, r.grant_id, r.used_at FROM refresh_tokens r
				JOIN grants g ON g.tenant_id = r.tenant_id AND g.id = r.grant_id
				WHERE r.tenant_id = ? AND r.digest = ? AND g.client_pk = ?`, c.TenantID, credential.DigestOf(refreshToken), c.PK).Scan(&reusedRow)
			if r.Error != nil {
				return r.Error
			}
			reused = r.RowsAffected == 1 && reusedRow.UsedAt != nil
			return ErrInvalidGrant
		}
		if row.RevokedAt != nil || g.now().After(row.ExpiresAt) {
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
	if reused {
		if rerr := g.db.InTx(context.WithoutCancel(ctx), func(ctx context.Context) error {
			return g.revokeGrant(ctx, reusedRow.TenantID, reusedRow.GrantID)
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
