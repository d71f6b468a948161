package database_test

import (
	"context"
	"testing"

	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/testdb"
)

// Migration 00090 gives existing users their email keys. On a C-locale
// database the old lower() index let ÉVA@x.test and a later éva@x.test in
// as two users: the oldest keeps the key, the later one is kept (with its
// row) but without a key, and from then on the index refuses a third.
func TestEmailKeyMigrationKeepsTheOldestOfACollision(t *testing.T) {
	db := open(t, testdb.NewCLocale(t))
	ctx := context.Background()
	if _, err := database.MigrateTo(ctx, db, 89); err != nil {
		t.Fatal(err)
	}
	sql := db.Conn(ctx)
	for _, u := range []struct{ id, email, created string }{
		{"00000000-0000-0000-0000-000000000001", "ÉVA@x.test", "2026-01-01"},
		{"00000000-0000-0000-0000-000000000002", "éva@x.test", "2026-02-01"},
		{"00000000-0000-0000-0000-000000000003", "Bob@X.test", "2026-03-01"},
	} {
		if err := sql.Exec(`INSERT INTO users (id, email, created_at) VALUES (?, ?, ?)`, u.id, u.email, u.created).Error; err != nil {
			t.Fatalf("before 00090, %s: %v", u.email, err)
		}
	}
	if n, err := database.MigrateTo(ctx, db, 90); err != nil || n != 1 {
		t.Fatalf("MigrateTo(90) = %d, %v; want 00090 alone to run", n, err)
	}
	var rows []struct {
		Email    string
		EmailKey *string
	}
	if err := sql.Raw(`SELECT email, email_key FROM users ORDER BY created_at`).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	want := []struct {
		email string
		key   *string
	}{{"ÉVA@x.test", ptr("éva@x.test")}, {"éva@x.test", nil}, {"Bob@X.test", ptr("bob@x.test")}}
	if len(rows) != len(want) {
		t.Fatalf("users after 00090: %+v", rows)
	}
	for i, w := range want {
		if rows[i].Email != w.email || (rows[i].EmailKey == nil) != (w.key == nil) || (w.key != nil && *rows[i].EmailKey != *w.key) {
			t.Errorf("user %q: email_key %v, want %v", rows[i].Email, deref(rows[i].EmailKey), deref(w.key))
		}
	}
	err := sql.Exec(`INSERT INTO users (id, email, email_key) VALUES (gen_random_uuid(), 'EVA2@x.test', 'éva@x.test')`).Error
	if !database.IsUniqueViolation(err, "users_email_key") {
		t.Errorf("a third user with the key: %v, want a violation of users_email_key", err)
	}
	if _, err := database.Migrate(ctx, db); err != nil {
		t.Fatalf("the rest of the migrations after 00090: %v", err)
	}
}

func ptr(s string) *string { return &s }

func deref(s *string) string {
	if s == nil {
		return "NULL"
	}
	return *s
}
