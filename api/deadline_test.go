package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/oauthd/oauthd/api/apitest"
)

// Every request's database work runs under a deadline: with the rows it
// needs held by another transaction (as a frozen or unreachable Postgres
// would hold it), the request ends in 503 database_unavailable with
// Retry-After instead of waiting, and it works again once they are free.
func TestDatabaseDeadline(t *testing.T) {
	e := apitest.New(t, apitest.WithDBTimeout(500*time.Millisecond))
	tid := newTenant(t, e)
	path := tenantPath(tid, "")
	e.Get(path, &e.Super).ExpectStatus(t, http.StatusOK)

	// Another connection takes the tenants table and keeps it.
	ctx := context.Background()
	conn, err := e.App.DB.SQL().Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "LOCK TABLE tenants IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	// The client gives up after 20 s, so a request that would hang fails
	// the test instead of hanging it.
	done := make(chan *apitest.Response, 1)
	go func() { done <- e.Get(path, &e.Super) }()
	var r *apitest.Response
	select {
	case r = <-done:
	case <-time.After(20 * time.Second):
		_ = tx.Rollback()
		t.Fatal("the request waited for the database for 20 s")
	}
	expectError(t, r, http.StatusServiceUnavailable, "database_unavailable", "")
	if r.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	e.Get(path, &e.Super).ExpectStatus(t, http.StatusOK)
}
