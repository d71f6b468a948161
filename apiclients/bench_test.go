package apiclients_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/audit"
	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/testdb"
	"github.com/oauthd/oauthd/policy"
)

// BenchmarkAuthenticate is what the token endpoint pays per request to
// authenticate a confidential client (without a change feed, so without
// the credentials cache): one query for the client and its active
// secrets, and the secret's SHA-256 compared with the stored digest (no
// bcrypt). Compare BenchmarkBcrypt, what a secret stored before digests
// would cost per request without the verified-secret cache.
func BenchmarkAuthenticate(b *testing.B) {
	ctx := context.Background()
	db, err := database.Open(testdb.New(b), database.Options{MaxOpenConns: 8})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	if _, err := database.Migrate(ctx, db); err != nil {
		b.Fatal(err)
	}
	enforcer, err := policy.NewEnforcer(db)
	if err != nil {
		b.Fatal(err)
	}
	tenant := uuid.New()
	if err := db.Conn(ctx).Exec("INSERT INTO tenants (id, name) VALUES (?, 'bench')", tenant).Error; err != nil {
		b.Fatal(err)
	}
	svc := apiclients.NewService(db, apiclients.NewStore(db), enforcer, audit.NewLog(db),
		apiclients.Options{Bounds: testBounds})
	c, secret, err := svc.Create(ctx, tenant, nil, apiclients.NewClient{Name: "bench", ClientType: apiclients.TypeConfidential,
		GrantTypes: []string{apiclients.GrantClientCredentials}, Roles: []string{"viewer"}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, c.ClientID, secret); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := svc.Authenticate(ctx, c.ClientID, secret); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	if n := svc.Caches()["verified_client_secrets"].Loads(); n != 0 {
		b.Fatalf("%d bcrypt comparisons for a digest", n)
	}
}

// BenchmarkBcrypt is one comparison at the cost oauthd hashed secrets with
// before digests (10): what a token request with such a secret would cost
// in CPU without the verified-secret cache.
func BenchmarkBcrypt(b *testing.B) {
	secret := []byte("o2s_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG")
	hash, err := bcrypt.GenerateFromPassword(secret, 10)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if bcrypt.CompareHashAndPassword(hash, secret) != nil {
			b.Fatal("mismatch")
		}
	}
}
