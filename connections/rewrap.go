package connections

import (
	"strings"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/rewrap"
)

// RewrapTarget is where connections keep sealed values (the provider's
// tokens, and the PKCE verifier of a dance in progress), for re-sealing
// them under a new master key.
func RewrapTarget() rewrap.Target {
	bound := func(f map[string]string, column string) []byte {
		c := &Connection{TenantID: uuid.MustParse(f["tenant_id"]), ID: uuid.MustParse(f["id"])}
		return aad(c, strings.TrimSuffix(column, "_token")) // access_token → "access", verifier → "verifier"
	}
	return rewrap.Target{Name: "connections", Table: "connections", Key: []string{"tenant_id", "id"},
		Fields: []string{"tenant_id", "id"}, Groups: []rewrap.Group{
			{KeyID: "token_key_id", Columns: []string{"access_token", "refresh_token"}, AAD: bound},
			{KeyID: "verifier_key_id", Columns: []string{"verifier"}, AAD: bound},
		}}
}
