package pgserver

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func tempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pgserver-test-")
	if err != nil {
		t.Fatal(err)
	}
	// As root the server runs as an unprivileged user that must reach it.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

func query(ctx context.Context, url, sql string) (string, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", err
	}
	defer func() { _ = conn.Close(ctx) }()
	var out string
	err = conn.QueryRow(ctx, sql).Scan(&out)
	return out, err
}

func execSQL(ctx context.Context, url, sql string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(ctx) }()
	_, err = conn.Exec(ctx, sql)
	return err
}

// TestStartStopRestart: a private server starts from the installed
// binaries, stops (refusing connections), and restarts on the same port
// with its data intact.
func TestStartStopRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dataDir := filepath.Join(tempDir(t), "data")
	srv, err := Start(ctx, Options{DataDir: dataDir})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	if srv.Port() == 0 || !strings.Contains(srv.URL(), ":"+strconv.Itoa(srv.Port())+"/postgres") {
		t.Fatalf("URL %s does not carry port %d", srv.URL(), srv.Port())
	}
	if err := execSQL(ctx, srv.URL(), "CREATE TABLE kept AS SELECT 'still here'::text AS v"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := query(ctx, srv.URL(), "SELECT 'x'"); err == nil {
		t.Fatal("the stopped server still answers")
	}
	if _, err := os.Stat(filepath.Join(dataDir, "postmaster.pid")); err == nil {
		t.Error("postmaster.pid remains after Stop: not a clean shutdown")
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("a second Stop: %v", err)
	}
	if err := srv.Restart(ctx); err != nil {
		t.Fatalf("Restart: %v", err)
	}
	got, err := query(ctx, srv.URL(), "SELECT v FROM kept")
	if err != nil || got != "still here" {
		t.Fatalf("after Restart: %q, %v", got, err)
	}

	// A second Start on the same folder (as `oauthd dev` does on its next
	// run) reuses the data: no initdb over it.
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	again, err := Start(ctx, Options{DataDir: dataDir, Durable: true})
	if err != nil {
		t.Fatalf("Start on an existing data dir: %v", err)
	}
	t.Cleanup(func() { _ = again.Stop() })
	if got, err := query(ctx, again.URL(), "SELECT v FROM kept"); err != nil || got != "still here" {
		t.Fatalf("second Start lost the data: %q, %v", got, err)
	}
}

// TestUnreachableDataDirIsAClearError: when we are root the server runs as
// another user; a data folder it cannot reach is reported with the folder
// to fix, before initdb runs.
func TestUnreachableDataDirIsAClearError(t *testing.T) {
	base := tempDir(t)
	private := filepath.Join(base, "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	// The unprivileged user owns neither folder.
	other := &syscall.Credential{Uid: 54321, Gid: 54321}
	s := &Server{opts: Options{DataDir: filepath.Join(private, "pg")}, cred: other}
	err := s.checkReachable()
	if err == nil || !strings.Contains(err.Error(), private) {
		t.Fatalf("checkReachable under a 0700 folder: %v, want an error naming %s", err, private)
	}
	if err := os.Chmod(private, 0o711); err != nil {
		t.Fatal(err)
	}
	if err := s.checkReachable(); err != nil {
		t.Fatalf("checkReachable under a 0711 folder: %v", err)
	}
	// Without a credential (not root) there is nothing to check.
	if err := (&Server{opts: Options{DataDir: "/nonexistent/x/pg"}}).checkReachable(); err != nil {
		t.Fatal(err)
	}
}

func TestBinDir(t *testing.T) {
	dir, err := BinDir()
	if err != nil {
		t.Fatalf("BinDir: %v", err)
	}
	for _, bin := range []string{"initdb", "postgres", "pg_isready"} {
		if _, err := os.Stat(filepath.Join(dir, bin)); err != nil {
			t.Errorf("%s missing from %s: %v", bin, dir, err)
		}
	}
	t.Setenv("OAUTHD_PG_BIN", "/opt/custom/bin")
	if dir, _ := BinDir(); dir != "/opt/custom/bin" {
		t.Errorf("OAUTHD_PG_BIN ignored: %s", dir)
	}
}
