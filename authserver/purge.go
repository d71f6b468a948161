package authserver

import (
	"time"

	"github.com/oauthd/oauthd/internal/purge"
)

// PurgeTargets are the authorization server's rows that expire. Used codes
// stay a day past their expiry, so that a replay late in the day is still
// recognised (and revokes what the code issued); a grant goes when the
// last token issued under it has expired (its refresh tokens with it);
// a revoked token's record, once the token would have expired anyway.
func PurgeTargets() []purge.Target {
	return []purge.Target{
		{Name: "authorization_codes", Table: "authorization_codes", Key: "tenant_id, digest", Column: "expires_at", After: 24 * time.Hour},
		{Name: "device_codes", Table: "device_codes", Key: "tenant_id, digest", Column: "expires_at", After: 24 * time.Hour},
		{Name: "refresh_tokens", Table: "refresh_tokens", Key: "tenant_id, digest", Column: "expires_at"},
		{Name: "grants", Table: "grants", Key: "tenant_id, id", Column: "expires_at", After: time.Minute},
		{Name: "revoked_tokens", Table: "revoked_tokens", Key: "tenant_id, jti", Column: "expires_at", After: time.Minute},
	}
}
