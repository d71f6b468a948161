package authserver

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/fault"
)

// Authorization is an application a user let act for them, on a consent
// or device page, that can still do so: the user's live grants to one API
// client, taken together (Cloud 66's "Authorized applications").
type Authorization struct {
	TenantID   uuid.UUID
	TenantName string
	ClientPK   uuid.UUID
	ClientID   string
	ClientName string
	// Scopes are what the grants allow, each once.
	Scopes []string
	// FirstAt is the first approval still live; LastAt the last time a
	// token was issued under any of them.
	FirstAt time.Time
	LastAt  time.Time
}

// ErrNoAuthorization is RevokeAuthorization's answer when the user has
// nothing live for that client.
var ErrNoAuthorization = fault.New(fault.NotFound, "authorization_not_found", "no live authorization of this application")

// maxAuthorizations bounds the list; one user authorizing more
// applications than this is not a person.
const maxAuthorizations = 500

// Recorder writes audit events in the caller's transaction.
type Recorder interface {
	Record(ctx context.Context, tenantID uuid.UUID, action, resourceType, resourceID string, details map[string]any) error
}

// WithAudit records revocations made for a user in the audit trail.
func (g *Grants) WithAudit(r Recorder) *Grants {
	g.audit = r
	return g
}

// liveGrant is the SQL condition that grant gr can still yield a token:
// not revoked, its user still a member of its tenant, and either a refresh
// token of its chain unused and unexpired, or an access token issued
// under it that may not have expired yet (at the client's lifetime, else
// the longest default).
func liveGrant() string {
	return `gr.revoked_at IS NULL AND ` + isMember("gr.tenant_id", "gr.user_id") + `
		AND (coalesce(rt.live, false)
		     OR coalesce(rt.last_issued, gr.created_at) > now() - make_interval(secs => coalesce(c.access_token_ttl_seconds, ?)))`
}

const grantsWithChains = `FROM grants gr
	JOIN api_clients c ON c.tenant_id = gr.tenant_id AND c.id = gr.client_pk
	LEFT JOIN LATERAL (SELECT max(r.created_at) AS last_issued, bool_or(r.used_at IS NULL AND r.expires_at > now()) AS live
		FROM refresh_tokens r WHERE r.tenant_id = gr.tenant_id AND r.grant_id = gr.id) rt ON true`

// longestAccessTTL is the default access-token lifetime that outlives
// the other, in seconds.
func (g *Grants) longestAccessTTL() float64 {
	return max(g.life.AccessTTL, g.life.AccessTTLWithRefresh).Seconds()
}

// Authorizations lists the applications userID has authorized that can
// still act for them, most recently used first.
func (g *Grants) Authorizations(ctx context.Context, userID uuid.UUID) ([]Authorization, error) {
	var rows []struct {
		TenantID, ClientPK               uuid.UUID
		TenantName, ClientID, ClientName string
		FirstAt, LastAt                  time.Time
		ScopeLists                       string
	}
	err := g.db.Conn(ctx).Raw(`SELECT gr.tenant_id, t.name AS tenant_name, gr.client_pk, c.client_id, c.name AS client_name,
			min(gr.created_at) AS first_at, max(coalesce(rt.last_issued, gr.created_at)) AS last_at,
			jsonb_agg(gr.scopes ORDER BY gr.created_at)::text AS scope_lists
		`+grantsWithChains+`
		JOIN tenants t ON t.id = gr.tenant_id
		WHERE gr.user_id = ? AND `+liveGrant()+`
		GROUP BY gr.tenant_id, t.name, gr.client_pk, c.client_id, c.name
		ORDER BY last_at DESC, c.client_id
		LIMIT ?`, userID, g.longestAccessTTL(), maxAuthorizations).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("list authorizations: %w", err)
	}
	out := make([]Authorization, len(rows))
	for i, r := range rows {
		var lists [][]string
		if err := json.Unmarshal([]byte(r.ScopeLists), &lists); err != nil {
			return nil, fmt.Errorf("list authorizations: scopes: %w", err)
		}
		a := Authorization{TenantID: r.TenantID, TenantName: r.TenantName, ClientPK: r.ClientPK, ClientID: r.ClientID,
			ClientName: r.ClientName, FirstAt: r.FirstAt, LastAt: r.LastAt, Scopes: []string{}}
		for _, l := range lists {
			for _, s := range l {
				if !slices.Contains(a.Scopes, s) {
					a.Scopes = append(a.Scopes, s)
				}
			}
		}
		out[i] = a
	}
	return out, nil
}

// RevokeAuthorization ends everything userID let an API client do: every
// grant (so every access token and refresh chain it issued fails on every
// instance within the second), every authorization code not yet
// exchanged and every device approval not yet collected. It is recorded
// in the client's tenant's audit trail.
func (g *Grants) RevokeAuthorization(ctx context.Context, userID, tenantID, clientPK uuid.UUID) error {
	err := g.db.InTx(ctx, func(ctx context.Context) error {
		db := g.db.Conn(ctx)
		var clientID string
		res := db.Raw(`SELECT client_id FROM api_clients WHERE tenant_id = ? AND id = ? FOR SHARE`, tenantID, clientPK).Scan(&clientID)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return ErrNoAuthorization
		}
		grants := db.Exec(`UPDATE grants SET revoked_at = now()
			WHERE tenant_id = ? AND client_pk = ? AND user_id = ? AND revoked_at IS NULL`, tenantID, clientPK, userID)
		if grants.Error != nil {
			return grants.Error
		}
		codes := db.Exec(`UPDATE authorization_codes SET used_at = now()
			WHERE tenant_id = ? AND client_pk = ? AND user_id = ? AND used_at IS NULL AND expires_at > now()`, tenantID, clientPK, userID)
		if codes.Error != nil {
			return codes.Error
		}
		devices := db.Exec(`UPDATE device_codes SET status = 'denied'
			WHERE tenant_id = ? AND client_pk = ? AND user_id = ? AND status = 'approved'`, tenantID, clientPK, userID)
		if devices.Error != nil {
			return devices.Error
		}
		if grants.RowsAffected+codes.RowsAffected+devices.RowsAffected == 0 {
			return ErrNoAuthorization
		}
		if g.audit == nil {
			return nil
		}
		return g.audit.Record(ctx, tenantID, "authorization.revoke", "api-client", clientPK.String(), map[string]any{
			"client_id": clientID, "user_id": userID, "grants": grants.RowsAffected,
			"codes": codes.RowsAffected, "device_approvals": devices.RowsAffected,
		})
	})
	if err != nil {
		return fmt.Errorf("revoke authorization: %w", err)
	}
	g.changed()
	return nil
}
