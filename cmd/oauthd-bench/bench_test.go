package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/oauthd/oauthd/internal/app"
	"github.com/oauthd/oauthd/internal/keyring"
	"github.com/oauthd/oauthd/internal/testdb"
)

// TestSeedAndLoad runs the seeder and every scenario at a tiny size against
// an in-process server, so `go test ./...` keeps the bench tool working. It
// checks counts and that no request failed, never how fast anything was.
func TestSeedAndLoad(t *testing.T) {
	ctx := context.Background()
	dbURL := testdb.New(t)
	raw := bytes.Repeat([]byte{3}, keyring.KeySize)
	kr, err := keyring.New(raw)
	if err != nil {
		t.Fatal(err)
	}
	sd, err := newSeeder(ctx, dbURL, keyring.KeyID(raw), 100)
	if err != nil {
		t.Fatal(err)
	}
	defer sd.close(ctx)
	if err := sd.growBackground(ctx, 150); err != nil {
		t.Fatal(err)
	}
	if err := sd.growBackground(ctx, 250); err != nil { // grows, reusing the half-full tenant
		t.Fatal(err)
	}
	tg, err := sd.seedTarget(ctx, 5, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := sd.vacuum(ctx); err != nil {
		t.Fatal(err)
	}
	f, err := sd.facts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f.OAuthClients != 255 || f.Tenants != 4 || f.Components != 259 || len(tg.clients) != 5 || len(tg.spares) != 4 {
		t.Fatalf("seeded %+v, target %d clients %d spares", f, len(tg.clients), len(tg.spares))
	}
	plans, err := sd.explain(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	if execTime(plans["count (meta.total)"]) == "?" {
		t.Fatalf("no execution time in %v", plans)
	}

	a, err := app.New(ctx, app.Options{DatabaseURL: dbURL, Keyring: kr, MaxDBConns: 8, Issuer: "http://127.0.0.1",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), OutboundAllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Close() }()
	srv := httptest.NewServer(a.Server.Handler())
	defer srv.Close()
	root := creds{email: "root@bench.test", key: randomKey()}
	if _, err := a.Tenants.EnsureSuperuser(ctx, root.email, root.key); err != nil {
		t.Fatal(err)
	}
	member, err := createMemberUser(srv.URL, root)
	if err != nil {
		t.Fatal(err)
	}
	if err := addMember(srv.URL, root, tg.tenantID, member.email); err != nil {
		t.Fatal(err)
	}
	sh := &shape{Background: 250, Target: 5, Facts: f, Explain: plans, Results: map[string][]stats{}}
	for _, sc := range scenarios {
		var res []stats
		// A request is counted only when it starts and ends inside the
		// window; on a busy machine a short window may hold none (a create
		// that ends in it, its delete after), so a window with nothing in
		// it is tried again, longer. Errors are never retried away.
		for d := 200 * time.Millisecond; ; d *= 2 {
			res, err = runScenario(ctx, sc, srv.URL, member.header(), tg, 2, 0, d)
			if err != nil {
				t.Fatalf("%s: %v", sc.name, err)
			}
			if !emptyOp(res) || d >= 3*time.Second {
				break
			}
		}
		for _, r := range res {
			if r.Errors > 0 || r.Requests == 0 {
				t.Errorf("%s: %d requests, errors %v", r.Op, r.Requests, r.ErrorKinds)
			}
		}
		sh.Results[sc.name] = res
	}

	// The authorization-server suite, each scenario at concurrency 2.
	distinctTokens = 64
	if tg.api, err = setupAuthServer(srv.URL, *member, tg); err != nil {
		t.Fatal(err)
	}
	ar := &authRun{shape: sh.label(), fixture: tg.api}
	for d := 200 * time.Millisecond; ; d *= 2 {
		if ar.results, err = driveAuth(ctx, srv.URL, member.header(), tg, authOptions{concurrency: 2, duration: d}); err != nil {
			t.Fatal(err)
		}
		empty := false
		for _, res := range ar.results {
			empty = empty || emptyOp(res)
		}
		if !empty || d >= 3*time.Second {
			break
		}
	}
	for _, sc := range authScenarios {
		res := ar.results[sc.name]
		if len(res) != 1 || res[0].Concurrency != 2 {
			t.Fatalf("%s: results %+v", sc.name, res)
		}
		if r := res[0]; r.Errors > 0 || r.Requests == 0 {
			t.Errorf("%s: %d requests, errors %v", sc.name, r.Requests, r.ErrorKinds)
		}
	}
	if tg.api.scope != "role:viewer" {
		t.Errorf("token scope %q, want role:viewer", tg.api.scope)
	}

	doc := report(&runInfo{cfg: config{concurrency: 2, perTenant: 100}, principal: "member", shapes: []*shape{sh}, auth: ar})
	for _, want := range []string{"| list-filter |", "| list-page |", "create", "Execution Time",
		"| token-c32 | token |", "| create-api-client | create-api-client |", "| introspect | introspect |", "| get-bearer | get-bearer |", "| access-token | access-token |", "tokens/s at concurrency 32 ≥ 3,000"} {
		if !strings.Contains(doc, want) && !strings.Contains(doc, strings.TrimSpace(want)) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// emptyOp reports an operation with no request in its window.
func emptyOp(res []stats) bool {
	for _, r := range res {
		if r.Requests == 0 {
			return true
		}
	}
	return false
}
