package connections

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/audit"
	"github.com/oauthd/oauthd/internal/keyring"
	"github.com/oauthd/oauthd/internal/listing"
	"github.com/oauthd/oauthd/internal/testdb"
)

// Like hydra's persister_nid_test: with a ready connection in tenant A,
// every store call and every service call made with tenant B's id finds
// nothing, changes nothing and deletes nothing.
func TestStoreConnectionsAreScopedByTenant(t *testing.T) {
	db := testdb.Open(t)
	ctx := context.Background()
	a, b := uuid.New(), uuid.New()
	for i, id := range []uuid.UUID{a, b} {
		if err := db.Conn(ctx).Exec("INSERT INTO tenants (id, name) VALUES (?, ?)", id, []string{"a", "b"}[i]).Error; err != nil {
			t.Fatal(err)
		}
	}
	kr, err := keyring.New(bytes.Repeat([]byte{9}, keyring.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	store := NewStore(db)
	// The calls below stop at the store, so the service needs neither
	// components nor OAuth clients.
	svc := NewService(db, store, nil, nil, kr, audit.NewLog(db), Options{Issuer: "https://oauthd.test"})

	component := uuid.New()
	now := time.Now().UTC().Truncate(time.Microsecond)
	expires := now.Add(time.Hour)
	c := &Connection{TenantID: a, ID: uuid.New(), Name: "acme-sf", ComponentID: component, State: StateReady, Scopes: []string{"read"},
		CreatedAt: now, UpdatedAt: now, ExpiresAt: &expires}
	svc.storeTokens(c, &tokenResult{access: "access-token-of-a", refresh: "refresh-token-of-a", tokenType: "Bearer", expiresAt: &expires})
	if err := store.create(ctx, c); err != nil {
		t.Fatal(err)
	}
	before, err := store.get(ctx, a, c.ID, false)
	if err != nil {
		t.Fatal(err)
	}

	notFound := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("%s from B: %v, want not found", what, err)
		}
	}
	_, err = store.get(ctx, b, c.ID, false)
	notFound("store.get", err)
	_, err = store.get(ctx, b, c.ID, true)
	notFound("store.get for update", err)
	_, err = store.tokenRow(ctx, b, c.ID)
	notFound("store.tokenRow", err)
	for _, f := range []Filter{{}, {ComponentID: &component}, {State: StateReady}} {
		page, err := store.list(ctx, b, f, listing.Default())
		if err != nil || page.Total != 0 || len(page.Items) != 0 {
			t.Errorf("store.list from B with %+v: %d items, total %d, err %v", f, len(page.Items), page.Total, err)
		}
	}
	if got, err := store.forComponent(ctx, b, component); err != nil || len(got) != 0 {
		t.Errorf("store.forComponent from B: %d connections, err %v", len(got), err)
	}
	hijack := *before
	hijack.TenantID, hijack.Name, hijack.State = b, "hijacked", StateError
	notFound("store.save", store.save(ctx, &hijack))
	notFound("store.delete", store.delete(ctx, b, c.ID))

	_, err = svc.Get(ctx, b, c.ID)
	notFound("Get", err)
	_, err = svc.AccessToken(ctx, b, c.ID)
	notFound("AccessToken", err)
	_, err = svc.Refresh(ctx, b, c.ID)
	notFound("Refresh", err)
	_, err = svc.Reconnect(ctx, b, c.ID)
	notFound("Reconnect", err)
	notFound("Delete", svc.Delete(ctx, b, c.ID))
	if err := svc.OAuthClientReleased(ctx, b, component); err != nil {
		t.Errorf("OAuthClientReleased in B: %v", err)
	}

	after, err := store.get(ctx, a, c.ID, false)
	if err != nil {
		t.Fatalf("A's connection is gone: %v", err)
	}
	if after.Name != before.Name || after.State != before.State || !after.UpdatedAt.Equal(before.UpdatedAt) ||
		!bytes.Equal(after.AccessToken, before.AccessToken) || !bytes.Equal(after.RefreshToken, before.RefreshToken) {
		t.Errorf("A's connection changed: before %+v, after %+v", before, after)
	}
	tok, err := svc.AccessToken(ctx, a, c.ID)
	if err != nil || tok.AccessToken != "access-token-of-a" {
		t.Errorf("A's own token: %v %v", tok, err)
	}
	var events int64
	if err := db.Conn(ctx).Raw("SELECT count(*) FROM audit_events WHERE tenant_id = ?", b).Scan(&events).Error; err != nil || events != 0 {
		t.Errorf("%d audit events in B (err %v)", events, err)
	}
}
