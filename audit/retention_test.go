package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/audit"
	"github.com/oauthd/oauthd/internal/jobs"
	"github.com/oauthd/oauthd/internal/listing"
	"github.com/oauthd/oauthd/internal/purge"
)

// Without a retention the audit trail is kept for ever: there is no purge.
func TestNoRetentionKeepsTheTrail(t *testing.T) {
	if _, ok := audit.PurgeTarget(0); ok {
		t.Error("a purge of the audit trail with no retention set")
	}
}

// With OAUTHD_AUDIT_RETENTION set, events older than it go, in every
// tenant, and younger ones stay.
func TestRetentionPurgesOldEvents(t *testing.T) {
	db, log, a, b := idSetup(t)
	ctx := context.Background()
	for _, tenant := range []uuid.UUID{a, b} {
		if err := db.Conn(ctx).Exec(`INSERT INTO audit_events (tenant_id, id, action, resource_type, resource_id, created_at)
			SELECT ?, gen_random_uuid(), 'oauth_client.delete', 'oauth-client', 'r', now() - interval '91 days' - i * interval '1 minute'
			FROM generate_series(1, 1500) i`, tenant).Error; err != nil {
			t.Fatal(err)
		}
		if err := log.Record(ctx, tenant, "oauth_client.create", "oauth-client", "r", nil); err != nil {
			t.Fatal(err)
		}
	}
	target, ok := audit.PurgeTarget(90 * 24 * time.Hour)
	if !ok {
		t.Fatal("no purge for a retention of 90 days")
	}
	q := jobs.New(db, jobs.Options{Clock: jobs.NewManualClock(time.Now())})
	purge.Register(q, db, nil, target)
	if _, err := q.RunDue(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tenant := range []uuid.UUID{a, b} {
		page, err := log.List(ctx, tenant, audit.Filter{}, listing.Default())
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 1 || page.Items[0].Action != "oauth_client.create" {
			t.Errorf("tenant %s keeps %d events, want the one recorded now", tenant, page.Total)
		}
	}
}
