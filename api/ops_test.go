package api_test

// Operations: database outages, health, metrics, request logs and ids,
// secrets kept out of logs, and panic recovery.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/internal/pgserver"
)

// opsPrivatePostgres runs a Postgres this test may stop and restart (never
// the shared one), with one empty database "oauthd" in it.
func opsPrivatePostgres(t *testing.T) *pgserver.Server {
	t.Helper()
	dir, err := os.MkdirTemp("", "oauthd-outage-")
	if err != nil {
		t.Fatal(err)
	}
	// The server runs as an unprivileged user when we are root: it must be
	// able to reach its data directory.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	srv, err := pgserver.Start(ctx, pgserver.Options{DataDir: filepath.Join(dir, "data")})
	if err != nil {
		_ = os.RemoveAll(dir)
		t.Fatalf("start private postgres: %v", err)
	}
	t.Cleanup(func() {
		_ = srv.Stop()
		_ = os.RemoveAll(dir)
	})
	conn, err := pgx.Connect(ctx, srv.URL())
	if err != nil {
		t.Fatalf("connect to private postgres: %v", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, "CREATE DATABASE oauthd"); err != nil {
		t.Fatalf("create database: %v", err)
	}
	return srv
}

func opsComponentDoc(name string) map[string]any {
	return map[string]any{"data": map[string]any{"type": "component", "attributes": map[string]any{
		"name": name, "visibility": "tenant", "descriptor": map[string]any{"useOAuthClient": true}}}}
}

// opsSeedClient creates a tenant, a component and an OAuth client for it.
func opsSeedClient(t *testing.T, e *apitest.Env, secret string) (tid, cid, ocid string) {
	t.Helper()
	su := &e.Super
	tid = e.Post("/v2/tenants", su, doc("tenant", map[string]any{"name": "acme"}, nil)).ExpectStatus(t, http.StatusCreated).ID(t)
	cid = e.Post("/v2/tenants/"+tid+"/components", su, opsComponentDoc("salesforce")).ExpectStatus(t, http.StatusCreated).ID(t)
	ocid = e.Post("/v2/tenants/"+tid+"/oauth-clients", su, oauthClientDoc(cid, "sf-client-id", secret)).
		ExpectStatus(t, http.StatusCreated).ID(t)
	return tid, cid, ocid
}

func opsExpectUnavailable(t *testing.T, r *apitest.Response, elapsed time.Duration, what string) {
	t.Helper()
	if r.Status != http.StatusServiceUnavailable {
		t.Fatalf("%s during the outage: status %d, want 503; body: %s", what, r.Status, r.Body)
	}
	if got := r.Header.Get("Content-Type"); !strings.HasPrefix(got, "application/vnd.api+json") {
		t.Errorf("%s: Content-Type %q, want application/vnd.api+json", what, got)
	}
	if r.Header.Get("Retry-After") == "" {
		t.Errorf("%s: 503 without Retry-After", what)
	}
	errs := r.Errors(t)
	if len(errs) != 1 || errs[0]["code"] != "database_unavailable" || errs[0]["status"] != "503" {
		t.Errorf("%s: errors %v, want one database_unavailable with status \"503\"", what, errs)
	}
	// Generous: a refused connection should be answered at once, but the
	// machine is shared; the point is that nothing hangs until a timeout.
	if elapsed > 10*time.Second {
		t.Errorf("%s took %s during the outage; it must fail fast", what, elapsed)
	}
}

func TestDatabaseOutageGives503AndRecovers(t *testing.T) {
	pg := opsPrivatePostgres(t)
	e := apitest.New(t, apitest.WithDatabaseURL(pg.DatabaseURL("oauthd")))
	su := &e.Super
	tid, cid, ocid := opsSeedClient(t, e, "outage-secret-value")
	listPath := "/v2/tenants/" + tid + "/oauth-clients"
	if ids := listIDs(t, e.Get(listPath, su).ExpectStatus(t, http.StatusOK)); len(ids) != 1 || ids[0] != ocid {
		t.Fatalf("before the outage the list holds %v, want [%s]", ids, ocid)
	}
	e.Get("/readyz", nil).ExpectStatus(t, http.StatusOK)

	if err := pg.Stop(); err != nil {
		t.Fatalf("stop postgres: %v", err)
	}

	calls := []struct {
		name string
		do   func() *apitest.Response
	}{
		{"list oauth clients", func() *apitest.Response { return e.Get(listPath, su) }},
		{"get oauth client", func() *apitest.Response { return e.Get(listPath+"/"+ocid, su) }},
		{"create tenant", func() *apitest.Response {
			return e.Post("/v2/tenants", su, doc("tenant", map[string]any{"name": "during-outage"}, nil))
		}},
		{"create component", func() *apitest.Response {
			return e.Post("/v2/tenants/"+tid+"/components", su, opsComponentDoc("during-outage"))
		}},
		{"patch oauth client", func() *apitest.Response {
			return e.Patch(listPath+"/"+ocid, su, map[string]any{"data": map[string]any{"type": "oauth-client",
				"attributes": map[string]any{"client_id": "changed"}}})
		}},
		{"delete oauth client", func() *apitest.Response { return e.Delete(listPath+"/"+ocid, su) }},
		{"list components", func() *apitest.Response { return e.Get("/v2/tenants/"+tid+"/components/"+cid, su) }},
	}
	// Twice round: the first pass meets the pool's stale connections, the
	// second fresh connection attempts that are refused.
	for round := 0; round < 2; round++ {
		for _, c := range calls {
			start := time.Now()
			r := c.do()
			opsExpectUnavailable(t, r, time.Since(start), c.name)
		}
	}

	ready := e.Get("/readyz", nil)
	if ready.Status != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the outage: %d, want 503; body %s", ready.Status, ready.Body)
	}
	var rdoc struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal(ready.Body, &rdoc); err != nil || rdoc.Checks["database"] == "ok" || rdoc.Status == "ok" {
		t.Errorf("/readyz during the outage says %s", ready.Body)
	}
	e.Get("/healthz", nil).ExpectStatus(t, http.StatusOK)
	if strings.Contains(e.Logs.String(), `"panic"`) {
		t.Errorf("a panic was logged during the outage")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := pg.Restart(ctx); err != nil {
		t.Fatalf("restart postgres: %v", err)
	}
	// The same oauthd, never restarted, must find the database again.
	var last *apitest.Response
	apitest.Eventually(t, 30*time.Second, func() error {
		last = e.Get(listPath, su)
		switch last.Status {
		case http.StatusOK:
			return nil
		case http.StatusServiceUnavailable:
			return fmt.Errorf("oauthd has not recovered since the database returned: %d %s", last.Status, last.Body)
		}
		t.Fatalf("while the database comes back: status %d, want 503 or 200; body %s", last.Status, last.Body)
		return nil
	})
	if ids := listIDs(t, last); len(ids) != 1 || ids[0] != ocid {
		t.Fatalf("after the outage the list holds %v, want [%s]", ids, ocid)
	}
	got := e.Get(listPath+"/"+ocid, su).ExpectStatus(t, http.StatusOK)
	if got.Attr(t, "client_id") != "sf-client-id" {
		t.Errorf("client_id after the outage = %v; the PATCH during the outage must not have applied", got.Attr(t, "client_id"))
	}
	e.Get("/readyz", nil).ExpectStatus(t, http.StatusOK)
	// Writes work again too, on every kind of resource.
	tid2 := e.Post("/v2/tenants", su, doc("tenant", map[string]any{"name": "after-outage"}, nil)).ExpectStatus(t, http.StatusCreated).ID(t)
	cid2 := e.Post("/v2/tenants/"+tid2+"/components", su, opsComponentDoc("hubspot")).ExpectStatus(t, http.StatusCreated).ID(t)
	e.Post("/v2/tenants/"+tid2+"/oauth-clients", su, oauthClientDoc(cid2, "hs", "hubspot-secret-1")).ExpectStatus(t, http.StatusCreated)
	if n := strings.Count(e.Logs.String(), `"msg":"panic"`); n != 0 {
		t.Errorf("%d panics logged", n)
	}
}

func TestHealthz(t *testing.T) {
	e := apitest.New(t)
	r := e.Get("/healthz", nil).ExpectStatus(t, http.StatusOK)
	var doc map[string]any
	if err := json.Unmarshal(r.Body, &doc); err != nil || doc["status"] != "ok" {
		t.Fatalf("/healthz body %s, want {\"status\":\"ok\"}", r.Body)
	}
}

func TestReadyz(t *testing.T) {
	e := apitest.New(t)
	r := e.Get("/readyz", nil).ExpectStatus(t, http.StatusOK)
	var doc struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("/readyz body is not JSON: %v: %s", err, r.Body)
	}
	if doc.Status != "ok" || doc.Checks["database"] != "ok" || doc.Checks["migrations"] != "ok" {
		t.Fatalf("/readyz = %s, want status ok with database ok and migrations ok", r.Body)
	}
}

func TestReadyzReportsPendingMigrations(t *testing.T) {
	e := apitest.New(t)
	// Pretend the newest migration was never applied: this binary carries
	// a migration the database lacks, so the instance is not ready.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, e.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	tag, err := conn.Exec(ctx, "DELETE FROM goose_db_version WHERE version_id = (SELECT max(version_id) FROM goose_db_version)")
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("forget the newest migration: %v (%d rows)", err, tag.RowsAffected())
	}
	r := e.Get("/readyz", nil)
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(string(r.Body), `"migrations":"pending"`) {
		t.Fatalf("/readyz with a pending migration: %d %s, want 503 with migrations pending", r.Status, r.Body)
	}
}

func TestMetricsCountRequestsByRoute(t *testing.T) {
	e := apitest.New(t)
	tid, _, _ := opsSeedClient(t, e, "metrics-secret-1")
	for i := 0; i < 3; i++ {
		e.Get("/v2/tenants/"+tid+"/oauth-clients", &e.Super).ExpectStatus(t, http.StatusOK)
	}
	body := e.Metrics()
	want := `oauthd_http_requests_total{method="GET",route="/v2/tenants/:tid/oauth-clients",status="200"} 3`
	if !strings.Contains(body, want) {
		t.Fatalf("/metrics lacks %s\n%s", want, opsGrepLines(body, "oauthd_http_requests_total"))
	}
	for _, w := range []string{
		`oauthd_http_requests_total{method="POST",route="/v2/tenants/:tid/oauth-clients",status="201"} 1`,
		`oauthd_http_request_duration_seconds_count{method="GET",route="/v2/tenants/:tid/oauth-clients"} 3`,
	} {
		if !strings.Contains(body, w) {
			t.Errorf("/metrics lacks %s", w)
		}
	}
	// Unknown paths share one label value, so scanners cannot blow up the
	// number of series.
	e.Do(apitest.Request{Method: http.MethodGet, Path: "/no/such/" + strings.Repeat("x", 20)}).ExpectStatus(t, http.StatusNotFound)
	e.Do(apitest.Request{Method: http.MethodGet, Path: "/another/unknown/path"}).ExpectStatus(t, http.StatusNotFound)
	body = e.Metrics()
	if strings.Contains(body, "/no/such") || strings.Contains(body, "/another/unknown") {
		t.Errorf("unknown paths became metric labels:\n%s", opsGrepLines(body, "oauthd_http_requests_total"))
	}
}

func opsGrepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// opsLogLines are the log lines written so far, each decoded; a line that
// is not JSON fails the test.
func opsLogLines(t *testing.T, e *apitest.Env) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(e.Logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %v: %s", err, sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// opsRequestLines are the "request" log lines written so far.
func opsRequestLines(t *testing.T, e *apitest.Env) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, m := range opsLogLines(t, e) {
		if m["msg"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

// requestLine waits for the log line of the request with id rid: the line
// is written just after the response, so it may trail it a little.
func opsRequestLine(t *testing.T, e *apitest.Env, rid string) map[string]any {
	t.Helper()
	var found []map[string]any
	apitest.Eventually(t, 5*time.Second, func() error {
		found = nil
		for _, m := range opsRequestLines(t, e) {
			if m["request_id"] == rid {
				found = append(found, m)
			}
		}
		if len(found) == 0 {
			return fmt.Errorf("no request log line with request_id %q in:\n%s", rid, e.Logs.String())
		}
		return nil
	})
	if len(found) > 1 {
		t.Fatalf("%d request lines for request id %s, want one", len(found), rid)
	}
	return found[0]
}

func TestRequestLogLinePerRequest(t *testing.T) {
	e := apitest.New(t)
	tid := e.Post("/v2/tenants", &e.Super, doc("tenant", map[string]any{"name": "logged"}, nil)).ExpectStatus(t, http.StatusCreated).ID(t)
	cases := []struct {
		method, path, route string
		status              int
		auth                *apitest.Creds
	}{
		{http.MethodGet, "/v2/tenants/" + tid + "/components", "/v2/tenants/:tid/components", 200, &e.Super},
		{http.MethodGet, "/v2/tenants/" + tid + "/components", "/v2/tenants/:tid/components", 401, nil},
		{http.MethodGet, "/healthz", "/healthz", 200, nil},
		{http.MethodDelete, "/v2/tenants/" + tid + "/flows/00000000-0000-0000-0000-000000000000", "/v2/tenants/:tid/flows/:id", 404, &e.Super},
	}
	for _, c := range cases {
		r := e.Do(apitest.Request{Method: c.method, Path: c.path, Auth: c.auth})
		if r.Status != c.status {
			t.Fatalf("%s %s: %d, want %d: %s", c.method, c.path, r.Status, c.status, r.Body)
		}
		rid := r.Header.Get("X-Request-Id")
		if rid == "" {
			t.Fatalf("%s %s: no X-Request-Id header", c.method, c.path)
		}
		line := opsRequestLine(t, e, rid)
		if line["method"] != c.method || line["route"] != c.route || line["status"] != float64(c.status) {
			t.Errorf("%s %s: log line %v, want method %s route %s status %d", c.method, c.path, line, c.method, c.route, c.status)
		}
		if c.auth != nil && c.status == 200 && line["user_id"] != e.Super.UserID {
			t.Errorf("log line user_id = %v, want %s", line["user_id"], e.Super.UserID)
		}
	}
	// Every response got its own id.
	seen := map[any]bool{}
	for _, m := range opsRequestLines(t, e) {
		if seen[m["request_id"]] {
			t.Errorf("request id %v logged twice", m["request_id"])
		}
		seen[m["request_id"]] = true
	}
}

func TestIncomingRequestID(t *testing.T) {
	e := apitest.New(t)
	cases := []struct {
		name, incoming string
		kept           bool
	}{
		{"plain", "req-42_abc.DEF", true},
		{"uuid", "6f1c2a0e-8d4b-4b8e-9a53-0c7b6f1d2e3f", true},
		{"64 chars", strings.Repeat("a", 64), true},
		{"65 chars", strings.Repeat("a", 65), false},
		{"spaces", "abc def", false},
		{"tab", "abc\tdef", false},
		{"json injection", `x","level":"ERROR`, false},
		{"unicode", "ідентифікатор", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := e.For(t)
			r := e.Do(apitest.Request{Method: http.MethodGet, Path: "/healthz",
				Header: http.Header{"X-Request-Id": {c.incoming}}}).ExpectStatus(t, http.StatusOK)
			got := r.Header.Get("X-Request-Id")
			if c.kept && got != c.incoming {
				t.Fatalf("plain incoming id %q came back as %q", c.incoming, got)
			}
			if !c.kept {
				if got == c.incoming || got == "" || strings.ContainsAny(got, " \t\r\n\"") || len(got) > 64 {
					t.Fatalf("incoming id %q was not replaced by a plain one (got %q)", c.incoming, got)
				}
				if strings.Contains(e.Logs.String(), c.incoming) {
					t.Fatalf("the rejected incoming id %q reached the log", c.incoming)
				}
			}
			opsRequestLine(t, e, got)
		})
	}
	// A header folded over two lines (obs-fold) arrives as one value with
	// a line break turned into a space: it must not reach the log either.
	raw := "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: first\r\n second\r\nConnection: close\r\n\r\n"
	resp := opsRawRequest(t, e, raw)
	if id := resp.Header.Get("X-Request-Id"); resp.StatusCode < 400 && (strings.Contains(id, "first") || strings.Contains(id, "second")) {
		t.Fatalf("a folded X-Request-Id was kept: %q", id)
	}
}

func opsRawRequest(t *testing.T, e *apitest.Env, raw string) *http.Response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(e.Server.URL, "http://"), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read raw response: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp
}

func TestSecretsNeverLogged(t *testing.T) {
	e := apitest.New(t)
	const secret = "tHe-ThIrD-pArTy-SeCrEt-9f8e7d"
	const newSecret = "rotated-ThIrD-pArTy-SeCrEt-1a2b"
	tid, _, ocid := opsSeedClient(t, e, secret)
	su := &e.Super
	path := "/v2/tenants/" + tid + "/oauth-clients/" + ocid
	e.Get(path, su).ExpectStatus(t, http.StatusOK)
	e.Get(path+"/secret", su).ExpectStatus(t, http.StatusOK)
	e.Patch(path, su, map[string]any{"data": map[string]any{"type": "oauth-client",
		"attributes": map[string]any{"client_secret": newSecret}}}).ExpectStatus(t, http.StatusOK)
	e.Get(path+"/secret", su).ExpectStatus(t, http.StatusOK)
	// A wrong key for a real user, and a body the server rejects, carrying
	// the secret.
	wrong := apitest.Creds{Email: su.Email, Key: "wrong-key-" + strings.Repeat("z", 30)}
	e.Get(path, &wrong).ExpectStatus(t, http.StatusUnauthorized)
	e.Do(apitest.Request{Method: http.MethodPatch, Path: path, Auth: su,
		Body: `{"data":{"type":"oauth-client","attributes":{"client_secret":"` + newSecret + `"}}} trailing`}).ExpectStatus(t, http.StatusBadRequest)
	e.Get("/v2/tenants/"+tid+"/audit-events", su).ExpectStatus(t, http.StatusOK)

	// The last request's log line trails its response: wait for it.
	e.Do(apitest.Request{Method: http.MethodGet, Path: "/healthz", Header: http.Header{"X-Request-Id": {"secrets-last"}}})
	opsRequestLine(t, e, "secrets-last")
	logs := e.Logs.String()
	if len(opsRequestLines(t, e)) < 7 {
		t.Fatalf("expected request lines in the log, got:\n%s", logs)
	}
	for name, s := range map[string]string{
		"API key": su.Key, "wrong API key": wrong.Key, "client secret": secret, "new client secret": newSecret,
		"basic auth header": strings.TrimPrefix(apitest.BasicAuth(*su), "Basic "),
	} {
		if strings.Contains(logs, s) {
			t.Errorf("the %s appears in the logs", name)
		}
	}
}

func TestPanicBecomesJSONAPI500(t *testing.T) {
	e := apitest.New(t)
	// No route can panic on purpose; this one proves the safety net.
	e.App.Server.Echo().GET("/test-only/panic", func(echo.Context) error { panic("boom: deliberate test panic") })
	req, err := http.NewRequest(http.MethodGet, e.URL("/test-only/panic"), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Request-Id", "panic-test-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("request to a panicking handler: %v", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("panicking handler: %d, want 500: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/vnd.api+json") {
		t.Errorf("Content-Type %q, want application/vnd.api+json", ct)
	}
	var doc struct {
		Errors []map[string]any `json:"errors"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Errors) != 1 {
		t.Fatalf("500 body is not one JSON:API error: %s", body)
	}
	if doc.Errors[0]["code"] != "internal_error" || doc.Errors[0]["status"] != "500" {
		t.Errorf("error object %v, want internal_error with status \"500\"", doc.Errors[0])
	}
	if strings.Contains(string(body), "boom") || strings.Contains(string(body), "goroutine") {
		t.Errorf("the 500 leaks the panic: %s", body)
	}
	if !strings.Contains(string(body), "panic-test-1") {
		t.Errorf("the 500 does not quote the request id: %s", body)
	}
	line := opsRequestLine(t, e, "panic-test-1")
	if line["status"] != float64(500) || line["level"] != "ERROR" {
		t.Errorf("request line for the panic: %v, want status 500 at level ERROR", line)
	}
	if !strings.Contains(e.Logs.String(), "boom: deliberate test panic") {
		t.Errorf("the panic's cause was not logged")
	}
	// The server lives on.
	e.Get("/healthz", nil).ExpectStatus(t, http.StatusOK)
}

// TestClientDisconnectIsNotAnOutage: a client that goes away while its
// query runs is logged as 499, neither a 500 nor "database_unavailable".
func TestClientDisconnectIsNotAnOutage(t *testing.T) {
	e := apitest.New(t)
	entered := make(chan struct{})
	e.App.Server.Echo().GET("/test-only/slow-query", func(c echo.Context) error {
		close(entered)
		return e.App.DB.Conn(c.Request().Context()).Exec("SELECT pg_sleep(30)").Error
	})
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL("/test-only/slow-query"), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Request-Id", "gone-client-1")
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			_ = resp.Body.Close()
		}
		done <- err
	}()
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the slow query never started")
	}
	apitest.Eventually(t, 10*time.Second, func() error { // the query reaches the server
		if countRows(t, e, "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query = 'SELECT pg_sleep(30)'") == 0 {
			return errors.New("the slow query is not running yet")
		}
		return nil
	})
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the canceled request got a response")
	}
	line := opsRequestLine(t, e, "gone-client-1")
	if line["status"] != float64(499) {
		t.Errorf("request line for a client that went away: %v, want status 499", line)
	}
	logs := e.Logs.String()
	if strings.Contains(logs, `"msg":"internal error"`) || strings.Contains(logs, `"msg":"database_unavailable"`) {
		t.Errorf("a client disconnect was logged as a failure:\n%s", logs)
	}
	// The pool is healthy afterwards.
	e.Get("/readyz", nil).ExpectStatus(t, http.StatusOK)
}
