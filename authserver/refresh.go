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
		res := g.db.Conn(ctx).Raw(`WITH used AS (
				UPDATE refresh_tokens SET used_at = now()
				WHERE digest = ? AND used_at IS NULL
				RETURNING tenant_id, grant_id, expires_at)
			SELECT used.tenant_id, used.grant_id, used.expires_at, g.client_pk, g.user_id, g.scopes, g.revoked_at
			FROM used JOIN grants g ON g.tenant_id = used.tenant_id AND g.id = used.grant_id`, credential.DigestOf(refreshToken)).Scan(&row)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			// Unknown, or used before: find out which. The revocation a
			// reuse calls for runs after this transaction, which fails.
			r := g.db.Conn(ctx).Raw(`SELECT r.tenant_id, r.grant_id, r.used_at, g.client_pk FROM refresh_tokens r
				JOIN grants g ON g.tenant_id = r.tenant_id AND g.id = r.grant_id WHERE r.digest = ?`, credential.DigestOf(refreshToken)).Scan(&reusedRow)
			if r.Error != nil {
				return r.Error
			}
			reused = r.RowsAffected == 1 && reusedRow.UsedAt != nil && reusedRow.ClientPK == c.PK
			return ErrInvalidGrant
		}
		if row.ClientPK != c.PK || row.TenantID != c.TenantID || row.RevokedAt != nil || g.now().After(row.ExpiresAt) {
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
