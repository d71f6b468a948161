package api_test

import (
	"database/sql"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/audit"
	"github.com/oauthd/oauthd/internal/database"
)

// Every access token handed out is in the audit trail, though the reads
// are written by the batch writer after the tokens have left: an instance
// that stops gracefully (requests drained, then the instance closed, as
// oauthd serve does on SIGTERM) writes every read it still holds, and a
// full queue makes callers write their own reads rather than drop them.
// The batch writer here waits an hour before writing, so nothing is
// written by the clock.
func TestConnectionTokenReadsAreAllAudited(t *testing.T) {
	const racers, each = 10, 6
	for _, tc := range []struct {
		name     string
		capacity int
		// readsBeforeStop is how many reads the trail holds once the
		// requests are answered, before the instance stops.
		readsBeforeStop int
	}{
		{"a graceful stop writes the queued reads", 10_000, 0},
		{"a full queue writes reads at once", 5, racers*each - 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newConnWorld(t, false, apitest.WithAuditBatch(audit.BatchOptions{Interval: time.Hour, MaxBatch: 100_000, Capacity: tc.capacity}))
			id := w.connect(t, "reads")
			var handed atomic.Int64
			apitest.Race(t, racers, func(_ int, t testing.TB) {
				e := w.e.For(t)
				for range each {
					if w.accessToken(t, e, id).ExpectStatus(t, http.StatusOK).Attr(t, "access_token") != "" {
						handed.Add(1)
					}
				}
			})
			if handed.Load() != racers*each {
				t.Fatalf("%d tokens handed out, want %d", handed.Load(), racers*each)
			}
			db := openDB(t, w.e.DatabaseURL)
			if n := tokenReads(t, db, id); n != tc.readsBeforeStop {
				t.Fatalf("%d reads in the trail before the stop, want %d", n, tc.readsBeforeStop)
			}
			w.e.Server.Close() // the requests drain
			if err := w.e.App.Close(); err != nil {
				t.Fatal(err)
			}
			if n := tokenReads(t, db, id); n != racers*each {
				t.Fatalf("%d reads in the trail after the stop, want %d: one per token handed out", n, racers*each)
			}
		})
	}
}

func openDB(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := database.Open(url, database.Options{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db.SQL()
}

func tokenReads(t *testing.T, db *sql.DB, connectionID string) int {
	t.Helper()
	var n int
	err := db.QueryRow("SELECT count(*) FROM audit_events WHERE action = 'connection.token_read' AND resource_id = $1", connectionID).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Token reads written by the batch writer are published like every other
// audit event: the trigger on audit_events fires in the batch's
// transaction, so a webhook that subscribes to them hears of each read,
// without the token.
func TestConnectionTokenReadsReachWebhooks(t *testing.T) {
	w := newConnWorld(t, false)
	id := w.connect(t, "published")
	rc := apitest.NewReceiver(t)
	mustWebhook(t, w.e, w.tid, &w.owner, rc.URL(), "connection.token_read")
	var tokens []string
	for range 3 {
		tok, _ := w.accessToken(t, w.e, id).ExpectStatus(t, http.StatusOK).Attr(t, "access_token").(string)
		tokens = append(tokens, tok)
	}
	got := rc.WaitFor(t, 3)
	for _, d := range got {
		data, _ := d.Event["data"].(map[string]any)
		actor, _ := data["actor"].(map[string]any)
		if d.Type() != "connection.token_read" || data["resource_id"] != id || actor["email"] != w.owner.Email {
			t.Fatalf("delivery: %s", d.Body)
		}
		for _, tok := range tokens {
			if strings.Contains(string(d.Body), tok) {
				t.Fatalf("a delivery carries the access token: %s", d.Body)
			}
		}
	}
	if len(got) != 3 {
		t.Fatalf("%d deliveries for 3 reads", len(got))
	}
}
