package authserver

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/bounded"
	"github.com/oauthd/oauthd/internal/changes"
	"github.com/oauthd/oauthd/internal/credential"
	"github.com/oauthd/oauthd/internal/database"
)

// ScopeRule is what the grant layer asks of the permission policy (the
// enforcer): whether one scope list covers a scope (refreshing may narrow
// a grant's scope under the same rule the token endpoint and authorize
// use), which permissions a scope covers, and whether a user holds one
// (a consent grants only what its user holds).
type ScopeRule interface {
	Covers(allowed []string, scope string) bool
	PermissionsOf(scope string) []string
	Allowed(userID, tenantID uuid.UUID, perm string) (bool, error)
}

// Signer signs access tokens (the Keys).
type Signer interface {
	SignAccessToken(c AccessClaims) (string, error)
}

// Grants issues and redeems everything with a lifetime: access tokens,
// refresh-token chains, authorization codes and device codes. Every
// single-use step is one conditional UPDATE, so concurrent presentations of
// the same code or refresh token cannot both win.
type Grants struct {
	db     *database.DB
	signer Signer
	scopes ScopeRule
	issuer string
	life   Lifetimes
	now    func() time.Time
	// clock is the database's clock, which stamps the time in each jti
	// that revoke-tokens is compared with (see dbClock).
	clock *dbClock

	// feed and states cache revocation state for a moment (see WithChanges).
	feed   *changes.Feed
	states *changes.Cache[string, checked]

	// audit records revocations made for a user (see WithAudit).
	audit Recorder
}

// NewGrants wires the grant layer.
func NewGrants(db *database.DB, signer Signer, scopes ScopeRule, issuer string, life Lifetimes) *Grants {
	g := &Grants{db: db, signer: signer, scopes: scopes, issuer: issuer, life: life, now: time.Now}
	g.clock = &dbClock{db: db, local: func() time.Time { return g.now() }}
	return g
}

// WithChanges lets Check remember a token's revocation state for up to
// stateTTL: every revocation made here bumps feed at once, and revocations
// made on other instances bump it through NOTIFY, so a revoked token still
// fails everywhere within the second the design allows (docs/DESIGN.md).
func (g *Grants) WithChanges(feed *changes.Feed) *Grants {
	g.feed = feed
	g.states = changes.NewCache[string, checked](feed, stateTTL, stateCacheSize)
	return g
}

const (
	stateTTL       = 500 * time.Millisecond
	stateCacheSize = 50000
)

// changed tells this instance's caches that a revocation was committed.
func (g *Grants) changed() {
	if g.feed != nil {
		g.feed.Bump()
	}
}

// TokenSet is what a token request returns.
type TokenSet struct {
	AccessToken  string
	ExpiresIn    int
	RefreshToken string
	Scope        string
	Claims       AccessClaims
}

func (g *Grants) accessTTL(c Client, withRefresh bool) time.Duration {
	if c.AccessTTL > 0 {
		return c.AccessTTL
	}
	if withRefresh {
		return g.life.AccessTTLWithRefresh
	}
	return g.life.AccessTTL
}

func (g *Grants) refreshTTL(c Client) time.Duration {
	if c.RefreshTTL > 0 {
		return c.RefreshTTL
	}
	return g.life.RefreshTTL
}

// sign builds and signs one access token.
func (g *Grants) sign(c Client, subject string, userID *uuid.UUID, grantID *uuid.UUID, scopes []string, ttl time.Duration) (string, AccessClaims, error) {
	now := g.now()
	claims := AccessClaims{
		Issuer: g.issuer, Subject: subject, Audience: []string{g.issuer},
		IssuedAt: now.Unix(), Expiry: now.Add(ttl).Unix(), JTI: newJTIAt(g.clock.Now()),
		ClientID: c.ClientID, Scope: strings.Join(scopes, " "), TenantID: c.TenantID.String(),
	}
	if grantID != nil {
		claims.GrantID = grantID.String()
	}
	if userID != nil {
		claims.UserID = userID.String()
	}
	tok, err := g.signer.SignAccessToken(claims)
	if err != nil {
		return "", claims, fmt.Errorf("sign access token: %w", err)
	}
	return tok, claims, nil
}

// IssueClientCredentials issues a token for the client itself. It writes
// nothing: revocation works through the client row (deleted, or
// tokens_valid_after moved forward) and the revoked-token list.
func (g *Grants) IssueClientCredentials(c Client, scopes []string) (*TokenSet, error) {
	ttl := g.accessTTL(c, false)
	tok, claims, err := g.sign(c, c.ClientID, nil, nil, scopes, ttl)
	if err != nil {
		return nil, err
	}
	return &TokenSet{AccessToken: tok, ExpiresIn: int(ttl.Seconds()), Scope: claims.Scope, Claims: claims}, nil
}

// createGrant starts a grant: what one user authorization produced.
func (g *Grants) createGrant(ctx context.Context, c Client, userID uuid.UUID, scopes []string) (uuid.UUID, error) {
	id := uuid.New()
	raw, _ := json.Marshal(nonNil(scopes))
	err := g.db.Conn(ctx).Exec(`INSERT INTO grants (tenant_id, id, client_pk, user_id, scopes) VALUES (?, ?, ?, ?, ?)`,
		c.TenantID, id, c.PK, userID, string(raw)).Error
	if err != nil {
		return uuid.Nil, fmt.Errorf("create grant: %w", err)
	}
	return id, nil
}

// issueForGrant issues an access token for a user grant and, when asked, a
// new refresh token in the same grant.
func (g *Grants) issueForGrant(ctx context.Context, c Client, grantID, userID uuid.UUID, scopes []string, withRefresh bool) (*TokenSet, error) {
	ttl := g.accessTTL(c, withRefresh)
	tok, claims, err := g.sign(c, userID.String(), &userID, &grantID, scopes, ttl)
	if err != nil {
		return nil, err
	}
	ts := &TokenSet{AccessToken: tok, ExpiresIn: int(ttl.Seconds()), Scope: claims.Scope, Claims: claims}
	// The grant lives as long as the last token issued under it (the
	// purge deletes it after that), so each issue may extend it.
	now := g.now()
	lives := now.Add(ttl)
	extend := `UPDATE grants SET expires_at = GREATEST(expires_at, ?) WHERE tenant_id = ? AND id = ?`
	if !withRefresh {
		if err := g.db.Conn(ctx).Exec(extend, lives, c.TenantID, grantID).Error; err != nil {
			return nil, fmt.Errorf("extend grant: %w", err)
		}
		return ts, nil
	}
	rt := credential.Random("ort_", 32)
	rtExpires := now.Add(g.refreshTTL(c))
	if rtExpires.After(lives) {
		lives = rtExpires
	}
	err = g.db.Conn(ctx).Exec(`WITH extended AS (`+extend+`)
		INSERT INTO refresh_tokens (digest, tenant_id, grant_id, expires_at) VALUES (?, ?, ?, ?)`,
		lives, c.TenantID, grantID, credential.DigestOf(rt), c.TenantID, grantID, rtExpires).Error
	if err != nil {
		return nil, fmt.Errorf("store refresh token: %w", err)
	}
	ts.RefreshToken = rt
	return ts, nil
}

// revokeGrant revokes a grant: every token of its chain fails from now on.
func (g *Grants) revokeGrant(ctx context.Context, tenantID, grantID uuid.UUID) error {
	return g.db.Conn(ctx).Exec(`UPDATE grants SET revoked_at = now() WHERE tenant_id = ? AND id = ? AND revoked_at IS NULL`,
		tenantID, grantID).Error
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Caches are this instance's caches by name, for the metrics: the tokens'
// revocation states (absent without WithChanges).
func (g *Grants) Caches() map[string]*bounded.Stats {
	return map[string]*bounded.Stats{"token_states": g.states.Stats()}
}
