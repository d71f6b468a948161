package database

import (
	"context"
	"fmt"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/oauthd/oauthd/migrations"
)

// migrationLockID is the advisory lock that serialises instances starting
// at the same time; any constant shared by all instances works.
const migrationLockID = 0x6f61757468640001

func provider(d *DB) (*goose.Provider, error) {
	// Instances starting together wait for the one migrating; goose's
	// default polls every 5 s, which makes every waiter start 5 s late.
	// Poll each second, for as long (5 min) in all.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLockID), lock.WithLockTimeout(1, 300))
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, d.sql, migrations.FS,
		goose.WithSessionLocker(locker), goose.WithGoMigrations(migrations.Go()...))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	return p, nil
}

// Migrate applies every pending migration under a Postgres advisory lock and
// returns how many ran.
func Migrate(ctx context.Context, d *DB) (int, error) {
	p, err := provider(d)
	if err != nil {
		return 0, err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return 0, fmt.Errorf("apply migrations: %w", err)
	}
	return len(results), nil
}

// MigrateTo applies the pending migrations up to and including version and
// returns how many ran; a test of one migration stops just before it.
func MigrateTo(ctx context.Context, d *DB, version int64) (int, error) {
	p, err := provider(d)
	if err != nil {
		return 0, err
	}
	results, err := p.UpTo(ctx, version)
	if err != nil {
		return 0, fmt.Errorf("apply migrations: %w", err)
	}
	return len(results), nil
}

// MigrationsCurrent reports whether the database has every embedded migration.
func MigrationsCurrent(ctx context.Context, d *DB) (bool, error) {
	p, err := provider(d)
	if err != nil {
		return false, err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return false, fmt.Errorf("migration status: %w", err)
	}
	return !pending, nil
}
