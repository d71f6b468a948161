package apiclients_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/oauthd/oauthd/api/apitest"
	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/audit"
	"github.com/oauthd/oauthd/internal/changes"
	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/testdb"
	"github.com/oauthd/oauthd/policy"
)

// cachingInstance is one oauthd instance's API-client service with its
// credentials cache and change listener, on a shared database.
func cachingInstance(t *testing.T, url string) (*apiclients.Service, *database.DB) {
	t.Helper()
	return instance(t, url, true)
}

// instance is cachingInstance, listening for other instances' changes or
// (listen false) seeing only its own.
func instance(t *testing.T, url string, listen bool) (*apiclients.Service, *database.DB) {
	t.Helper()
	db, err := database.Open(url, database.Options{MaxOpenConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	enforcer, err := policy.NewEnforcer(db)
	if err != nil {
		t.Fatal(err)
	}
	feed := changes.NewFeed()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if listen {
		go changes.Listen(ctx, url, slog.New(slog.DiscardHandler), feed.Handlers())
	}
	return apiclients.NewService(db, apiclients.NewStore(db), enforcer, audit.NewLog(db),
		apiclients.Options{Bounds: testBounds, Changes: feed}), db
}

// eventually waits up to a second, the bound docs/DESIGN.md sets for a
// change to reach every instance, for ok to hold.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	apitest.Eventually(t, time.Second, func() error {
		if !ok() {
			return errors.New(what)
		}
		return nil
	})
}

// Cached credentials never outlive a change: a deleted secret fails at once
// on the instance that deleted it and within a second on another one; a new
// secret works at once.
func TestCredentialsCacheFollowsChanges(t *testing.T) {
	url := testdb.New(t)
	a, db := cachingInstance(t, url)
	b, _ := cachingInstance(t, url)
	ctx := context.Background()
	tenant := uuid.New()
	if err := db.Conn(ctx).Exec("INSERT INTO tenants (id, name) VALUES (?, 't')", tenant).Error; err != nil {
		t.Fatal(err)
	}
	c, secret, err := a.Create(ctx, tenant, nil, apiclients.NewClient{Name: "bot", ClientType: apiclients.TypeConfidential,
		GrantTypes: []string{apiclients.GrantClientCredentials}, Roles: []string{"viewer"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	works := func(s *apiclients.Service, secret string) bool {
		_, err := s.Authenticate(ctx, c.ClientID, secret)
		if err != nil && !errors.Is(err, apiclients.ErrInvalidClient) {
			t.Fatal(err)
		}
		return err == nil
	}
	// Both instances now hold the credentials in their caches.
	if !works(a, secret) || !works(b, secret) || !works(a, secret) || !works(b, secret) {
		t.Fatal("the secret does not authenticate")
	}

	// A second secret works at once on both (it is a change like any other).
	_, second, err := a.CreateSecret(ctx, tenant, c.ID, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !works(a, second) {
		t.Error("new secret refused on the instance that made it")
	}
	eventually(t, "new secret on the other instance", func() bool { return works(b, second) })

	// Deleting the first secret: refused at once here, within 1 s there.
	secrets, err := a.Secrets(ctx, tenant, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var first uuid.UUID
	for _, s := range secrets {
		if s.Hint == secret[len(secret)-4:] {
			first = s.ID
		}
	}
	if err := a.DeleteSecret(ctx, tenant, c.ID, first, nil); err != nil {
		t.Fatal(err)
	}
	if works(a, secret) {
		t.Error("deleted secret still works on the instance that deleted it")
	}
	eventually(t, "deleted secret refused on the other instance", func() bool { return !works(b, secret) })
}

// A cold start: 32 concurrent first token requests of one client whose
// secret is a bcrypt hash (stored before digests) cost one load of its
// credentials and one bcrypt comparison, not 32 of each; after a change
// empties the cache, the next burst costs one reload and no bcrypt.
func TestConcurrentFirstUsesShareOneCheck(t *testing.T) {
	// The instance sees its own changes only, so that no notification of
	// the set-up's writes lands in the middle of a burst.
	a, db := instance(t, testdb.New(t), false)
	ctx := context.Background()
	tenant := uuid.New()
	if err := db.Conn(ctx).Exec("INSERT INTO tenants (id, name) VALUES (?, 't')", tenant).Error; err != nil {
		t.Fatal(err)
	}
	newClient := func() (*apiclients.Client, string) {
		c, secret, err := a.Create(ctx, tenant, nil, apiclients.NewClient{Name: "bot", ClientType: apiclients.TypeConfidential,
			GrantTypes: []string{apiclients.GrantClientCredentials}, Roles: []string{"viewer"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c, secret
	}
	c, secret := newClient()
	h, err := bcrypt.GenerateFromPassword([]byte(secret), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Conn(ctx).Exec(`UPDATE api_client_secrets SET hash = ? WHERE client_pk = ?`, string(h), c.ID).Error; err != nil {
		t.Fatal(err)
	}
	loads := func() uint64 { return a.Caches()["api_client_credentials"].Loads() }
	checks := func() uint64 { return a.Caches()["verified_client_secrets"].Loads() }
	burst := func() {
		t.Helper()
		var wg sync.WaitGroup
		errs := make(chan error, 32)
		start := make(chan struct{})
		for range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if _, err := a.Authenticate(ctx, c.ClientID, secret); err != nil {
					errs <- err
				}
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("authenticate: %v", err)
		}
	}
	// A change made here empties this instance's cache at once.
	newClient()
	loadsBefore, checksBefore := loads(), checks()
	burst()
	if n := checks() - checksBefore; n != 1 {
		t.Errorf("32 concurrent first uses made %d bcrypt comparisons, want 1", n)
	}
	if n := loads() - loadsBefore; n != 1 {
		t.Errorf("32 concurrent first uses loaded the credentials %d times, want 1", n)
	}

	newClient() // a change: the cached credentials are dropped
	loadsBefore, checksBefore = loads(), checks()
	burst()
	if n := loads() - loadsBefore; n != 1 {
		t.Errorf("32 concurrent uses after a change loaded the credentials %d times, want 1", n)
	}
	if n := checks() - checksBefore; n != 0 {
		t.Errorf("the verified secret was checked again with bcrypt %d times", n)
	}
}
