package audit

import (
	"time"

	"github.com/oauthd/oauthd/internal/purge"
)

// PurgeTarget is the audit trail's retention (OAUTHD_AUDIT_RETENTION):
// events older than retention go, once an hour. With no retention (0) the
// trail is kept for ever and there is nothing to register.
func PurgeTarget(retention time.Duration) (purge.Target, bool) {
	if retention <= 0 {
		return purge.Target{}, false
	}
	return purge.Target{Name: "audit_events", Table: "audit_events", Key: "tenant_id, id", Column: "created_at",
		After: retention, Every: time.Hour}, true
}
