package webhooks

import (
	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/rewrap"
)

// RewrapTarget is where webhook signing secrets are sealed, for re-sealing
// them under a new master key.
func RewrapTarget() rewrap.Target {
	return rewrap.Target{Name: "webhook_secrets", Table: "webhook_secrets", Key: []string{"tenant_id", "id"},
		Fields: []string{"tenant_id", "webhook_id", "id"}, Groups: []rewrap.Group{{KeyID: "key_id", Columns: []string{"sealed"},
			AAD: func(f map[string]string, _ string) []byte {
				return secretAAD(uuid.MustParse(f["tenant_id"]), uuid.MustParse(f["webhook_id"]), uuid.MustParse(f["id"]))
			}}}}
}
