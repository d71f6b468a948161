package authserver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/credential"
)

// ErrRevoked means a validly signed token may no longer be used: its client
// is gone or revoked its tokens, its grant was revoked, or it was revoked
// itself.
var ErrRevoked = errors.New("token revoked")

// RevokeAccessToken records one access token as revoked (RFC 7009) until
// it would have expired anyway.
func (g *Grants) RevokeAccessToken(ctx context.Context, c *AccessClaims) error {
	jti, err := uuid.Parse(c.JTI)
	if err != nil {
		return nil // not one of ours: nothing to revoke
	}
	tid, _ := uuid.Parse(c.TenantID)
	err = g.db.Conn(ctx).Exec(`INSERT INTO revoked_tokens (jti, tenant_id, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (tenant_id, jti) DO NOTHING`, jti, tid, time.Unix(c.Expiry, 0)).Error
	if err != nil {
		return fmt.Errorf("revoke access token: %w", err)
	}
	g.changed()
	return nil
}

// RevokeRefreshToken revokes the grant of a refresh token that belongs to
// the client, and so every token of its chain (RFC 7009 §2.1). found is
// false when the token is not the client's.
func (g *Grants) RevokeRefreshToken(ctx context.Context, c Client, token string) (bool, error) {
	var row struct {
		TenantID uuid.UUID
		GrantID  uuid.UUID
	}
	res := g.db.Conn(ctx).Raw(`SELECT r.tenant_id, r.grant_id FROM refresh_tokens r
		JOIN grants gr ON gr.tenant_id = r.tenant_id AND gr.id = r.grant_id
		WHERE r.tenant_id = ? AND r.digest = ? AND gr.client_pk = ?`, c.TenantID, credential.DigestOf(token), c.PK).Scan(&row)
	if res.Error != nil || res.RowsAffected == 0 {
		return false, res.Error
	}
	if err := g.revokeGrant(ctx, row.TenantID, row.GrantID); err != nil {
		return true, err
	}
	g.changed()
	return true, nil
}

// TokenState is what a request carrying a token needs to know about it now.
type TokenState struct {
	TenantID uuid.UUID
	ClientPK uuid.UUID
	ClientID string
	// The client's current roles and allowed scopes: a role removed from
	// the client stops working for tokens already issued.
	Roles  []string `gorm:"serializer:json"`
	Scopes []string `gorm:"serializer:json"`
}

type stateRow struct {
	TokenState
	TokensValidAfter time.Time
	GrantFound       bool
	GrantRevoked     bool
	JTIRevoked       bool
	UserIsMember     bool
}

// isMember is the SQL condition that a user is still a member of a tenant
// (tenant and user are column expressions or placeholders): the one rule
// for whether a user's token, refresh token, code or device approval still
// acts. A deleted user's memberships are gone with them.
func isMember(tenant, user string) string {
	return "EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = " + tenant + " AND m.user_id = " + user + ")"
}

// Check decides, in one query, whether a correctly signed token is still
// good on this and every other instance: the client exists, the token is
// newer than the client's last revoke-tokens, its grant is not revoked, it
// was not revoked itself and, for a user's token, the user is still a
// member of the token's tenant (a deleted user is a member of nothing).
// This is the one rule for a token's liveness: the /v2 API and
// introspection both ask it. Answers are cached for at most stateTTL and
// dropped when revocation state changes anywhere (migrations 00011 and
// 00012 NOTIFY on it, including a membership's end); concurrent checks of
// one token share one query.
func (g *Grants) Check(ctx context.Context, c *AccessClaims) (*TokenState, error) {
	key := c.ClientID + "|" + c.JTI + "|" + c.GrantID
	hit, err := g.states.Load(ctx, key, func(ctx context.Context) (checked, error) {
		state, err := g.check(ctx, c)
		if err != nil && !errors.Is(err, ErrRevoked) {
			return checked{}, err // the database failed: not an answer to keep
		}
		return checked{state: state, err: err}, nil
	})
	if err != nil {
		return nil, err
	}
	return hit.state, hit.err
}

// checked is a cached answer of Check.
type checked struct {
	state *TokenState
	err   error
}

func (g *Grants) check(ctx context.Context, c *AccessClaims) (*TokenState, error) {
	jti, err := uuid.Parse(c.JTI)
	if err != nil {
		return nil, ErrRevoked
	}
	grantID := uuid.Nil
	if c.GrantID != "" {
		if grantID, err = uuid.Parse(c.GrantID); err != nil {
			return nil, ErrRevoked
		}
	}
	userID := uuid.Nil // a client's own token: no membership to look for
	if c.UserID != "" {
		if userID, err = uuid.Parse(c.UserID); err != nil {
			return nil, ErrRevoked
		}
	}
	var row stateRow
	res := g.db.Conn(ctx).Raw(`SELECT c.tenant_id, c.id AS client_pk, c.client_id, c.roles, c.scopes, c.tokens_valid_after,
			gr.id IS NOT NULL AS grant_found, gr.revoked_at IS NOT NULL AS grant_revoked,
			EXISTS (SELECT 1 FROM revoked_tokens rt WHERE rt.tenant_id = c.tenant_id AND rt.jti = ?) AS jti_revoked,
			`+isMember("c.tenant_id", "?")+` AS user_is_member
		FROM api_clients c
		LEFT JOIN grants gr ON gr.tenant_id = c.tenant_id AND gr.id = ?
		WHERE c.client_id = ?`, jti, userID, grantID, c.ClientID).Scan(&row)
	if res.Error != nil {
		return nil, res.Error
	}
	switch {
	case res.RowsAffected == 0:
		return nil, ErrRevoked
	case row.TenantID.String() != c.TenantID:
		return nil, ErrRevoked
	// Both times are the database's: tokens_valid_after is its now() and
	// the jti was stamped by dbClock, never later than the database's
	// clock at issue, so no skew between an instance and the database lets
	// an older token through. The jti carries milliseconds,
	// tokens_valid_after microseconds: a token from the very millisecond of
	// a revoke-tokens may be older than it, so that millisecond counts as
	// revoked (a token issued later in it fails once and the client gets
	// another).
	case c.IssuedAtMillis() <= row.TokensValidAfter.UnixMilli():
		return nil, ErrRevoked
	case c.GrantID != "" && (!row.GrantFound || row.GrantRevoked):
		return nil, ErrRevoked
	case row.JTIRevoked:
		return nil, ErrRevoked
	case c.UserID != "" && !row.UserIsMember:
		return nil, ErrRevoked
	}
	return &row.TokenState, nil
}
