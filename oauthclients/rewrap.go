package oauthclients

import (
	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/rewrap"
)

// RewrapTarget is where OAuth client secrets are sealed, for re-sealing
// them under a new master key.
func RewrapTarget() rewrap.Target {
	return rewrap.Target{Name: "oauth_clients", Table: "oauth_clients", Key: []string{"tenant_id", "id"},
		Fields: []string{"tenant_id", "id"}, Groups: []rewrap.Group{{KeyID: "secret_key_id", Columns: []string{"secret_ciphertext"},
			AAD: func(f map[string]string, _ string) []byte {
				return aad(uuid.MustParse(f["tenant_id"]), uuid.MustParse(f["id"]))
			}}}}
}
