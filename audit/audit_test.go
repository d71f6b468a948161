package audit_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/audit"
	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/listing"
	"github.com/oauthd/oauthd/internal/testdb"
)

func idSetup(t *testing.T) (*database.DB, *audit.Log, uuid.UUID, uuid.UUID) {
	t.Helper()
	db := testdb.Open(t)
	ctx := context.Background()
	a, b := uuid.New(), uuid.New()
	for i, id := range []uuid.UUID{a, b} {
		if err := db.Conn(ctx).Exec("INSERT INTO tenants (id, name) VALUES (?, ?)", id, []string{"a", "b"}[i]).Error; err != nil {
			t.Fatal(err)
		}
	}
	return db, audit.NewLog(db), a, b
}

func idActions(p listing.Page[audit.Event]) []string {
	out := []string{}
	for _, e := range p.Items {
		out = append(out, e.Action)
	}
	return out
}

func TestLogRecordsAndLists(t *testing.T) {
	_, log, a, b := idSetup(t)
	uid := uuid.New()
	ctx := audit.WithActor(context.Background(), audit.Actor{UserID: &uid, Email: "ada@example.com", RemoteAddr: "10.0.0.1", RequestID: "req-1"})
	for _, ev := range []struct{ action, typ, id string }{
		{"member.create", "member", "m1"}, {"component.create", "component", "c1"},
		{"member.update", "member", "m1"}, {"member.create", "member", "m2"},
	} {
		if err := log.Record(ctx, a, ev.action, ev.typ, ev.id, map[string]any{"n": 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := log.Record(context.Background(), b, "flow.create", "flow", "f1", nil); err != nil {
		t.Fatal(err)
	}

	all, err := log.List(context.Background(), a, audit.Filter{}, listing.Default())
	if err != nil {
		t.Fatal(err)
	}
	if got := idActions(all); !slices.Equal(got, []string{"member.create", "member.update", "component.create", "member.create"}) || all.Total != 4 {
		t.Errorf("newest first = %v (total %d)", got, all.Total)
	}
	e := all.Items[0]
	if e.ActorID == nil || *e.ActorID != uid || e.ActorEmail != "ada@example.com" || e.RemoteAddr != "10.0.0.1" ||
		e.RequestID != "req-1" || e.TenantID != a || e.CreatedAt.IsZero() || string(e.Details) != `{"n": 1}` {
		t.Errorf("event = %+v details %s", e, e.Details)
	}

	asc := listing.Default()
	asc.Sort = []listing.Sort{{Field: "created_at"}}
	for _, c := range []struct {
		f    audit.Filter
		want []string
	}{
		{audit.Filter{ResourceType: "member"}, []string{"member.create", "member.update", "member.create"}},
		{audit.Filter{Action: "member.create"}, []string{"member.create", "member.create"}},
		{audit.Filter{ResourceType: "member", ResourceID: "m1"}, []string{"member.create", "member.update"}},
		{audit.Filter{Action: "flow.create"}, []string{}},
	} {
		p, err := log.List(context.Background(), a, c.f, asc)
		if err != nil {
			t.Fatal(err)
		}
		if got := idActions(p); !slices.Equal(got, c.want) || p.Total != int64(len(c.want)) {
			t.Errorf("%+v = %v (total %d), want %v", c.f, got, p.Total, c.want)
		}
	}
	other, err := log.List(context.Background(), b, audit.Filter{}, listing.Default())
	if err != nil {
		t.Fatal(err)
	}
	if got := idActions(other); !slices.Equal(got, []string{"flow.create"}) || other.Items[0].ActorID != nil {
		t.Errorf("tenant b = %v, actor %v", got, other.Items[0].ActorID)
	}
}

// An event is part of its change: when the change rolls back, so does it.
func TestLogRecordJoinsTheTransaction(t *testing.T) {
	db, log, a, _ := idSetup(t)
	boom := errors.New("boom")
	err := db.InTx(context.Background(), func(ctx context.Context) error {
		if err := log.Record(ctx, a, "member.create", "member", "m1", nil); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	p, err := log.List(context.Background(), a, audit.Filter{}, listing.Default())
	if err != nil {
		t.Fatal(err)
	}
	if p.Total != 0 {
		t.Errorf("a rolled-back change left %d events", p.Total)
	}
	if err := log.Record(context.Background(), uuid.New(), "x", "y", "z", nil); err == nil {
		t.Error("an event for a tenant that does not exist was recorded")
	}
}

// TestListQueriesUseIndexes: with a long history, every filter and sort the
// list offers reads an index in page order: no sequential scan, and no sort
// step in the page query (a sort would read every matching event first).
func TestListQueriesUseIndexes(t *testing.T) {
	db, log, a, b := idSetup(t)
	ctx := context.Background()
	// 40,000 events, one in 20 of them the tenant's (as when many tenants
	// share the table), on 50 resources with 4 actions.
	if err := db.Conn(ctx).Exec(`INSERT INTO audit_events (tenant_id, id, action, resource_type, resource_id, created_at)
		SELECT CASE WHEN i % 20 = 0 THEN ?::uuid ELSE ?::uuid END, gen_random_uuid(),
			(ARRAY['oauth_client.create','oauth_client.update','oauth_client.delete','oauth_client.reveal_secret'])[1 + (i / 20) % 4],
			'oauth-client', 'r' || ((i / 20) % 50), now() - i * interval '1 second'
		FROM generate_series(1, 40000) i`, a, b).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Conn(ctx).Exec("ANALYZE audit_events").Error; err != nil {
		t.Fatal(err)
	}
	desc := []listing.Sort{{Field: "created_at", Desc: true}}
	for _, c := range []struct {
		name string
		f    audit.Filter
		sort []listing.Sort
	}{
		{"newest first", audit.Filter{}, nil},
		{"oldest first", audit.Filter{}, []listing.Sort{{Field: "created_at"}}},
		{"by resource", audit.Filter{ResourceID: "r7"}, nil},
		{"by resource, oldest first", audit.Filter{ResourceID: "r7"}, []listing.Sort{{Field: "created_at"}}},
		{"by action", audit.Filter{Action: "oauth_client.update"}, desc},
	} {
		plans := testdb.Plans(t, db, func() {
			p := listing.Default()
			p.Sort = c.sort
			if _, err := log.List(ctx, a, c.f, p); err != nil {
				t.Fatal(err)
			}
		})
		if len(plans) != 2 {
			t.Fatalf("%s: %d queries captured, want the count and the page", c.name, len(plans))
		}
		for _, plan := range plans {
			if strings.Contains(plan, "Seq Scan") {
				t.Errorf("%s: sequential scan:\n%s", c.name, plan)
			}
			if strings.Contains(plan, "LIMIT") && (strings.Contains(plan, " Sort ") || strings.Contains(plan, "Sort  (")) {
				t.Errorf("%s: the page query sorts instead of reading an index in order:\n%s", c.name, plan)
			}
		}
	}
}
