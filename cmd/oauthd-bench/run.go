package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/credential"
	"github.com/oauthd/oauthd/internal/keyring"
)

// shape is one data shape: rows in other tenants and in the target tenant.
type shape struct {
	Background int
	Target     int
	Facts      tableFacts
	Explain    map[string][]string
	Results    map[string][]stats // by scenario
	ServerErrs int64
}

func (s shape) label() string {
	return fmt.Sprintf("%s other / %s target", human(s.Background), human(s.Target))
}

func human(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1_000 && n%1_000 == 0:
		return fmt.Sprintf("%dk", n/1_000)
	}
	return fmt.Sprint(n)
}

type runInfo struct {
	cfg       config
	started   time.Time
	finished  time.Time
	pgVersion string
	// pgDurability says how the server commits (fsync, synchronous_commit).
	pgDurability string
	loadBefore   string
	loadAfter    string
	principal    string
	shapes       []*shape
	lastShape    string   // the shape the authorization-server suite ran on
	auth         *authRun // nil when that suite did not run
}

func run(ctx context.Context, c config) error {
	info := &runInfo{cfg: c, started: time.Now(), loadBefore: loadavg()}
	masterKey := keyring.NewKey()
	raw, err := keyring.ParseKey(masterKey)
	if err != nil {
		return err
	}
	rootKey := randomKey()
	root := creds{email: "bench-root@oauthd.test", key: rootKey}

	logf("database %s: creating and migrating", c.dbName)
	dbURL, err := createDatabase(ctx, c.adminURL, c.dbName)
	if err != nil {
		return err
	}
	if !c.keep {
		defer func() {
			if err := dropDatabase(context.Background(), c.adminURL, c.dbName); err != nil {
				logf("drop database: %v", err)
			}
		}()
	}
	sd, err := newSeeder(ctx, dbURL, keyring.KeyID(raw), c.perTenant)
	if err != nil {
		return err
	}
	defer sd.close(context.Background())
	if err := sd.conn.QueryRow(ctx, "SHOW server_version").Scan(&info.pgVersion); err != nil {
		return err
	}
	var fsync, syncCommit string
	if err := sd.conn.QueryRow(ctx, "SELECT current_setting('fsync'), current_setting('synchronous_commit')").Scan(&fsync, &syncCommit); err != nil {
		return err
	}
	info.pgDurability = "fsync " + fsync + ", synchronous_commit " + syncCommit
	logf("PostgreSQL %s: %s", info.pgVersion, info.pgDurability)

	targets := map[int]*target{}
	var member *creds
	members := map[uuid.UUID]bool{}
	// callerFor is who calls on t: the bootstrap superuser, or a member
	// with the admin role, created through the API the first time.
	callerFor := func(srv *server, t *target) (creds, error) {
		if c.as != "member" {
			return root, nil
		}
		var err error
		if member == nil {
			if member, err = createMemberUser(srv.base, root); err != nil {
				return creds{}, err
			}
		}
		if !members[t.tenantID] {
			if err := addMember(srv.base, root, t.tenantID, member.email); err != nil {
				return creds{}, err
			}
			members[t.tenantID] = true
		}
		return *member, nil
	}
	info.principal = c.as
	var last *target
	for bi, b := range c.background {
		for ti, n := range c.targets {
			// Without the list suite only the last (largest) shape is seeded.
			if !c.lists && (bi < len(c.background)-1 || ti < len(c.targets)-1) {
				continue
			}
			sh := &shape{Background: b, Target: n, Results: map[string][]stats{}}
			changed := false
			if sd.background < b {
				if err := sd.growBackground(ctx, b); err != nil {
					return err
				}
				changed = true
			}
			if targets[n] == nil {
				t, err := sd.seedTarget(ctx, n, c.spares)
				if err != nil {
					return err
				}
				targets[n] = t
				changed = true
			}
			if changed {
				if err := sd.vacuum(ctx); err != nil {
					return err
				}
			}
			t := targets[n]
			last = t
			info.lastShape = sh.label()
			if !c.lists {
				continue
			}
			info.shapes = append(info.shapes, sh)
			if sh.Facts, err = sd.facts(ctx); err != nil {
				return err
			}
			if sh.Explain, err = sd.explain(ctx, t); err != nil {
				return err
			}

			// A fresh server per shape: no plan or connection state carries over.
			srv, err := startServer(ctx, c.oauthdBin, dbURL, masterKey, root.email+":"+root.key)
			if err != nil {
				return err
			}
			caller, err := callerFor(srv, t)
			if err != nil {
				srv.stop()
				return err
			}
			logf("shape %s: table holds %d OAuth clients in %d tenants; server %s", sh.label(), sh.Facts.OAuthClients, sh.Facts.Tenants, srv.base)
			for _, scn := range scenarios {
				res, err := runScenario(ctx, scn, srv.base, caller.header(), t, c.concurrency, c.warmup, c.duration)
				if err != nil {
					srv.stop()
					return fmt.Errorf("shape %s: %w", sh.label(), err)
				}
				sh.Results[scn.name] = res
				logResults(res)
			}
			srv.stop()
			sh.ServerErrs = srv.errorLogs.Load()
		}
	}
	if c.authserver && last != nil {
		// A fresh server again, so the token scenarios start with an empty
		// verified-secret cache and no state from the list scenarios.
		srv, err := startServer(ctx, c.oauthdBin, dbURL, masterKey, root.email+":"+root.key)
		if err != nil {
			return err
		}
		info.auth, err = runAuthSuite(ctx, c, srv, last, info.lastShape, callerFor, newCPUProbe(ctx, sd.conn, srv.cmd.Process.Pid))
		srv.stop()
		if err != nil {
			return fmt.Errorf("authorization-server suite: %w", err)
		}
		info.auth.serverErrs = srv.errorLogs.Load()
	}
	info.finished = time.Now()
	info.loadAfter = loadavg()
	doc := report(info)
	if c.out == "" {
		fmt.Print(doc)
		return nil
	}
	if err := os.WriteFile(c.out, []byte(doc+keptNotes(c.out)), 0o644); err != nil {
		return err
	}
	logf("wrote %s", c.out)
	return nil
}

// runAuthSuite creates the API clients on t through srv, then drives the
// authorization-server scenarios, each at its own concurrency.
func runAuthSuite(ctx context.Context, c config, srv *server, t *target, shapeLabel string,
	callerFor func(*server, *target) (creds, error), probe *cpuProbe) (*authRun, error) {
	caller, err := callerFor(srv, t)
	if err != nil {
		return nil, err
	}
	if t.api, err = setupAuthServer(srv.base, caller, t); err != nil {
		return nil, err
	}
	defer t.api.provider.close()
	a := &authRun{shape: shapeLabel, fixture: t.api, results: map[string][]stats{}, loadBefore: loadavg()}
	logf("authorization server on shape %s, server %s: first token request %s, second %s", shapeLabel, srv.base,
		ms(t.api.firstToken), ms(t.api.secondToken))
	if a.results, err = driveAuth(ctx, srv.base, caller.header(), t, authOptions{warmup: c.warmup, duration: c.duration, probe: probe, only: c.authOnly}); err != nil {
		return nil, err
	}
	if c.authOnly == nil || c.authOnly[ceilingScenario] {
		logf("token endpoint against the ceiling: %d rounds, legs of %s after %s of warm-up", ceilingRounds, c.duration/2, c.warmup/2)
		if a.ceiling, err = compareCeiling(ctx, srv.base, benchIssuer, t, probe, c.warmup/2, c.duration/2); err != nil {
			return nil, err
		}
	}
	a.loadAfter = loadavg()
	return a, nil
}

func logResults(res []stats) {
	for _, r := range res {
		logf("  %-12s c=%-3d %8.0f req/s  p50 %7s  p99 %7s  cpu/req %s  errors %d", r.Op, r.Concurrency, r.RPS, ms(r.P50), ms(r.P99), cpuCell(r), r.Errors)
	}
}

// randomKey is a bootstrap API key (32 to 128 URL-safe characters).
func randomKey() string { return credential.Random("bench_", 24) }

// createMemberUser makes a plain (non-super) user with an API key through
// the API, as an operator would.
func createMemberUser(base string, root creds) (*creds, error) {
	hc := newHTTPClient(1)
	email := "bench-member@oauthd.test"
	status, body, err := call(hc, http.MethodPost, base+"/v2/users", root.header(),
		[]byte(`{"data":{"type":"user","attributes":{"email":"`+email+`"}}}`))
	if err != nil || status != http.StatusCreated {
		return nil, httpFailure("create bench user", status, body, err)
	}
	var doc struct {
		Data struct {
			ID         string
			Attributes map[string]any
		}
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	status, body, err = call(hc, http.MethodPost, base+"/v2/users/"+doc.Data.ID+"/api-keys", root.header(),
		[]byte(`{"data":{"type":"api-key","attributes":{"name":"bench"}}}`))
	if err != nil || status != http.StatusCreated {
		return nil, httpFailure("create bench api key", status, body, err)
	}
	userID := doc.Data.ID
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, err
	}
	key, _ := doc.Data.Attributes["key"].(string)
	if key == "" {
		return nil, fmt.Errorf("api key response has no key: %s", body)
	}
	memberIDs[email] = userID
	return &creds{email: email, key: key}, nil
}

var memberIDs = map[string]string{}

// addMember gives the bench user the admin role in the tenant, and the
// right to take connections' access tokens (which admin lacks).
func addMember(base string, root creds, tenantID uuid.UUID, email string) error {
	hc := newHTTPClient(1)
	body := `{"data":{"type":"member","attributes":{"roles":["admin"],"permissions":["tenants.connections.token"]},` +
		`"relationships":{"user":{"data":{"type":"user","id":"` + memberIDs[email] + `"}}}}}`
	status, out, err := call(hc, http.MethodPost, base+"/v2/tenants/"+tenantID.String()+"/members", root.header(), []byte(body))
	if err != nil || status != http.StatusCreated {
		return httpFailure("add bench member", status, out, err)
	}
	return nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000)
}

// httpFailure describes a failed call: the transport error when there is
// one, else the unexpected status and body.
func httpFailure(what string, status int, body []byte, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: %d %s", what, status, body)
}

// notesMarker starts the hand-written part of the report (history, A/B
// comparisons run by hand), which a new run keeps as it is.
const notesMarker = "<!-- Hand-written notes below: make bench keeps them. -->"

// keptNotes is the hand-written part of the report at path, from
// notesMarker on ("" when there is none).
func keptNotes(path string) string {
	old, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if i := strings.Index(string(old), notesMarker); i >= 0 {
		return "\n" + string(old[i:])
	}
	return ""
}
