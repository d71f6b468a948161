package testdb

import (
	"context"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/oauthd/oauthd/internal/database"
)

// Plans runs fn and returns the EXPLAIN of every SELECT that fn sent
// through db, with the arguments it sent: the plans of the queries a store
// really builds, not of a copy written in the test.
func Plans(t testing.TB, db *database.DB, fn func()) []string {
	t.Helper()
	type query struct {
		sql  string
		vars []any
	}
	var (
		mu      sync.Mutex
		queries []query
	)
	callbacks := db.Conn(context.Background()).Callback().Query()
	name := "testdb:plans:" + randomHex(4)
	err := callbacks.After("gorm:query").Register(name, func(tx *gorm.DB) {
		mu.Lock()
		defer mu.Unlock()
		if strings.HasPrefix(strings.TrimSpace(strings.ToUpper(tx.Statement.SQL.String())), "SELECT") {
			queries = append(queries, query{tx.Statement.SQL.String(), append([]any(nil), tx.Statement.Vars...)})
		}
	})
	if err != nil {
		t.Fatalf("register query capture: %v", err)
	}
	fn()
	if err := callbacks.Remove(name); err != nil {
		t.Fatalf("remove query capture: %v", err)
	}
	mu.Lock()
	captured := queries
	mu.Unlock()
	var plans []string
	for _, q := range captured {
		var lines []string
		if err := db.Conn(context.Background()).Raw("EXPLAIN "+q.sql, q.vars...).Scan(&lines).Error; err != nil {
			t.Fatalf("EXPLAIN %s: %v", q.sql, err)
		}
		plans = append(plans, q.sql+"\n"+strings.Join(lines, "\n"))
	}
	return plans
}
