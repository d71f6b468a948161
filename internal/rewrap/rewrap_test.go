package rewrap_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/keyring"
	"github.com/oauthd/oauthd/internal/rewrap"
	"github.com/oauthd/oauthd/internal/testdb"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, keyring.KeySize) }

func ring(t *testing.T, current []byte, previous ...[]byte) *keyring.Keyring {
	t.Helper()
	kr, err := keyring.New(current, previous...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// A table of its own: values sealed under an old key, under a key nobody
// has any more, and NULL; each bound to its row.
var target = rewrap.Target{Name: "things", Table: "things", Key: []string{"id"}, Fields: []string{"id"},
	Groups: []rewrap.Group{{KeyID: "key_id", Columns: []string{"a", "b"},
		AAD: func(f map[string]string, col string) []byte { return []byte(f["id"] + "/" + col) }}}}

func TestRunReseals(t *testing.T) {
	ctx := context.Background()
	db := testdb.Open(t)
	exec := func(q string, args ...any) {
		t.Helper()
		if err := db.Conn(ctx).Exec(q, args...).Error; err != nil {
			t.Fatal(err)
		}
	}
	exec("CREATE TABLE things (id integer PRIMARY KEY, key_id text, a bytea, b bytea)")
	old, lost, current := ring(t, key(1)), ring(t, key(9)), ring(t, key(2), key(1))
	for id := 1; id <= 25; id++ {
		kr := old
		if id%10 == 0 {
			kr = lost
		}
		a, kid := kr.Seal([]byte(fmt.Sprintf("a-%d", id)), []byte(fmt.Sprintf("%d/a", id)))
		var b []byte
		if id%3 != 0 {
			b, _ = kr.Seal([]byte(fmt.Sprintf("b-%d", id)), []byte(fmt.Sprintf("%d/b", id)))
		}
		exec("INSERT INTO things VALUES (?, ?, ?, ?)", id, kid, a, b)
	}
	exec("INSERT INTO things VALUES (26, NULL, NULL, NULL)")

	res, err := rewrap.Run(ctx, db, current, rewrap.Options{BatchSize: 4}, target)
	if err != nil {
		t.Fatal(err)
	}
	if r := res[0]; r.Resealed != 23 || r.Unopenable != 2 || r.Changed != 0 {
		t.Fatalf("result %+v, want 23 re-sealed and the 2 of the lost key counted", r)
	}
	check(t, ctx, db, current)
	if again, err := rewrap.Run(ctx, db, current, rewrap.Options{}, target); err != nil || again[0].Resealed != 0 || again[0].Unopenable != 2 {
		t.Errorf("a second run: %+v, %v", again, err)
	}
}

// check opens every row's values with only the current key, bound to the
// same row and column as before.
func check(t *testing.T, ctx context.Context, db *database.DB, kr *keyring.Keyring) {
	t.Helper()
	only := ring(t, key(2))
	rows, err := db.Conn(ctx).Raw("SELECT id, key_id, a, b FROM things WHERE key_id = ? ORDER BY id", kr.CurrentKeyID()).Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	n := 0
	for rows.Next() {
		var id int
		var kid string
		var a, b []byte
		if err := rows.Scan(&id, &kid, &a, &b); err != nil {
			t.Fatal(err)
		}
		n++
		if got, err := only.Open(a, kid, []byte(fmt.Sprintf("%d/a", id))); err != nil || string(got) != fmt.Sprintf("a-%d", id) {
			t.Errorf("row %d a: %q, %v", id, got, err)
		}
		if (b == nil) != (id%3 == 0) {
			t.Errorf("row %d b: NULL-ness changed", id)
		}
		if b != nil {
			if got, err := only.Open(b, kid, []byte(fmt.Sprintf("%d/b", id))); err != nil || string(got) != fmt.Sprintf("b-%d", id) {
				t.Errorf("row %d b: %q, %v", id, got, err)
			}
		}
	}
	if n != 23 {
		t.Errorf("%d rows under the current key, want 23", n)
	}
}
