package main

import (
	"bytes"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver for reading the queue

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/internal/keyring"
	"github.com/oauthd/oauthd/internal/testdb"
)

// instance is a running `oauthd serve` and how to call it.
type instance struct {
	p          *proc
	base       string
	email, key string
}

func startInstance(t *testing.T, dbURL, masterKey, email, key string) *instance {
	t.Helper()
	p := startProc(t, t.TempDir(), baseEnv(
		"OAUTHD_DATABASE_URL="+dbURL,
		"OAUTHD_MASTER_KEY="+masterKey,
		"OAUTHD_LISTEN=127.0.0.1:0",
		"OAUTHD_BOOTSTRAP_SUPERUSER="+email+":"+key,
		"OAUTHD_OUTBOUND_ALLOW_PRIVATE=true", // the receiver listens on loopback
	), "serve")
	return &instance{p: p, base: "http://" + servingAddr(t, p), email: email, key: key}
}

// create POSTs a JSON:API document and returns the new resource's id and
// attributes.
func (in *instance) create(t *testing.T, path string, body map[string]any) (string, map[string]any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, in.base+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(in.email+":"+in.key)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, out)
	}
	var d struct {
		Data struct {
			ID         string         `json:"id"`
			Attributes map[string]any `json:"attributes"`
		} `json:"data"`
	}
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatal(err)
	}
	return d.Data.ID, d.Data.Attributes
}

func resource(typ string, attrs map[string]any) map[string]any {
	return map[string]any{"data": map[string]any{"type": typ, "attributes": attrs}}
}

// queueDrained waits until no job is left to run (pending, waiting or running).
func queueDrained(t *testing.T, dbURL string) {
	t.Helper()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	apitest.Eventually(t, 90*time.Second, func() error {
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM jobs WHERE state IN ('pending', 'waiting', 'running') AND kind LIKE 'webhooks.%'`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%d webhook jobs left", n)
		}
		return nil
	})
}

// TestDeliveriesSurviveAKilledInstance: with the receiver failing, the
// instance that tried is killed (SIGKILL: no shutdown at all); another
// instance on the same database delivers the event once the receiver
// recovers. Then two instances running together deliver each event once.
func TestDeliveriesSurviveAKilledInstance(t *testing.T) {
	dbURL := testdb.New(t)
	masterKey := keyring.NewKey()
	email, key := "root@durable.test", "durable_"+strings.Repeat("k", 40)
	rc := apitest.NewReceiver(t)
	rc.Respond(func(*http.Request, int) int { return http.StatusServiceUnavailable })

	first := startInstance(t, dbURL, masterKey, email, key)
	tid, _ := first.create(t, "/v2/tenants", resource("tenant", map[string]any{"name": "durable"}))
	first.create(t, "/v2/tenants/"+tid+"/webhooks", resource("webhook",
		map[string]any{"url": rc.URL(), "events": []string{"component.created"}}))
	compID, _ := first.create(t, "/v2/tenants/"+tid+"/components", resource("component", map[string]any{"name": "before-the-crash"}))
	failed := rc.WaitFor(t, 1)[0]

	if err := first.p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.p.wait(30 * time.Second)
	rc.Respond(func(*http.Request, int) int { return http.StatusOK })

	second := startInstance(t, dbURL, masterKey, email, key)
	got := rc.WaitFor(t, 2) // the retry is due 15 s after the failure
	if got[1].EventID() != failed.EventID() {
		t.Fatalf("after the restart the receiver got event %s, want the failed one %s", got[1].EventID(), failed.EventID())
	}
	if data, _ := got[1].Event["data"].(map[string]any); data["resource_id"] != compID {
		t.Fatalf("delivered event: %s", got[1].Body)
	}

	third := startInstance(t, dbURL, masterKey, email, key)
	const events = 20
	for i := range events {
		in := second
		if i%2 == 1 {
			in = third
		}
		in.create(t, "/v2/tenants/"+tid+"/components", resource("component", map[string]any{"name": fmt.Sprintf("c%02d", i)}))
	}
	rc.WaitFor(t, 2+events)
	queueDrained(t, dbURL)
	seen := map[string]int{}
	for _, d := range rc.Received()[2:] {
		seen[d.EventID()]++
	}
	if len(rc.Received()) != 2+events || len(seen) != events {
		t.Fatalf("two instances made %d deliveries of %d distinct events, want %d each once", len(rc.Received())-2, len(seen), events)
	}
	for _, in := range []*instance{second, third} {
		in.p.signal(syscall.SIGTERM)
		if err := in.p.wait(30 * time.Second); err != nil {
			t.Errorf("instance exited with %v after SIGTERM", err)
		}
	}
}
