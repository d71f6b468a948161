package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/internal/app"
	"github.com/oauthd/oauthd/internal/config"
	"github.com/oauthd/oauthd/internal/keyring"
	"github.com/oauthd/oauthd/internal/testdb"
)

// listenerClosed waits until nothing accepts connections at addr any more.
func listenerClosed(t *testing.T, addr string, within time.Duration) {
	t.Helper()
	apitest.Eventually(t, within, func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return nil
		}
		_ = c.Close()
		return fmt.Errorf("%s still accepts connections after shutdown began", addr)
	})
}

// TestRunDrainsInFlightRequests cancels run's context (what SIGTERM does)
// while a slow request is being served: the request completes, new
// connections are refused, and run returns nil only afterwards.
func TestRunDrainsInFlightRequests(t *testing.T) {
	kr, err := keyring.New(bytes.Repeat([]byte{9}, keyring.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedWriter{w: &bytes.Buffer{}}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	a, err := app.New(context.Background(), app.Options{DatabaseURL: testdb.New(t), Keyring: kr, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })

	entered := make(chan struct{})
	var finished atomic.Bool
	a.Server.Echo().GET("/test-only/slow", func(c echo.Context) error {
		close(entered)
		time.Sleep(500 * time.Millisecond)
		finished.Store(true)
		return c.String(http.StatusOK, "drained")
	})

	cfg := &config.Config{Listen: "127.0.0.1:0", ShutdownGraceSeconds: 20}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc := make(chan string, 1)
	runErr := make(chan error, 1)
	var returnedAfterRequest atomic.Bool
	go func() {
		err := run(ctx, cfg, a, log, func(at listening) { addrc <- at.API })
		returnedAfterRequest.Store(finished.Load())
		runErr <- err
	}()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-runErr:
		t.Fatalf("run returned before serving: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("run did not report its address")
	}
	if strings.HasSuffix(addr, ":0") {
		t.Fatalf("run reported %s, not the real port", addr)
	}

	type result struct {
		status int
		body   string
		err    error
	}
	resc := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/test-only/slow")
		if err != nil {
			resc <- result{err: err}
			return
		}
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		resc <- result{status: resp.StatusCode, body: string(b), err: err}
	}()
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the slow request never reached its handler")
	}
	cancel() // as SIGTERM would

	listenerClosed(t, addr, 10*time.Second)
	r := <-resc
	if r.err != nil || r.status != http.StatusOK || r.body != "drained" {
		t.Fatalf("in-flight request during shutdown: status %d body %q err %v; want 200 drained", r.status, r.body, r.err)
	}
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("run returned %v after a clean shutdown, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after shutdown")
	}
	if !returnedAfterRequest.Load() {
		t.Fatal("run returned before the in-flight request finished")
	}
	if !strings.Contains(logs.String(), "draining in-flight requests") || !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Errorf("shutdown not logged:\n%s", logs.String())
	}
}

// TestRunReportsListenErrors: a taken address is a clear error, not a hang.
func TestRunReportsListenErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	kr, _ := keyring.New(bytes.Repeat([]byte{9}, keyring.KeySize))
	a, err := app.New(context.Background(), app.Options{DatabaseURL: testdb.New(t), Keyring: kr, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Close() }()
	cfg := &config.Config{Listen: ln.Addr().String(), ShutdownGraceSeconds: 1}
	errc := make(chan error, 1)
	go func() { errc <- run(context.Background(), cfg, a, slog.New(slog.DiscardHandler), nil) }()
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "OAUTHD_LISTEN") {
			t.Fatalf("run on a taken address: %v, want an error naming OAUTHD_LISTEN", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run on a taken address did not return")
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.String()
}

// servingAddr reads oauthd's JSON log until the "serving" line and returns
// the address it listens on.
func servingAddr(t *testing.T, p *proc) string {
	t.Helper()
	line := p.waitLine(90*time.Second, `the "serving" log line`, func(l string) bool {
		return strings.Contains(l, `"msg":"serving"`)
	})
	var m struct {
		Addr string `json:"addr"`
	}
	if err := json.Unmarshal([]byte(line), &m); err != nil || m.Addr == "" || strings.HasSuffix(m.Addr, ":0") {
		t.Fatalf("serving line without a real address: %s", line)
	}
	return m.Addr
}

// TestServeDrainsOnSIGTERM runs the real binary, starts a request whose body
// is still arriving, sends SIGTERM, and finishes the request: it is served,
// and oauthd exits 0.
func TestServeDrainsOnSIGTERM(t *testing.T) {
	dbURL := testdb.New(t)
	key := "sigterm_" + strings.Repeat("k", 40)
	email := "root@sigterm.test"
	p := startProc(t, t.TempDir(), baseEnv(
		"OAUTHD_DATABASE_URL="+dbURL,
		"OAUTHD_MASTER_KEY="+keyring.NewKey(),
		"OAUTHD_LISTEN=127.0.0.1:0",
		"OAUTHD_BOOTSTRAP_SUPERUSER="+email+":"+key,
		"OAUTHD_SHUTDOWN_GRACE_SECONDS=20",
	), "serve")
	addr := servingAddr(t, p)

	body := `{"data":{"type":"tenant","attributes":{"name":"created-during-shutdown"}}}`
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	head := fmt.Sprintf("POST /v2/tenants HTTP/1.1\r\nHost: %s\r\nAuthorization: Basic %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		addr, base64.StdEncoding.EncodeToString([]byte(email+":"+key)), len(body))
	half := len(body) / 2
	if _, err := io.WriteString(conn, head+body[:half]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let the server start reading it

	p.signal(syscall.SIGTERM)
	// Shutdown has begun once the listener is closed; the request is still
	// waiting for the rest of its body.
	listenerClosed(t, addr, 10*time.Second)
	if _, err := io.WriteString(conn, body[half:]); err != nil {
		t.Fatalf("finish the request body after SIGTERM: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the in-flight request got no response after SIGTERM: %v", err)
	}
	respBody, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || !strings.Contains(string(respBody), "created-during-shutdown") {
		t.Fatalf("in-flight request after SIGTERM: %d %s, want 201", resp.StatusCode, respBody)
	}
	if err := p.wait(30 * time.Second); err != nil {
		t.Fatalf("oauthd exited with %v after SIGTERM, want status 0", err)
	}
	out := p.output()
	if !strings.Contains(out, "draining in-flight requests") || !strings.Contains(out, `"msg":"stopped"`) {
		t.Errorf("shutdown not logged")
	}
	if strings.Contains(out, key) {
		t.Errorf("the bootstrap API key appears in oauthd's output")
	}
}

// TestServeWithoutConfiguration: `oauthd serve` with nothing set exits
// non-zero naming every missing variable.
func TestServeWithoutConfiguration(t *testing.T) {
	cases := []struct {
		name  string
		env   []string
		want  []string
		avoid []string
	}{
		{"nothing set", nil, []string{"OAUTHD_DATABASE_URL", "OAUTHD_MASTER_KEY"}, nil},
		{"no master key", []string{"OAUTHD_DATABASE_URL=postgres://127.0.0.1:1/x"}, []string{"OAUTHD_MASTER_KEY"}, []string{"OAUTHD_DATABASE_URL"}},
		{"malformed master key", []string{"OAUTHD_DATABASE_URL=postgres://127.0.0.1:1/x", "OAUTHD_MASTER_KEY=short"}, []string{"OAUTHD_MASTER_KEY"}, []string{"short"}},
		{"malformed bootstrap", []string{"OAUTHD_DATABASE_URL=postgres://127.0.0.1:1/x", "OAUTHD_MASTER_KEY=" + keyring.NewKey(),
			"OAUTHD_BOOTSTRAP_SUPERUSER=no-colon-here"}, []string{"OAUTHD_BOOTSTRAP_SUPERUSER"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(oauthdBinary(t), "serve")
			cmd.Env = baseEnv(c.env...)
			cmd.Dir = t.TempDir()
			var stderr, stdout bytes.Buffer
			cmd.Stderr, cmd.Stdout = &stderr, &stdout
			done := make(chan error, 1)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatal("oauthd serve with bad configuration did not exit")
			}
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() == 0 {
				t.Fatalf("oauthd serve: %v, want a non-zero exit", err)
			}
			for _, w := range c.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr does not name %s:\n%s", w, stderr.String())
				}
			}
			for _, a := range c.avoid {
				if strings.Contains(stderr.String(), a) {
					t.Errorf("stderr mentions %q:\n%s", a, stderr.String())
				}
			}
		})
	}
}

// TestMetricsListener: with OAUTHD_METRICS_LISTEN the metrics are served
// there and only there; without it there is no metrics listener at all.
func TestMetricsListener(t *testing.T) {
	kr, _ := keyring.New(bytes.Repeat([]byte{9}, keyring.KeySize))
	a, err := app.New(context.Background(), app.Options{DatabaseURL: testdb.New(t), Keyring: kr, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	serveWith := func(cfg *config.Config) listening {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		at, errc := make(chan listening, 1), make(chan error, 1)
		go func() { errc <- run(ctx, cfg, a, slog.New(slog.DiscardHandler), func(l listening) { at <- l }) }()
		t.Cleanup(func() {
			cancel()
			if err := <-errc; err != nil {
				t.Errorf("run: %v", err)
			}
		})
		select {
		case l := <-at:
			return l
		case err := <-errc:
			t.Fatalf("run: %v", err)
		}
		return listening{}
	}

	on := serveWith(&config.Config{Listen: "127.0.0.1:0", MetricsListen: "127.0.0.1:0", ShutdownGraceSeconds: 5})
	if on.Metrics == "" || on.Metrics == on.API {
		t.Fatalf("listening %+v, want a metrics address of its own", on)
	}
	get("http://" + on.API + "/healthz")
	status, body := get("http://" + on.Metrics + "/metrics")
	if status != http.StatusOK || !strings.Contains(body, `oauthd_http_requests_total{method="GET",route="/healthz",status="200"}`) ||
		!strings.Contains(body, "go_goroutines") {
		t.Errorf("metrics listener: %d, without the expected series:\n%.2000s", status, body)
	}
	if status, _ := get("http://" + on.API + "/metrics"); status != http.StatusNotFound {
		t.Errorf("/metrics on the API listener: %d, want 404", status)
	}
	if status, _ := get("http://" + on.Metrics + "/v2/tenants"); status != http.StatusNotFound {
		t.Errorf("the API on the metrics listener: %d, want 404", status)
	}

	off := serveWith(&config.Config{Listen: "127.0.0.1:0", ShutdownGraceSeconds: 5})
	if off.Metrics != "" {
		t.Errorf("metrics listening at %s without OAUTHD_METRICS_LISTEN", off.Metrics)
	}
}
