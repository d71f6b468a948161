// Package testdb gives each test its own freshly migrated PostgreSQL
// database, cloned from a template so it costs a fraction of a second. The
// server is OAUTHD_TEST_DATABASE_URL when set (the Makefile starts a
// throwaway one); otherwise a private server is started from the installed
// binaries for this test process.
package testdb

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/pgserver"
	"github.com/oauthd/oauthd/migrations"
)

var (
	once      sync.Once
	serverURL string
	template  string
	setupErr  error
)

// ServerURL is the admin URL of the server tests use.
func ServerURL(t testing.TB) string {
	t.Helper()
	once.Do(setup)
	if setupErr != nil {
		t.Fatalf("test database server: %v", setupErr)
	}
	return serverURL
}

// New creates a fresh migrated database for t, dropped when t ends, and
// returns its URL.
func New(t testing.TB) string {
	t.Helper()
	admin := ServerURL(t)
	name := "t_" + randomHex(8)
	ctx := context.Background()
	if err := exec(ctx, admin, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, template)); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		_ = exec(context.Background(), admin, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
	})
	return withDatabase(admin, name)
}

// NewCLocale creates an empty database for t whose collation and
// character classes are the C locale's (where lower() folds ASCII only, as
// on make test's throwaway server), dropped when t ends, and returns its
// URL; migrations are the caller's (database.Migrate or MigrateTo). It
// shows what holds whatever locale the server was set up with.
func NewCLocale(t testing.TB) string {
	t.Helper()
	admin := ServerURL(t)
	name := "t_c_" + randomHex(8)
	ctx := context.Background()
	if err := exec(ctx, admin, fmt.Sprintf("CREATE DATABASE %s TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'", name)); err != nil {
		t.Fatalf("create C-locale test database: %v", err)
	}
	t.Cleanup(func() {
		_ = exec(context.Background(), admin, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
	})
	return withDatabase(admin, name)
}

func setup() {
	serverURL = os.Getenv("OAUTHD_TEST_DATABASE_URL")
	if serverURL == "" {
		dir, err := os.MkdirTemp("", "oauthd-testpg-")
		if err != nil {
			setupErr = err
			return
		}
		_ = os.Chmod(dir, 0o755)
		srv, err := pgserver.Start(context.Background(), pgserver.Options{DataDir: dir + "/data"})
		if err != nil {
			setupErr = err
			return
		}
		serverURL = srv.URL()
	}
	template, setupErr = ensureTemplate(context.Background(), serverURL)
}

// ensureTemplate creates, once per migration set, a migrated database to
// clone. Test processes of several packages may race here: an advisory lock
// makes one of them build it.
func ensureTemplate(ctx context.Context, admin string) (string, error) {
	name := "tmpl_" + migrationsHash()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", fmt.Errorf("connect to %s: %w", redact(admin), err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(727274)"); err != nil {
		return "", err
	}
	defer func() { _, _ = conn.Exec(ctx, "SELECT pg_advisory_unlock(727274)") }()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_wip"
	_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)")
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+building); err != nil {
		return "", err
	}
	db, err := database.Open(withDatabase(admin, building), database.Options{MaxOpenConns: 2})
	if err != nil {
		return "", err
	}
	_, err = database.Migrate(ctx, db)
	_ = db.Close()
	if err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", building, name)); err != nil {
		return "", err
	}
	return name, nil
}

func migrationsHash() string {
	h := sha256.New()
	_ = fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := fs.ReadFile(migrations.FS, path)
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func exec(ctx context.Context, admin, sql string) error {
	var lastErr error
	for attempt := 0; attempt < 20; attempt++ {
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			return err
		}
		_, err = conn.Exec(ctx, sql)
		_ = conn.Close(ctx)
		// Two clones of one template at the same instant can collide;
		// retrying is the documented remedy.
		if err == nil || !strings.Contains(err.Error(), "is being accessed by other users") {
			return err
		}
		lastErr = err
		time.Sleep(50 * time.Millisecond)
	}
	return lastErr
}

func withDatabase(admin, name string) string {
	u, err := url.Parse(admin)
	if err != nil {
		return admin
	}
	u.Path = "/" + name
	return u.String()
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "the test database server"
	}
	return u.Redacted()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Open gives t a pool on a fresh migrated database, closed when t ends.
func Open(t testing.TB) *database.DB {
	t.Helper()
	db, err := database.Open(New(t), database.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}
