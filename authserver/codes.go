package authserver

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/credential"
)

// CodeRequest is what the consent page approved.
type CodeRequest struct {
	UserID        uuid.UUID
	RedirectURI   string
	Scopes        []string
	CodeChallenge string // S256 challenge; "" when the client sent none
}

// CreateCode stores a single-use authorization code and returns it. The
// code carries what the user can grant of r.Scopes (ConsentFor), never
// more.
func (g *Grants) CreateCode(ctx context.Context, c Client, r CodeRequest) (string, error) {
	consent, err := g.ConsentFor(c.TenantID, r.UserID, r.Scopes)
	if err != nil {
		return "", err
	}
	code := credential.Random("oac_", 32)
	raw, _ := json.Marshal(consent.Granted)
	err = g.db.Conn(ctx).Exec(`INSERT INTO authorization_codes
		(digest, tenant_id, client_pk, user_id, redirect_uri, scopes, code_challenge, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		credential.DigestOf(code), c.TenantID, c.PK, r.UserID, r.RedirectURI, string(raw), r.CodeChallenge, g.now().Add(g.life.CodeTTL)).Error
	if err != nil {
		return "", fmt.Errorf("store authorization code: %w", err)
	}
	return code, nil
}

// VerifyPKCE checks an S256 code verifier against its challenge (RFC 7636).
func VerifyPKCE(challenge, verifier string) bool {
	if len(verifier) < 43 || len(verifier) > 128 {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

type codeRow struct {
	TenantID      uuid.UUID
	ClientPK      uuid.UUID
	UserID        uuid.UUID
	RedirectURI   string
	Scopes        []string `gorm:"serializer:json"`
	CodeChallenge string
	ExpiresAt     time.Time
	UsedAt        *time.Time
	GrantID       *uuid.UUID
	CreatedAt     time.Time
	// ValidAfter is the client's tokens_valid_after: a code issued before a
	// revoke-tokens is revoked with the tokens.
	ValidAfter time.Time
	// UserIsMember: the approving user is still a member of the tenant; a
	// code approved by someone removed (or deleted) since mints nothing.
	UserIsMember bool
}

// RedeemCode exchanges a code for tokens, once. The code must belong to the
// client, arrive with the redirect URI it was issued for and, when it was
// issued with a PKCE challenge, with the verifier. A code presented a
// second time fails and revokes everything the first exchange issued.
func (g *Grants) RedeemCode(ctx context.Context, c Client, code, redirectURI, verifier string, withRefresh bool) (*TokenSet, error) {
	var ts *TokenSet
	err := g.db.InTx(ctx, func(ctx context.Context) error {
		var row codeRow
		// Claim the code: one conditional UPDATE, scoped to the
		// authenticated client, so two concurrent exchanges cannot both
		// succeed and another client's code is not touched.
		res := g.db.Conn(ctx).Raw(`UPDATE authorization_codes SET used_at = now()
			WHERE tenant_id = ? AND client_pk = ? AND digest = ? AND used_at IS NULL
			RETURNING tenant_id, client_pk, user_id, redirect_uri, scopes, code_challenge, expires_at, used_at, grant_id, created_at,
				(SELECT tokens_valid_after FROM api_clients ac
				 WHERE ac.tenant_id = authorization_codes.tenant_id AND ac.id = authorization_codes.client_pk) AS valid_after,
				`+isMember("authorization_codes.tenant_id", "authorization_codes.user_id")+` AS user_is_member`,
			c.TenantID, c.PK, credential.DigestOf(code)).Scan(&row)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return g.replayedCode(ctx, c, code)
		}
		switch {
		case g.now().After(row.ExpiresAt):
			return ErrInvalidGrant
		case !row.CreatedAt.After(row.ValidAfter), !row.UserIsMember:
			return ErrInvalidGrant
		// Cloud 66 makes redirect_url optional at the token endpoint; when it
		// is sent it must match. (The URI was matched exactly against the
		// client's registered ones at authorize, and the code is bound to the
		// client and its PKCE challenge.)
		case redirectURI != "" && row.RedirectURI != redirectURI:
			return ErrInvalidGrant
		case row.CodeChallenge != "" && !VerifyPKCE(row.CodeChallenge, verifier):
			return ErrInvalidGrant
		case row.CodeChallenge == "" && verifier != "":
			return ErrInvalidGrant
		}
		grantID, err := g.createGrant(ctx, c, row.UserID, row.Scopes)
		if err != nil {
			return err
		}
		if err := g.db.Conn(ctx).Exec(`UPDATE authorization_codes SET grant_id = ? WHERE tenant_id = ? AND digest = ?`,
			grantID, c.TenantID, credential.DigestOf(code)).Error; err != nil {
			return err
		}
		ts, err = g.issueForGrant(ctx, c, grantID, row.UserID, row.Scopes, withRefresh)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ts, nil
}

// replayedCode handles a code of the client's that was already used (or
// never existed): a replay revokes the grant the first exchange created
// (RFC 6749 §4.1.2). The revocation must survive the failed request, so it
// runs in its own transaction.
func (g *Grants) replayedCode(ctx context.Context, c Client, code string) error {
	var row codeRow
	res := g.db.Conn(context.WithoutCancel(ctx)).Raw(`SELECT tenant_id, grant_id FROM authorization_codes
		WHERE tenant_id = ? AND client_pk = ? AND digest = ?`, c.TenantID, c.PK, credential.DigestOf(code)).Scan(&row)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 1 && row.GrantID != nil {
		if err := g.db.InTx(context.WithoutCancel(context.Background()), func(ctx context.Context) error {
			return g.revokeGrant(ctx, row.TenantID, *row.GrantID)
		}); err != nil {
			return errors.Join(ErrInvalidGrant, err)
		}
		g.changed()
	}
	return ErrInvalidGrant
}
