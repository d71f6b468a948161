// Package database opens the PostgreSQL connection pool, applies the embedded
// migrations and carries transactions in the context so that every store call
// made inside a service transaction joins it.
package database

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// DB is the shared connection pool.
type DB struct {
	gorm *gorm.DB
	sql  *sql.DB
}

// Options tunes the pool; zero values take the defaults.
type Options struct {
	MaxOpenConns int
}

// Open connects to url. It does not fail when the database is down: the pool
// connects lazily, so the service starts and answers 503 until it is back.
func Open(url string, opts Options) (*DB, error) {
	g, err := gorm.Open(postgres.New(postgres.Config{DSN: url}), &gorm.Config{
		TranslateError:         false, // keep *pgconn.PgError so constraint names survive
		SkipDefaultTransaction: true,
		Logger:                 logger.Discard,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	s, err := g.DB()
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	maxOpen := opts.MaxOpenConns
	if maxOpen <= 0 {
		maxOpen = 20
	}
	s.SetMaxOpenConns(maxOpen)
	s.SetMaxIdleConns(maxOpen)
	s.SetConnMaxLifetime(30 * time.Minute)
	s.SetConnMaxIdleTime(5 * time.Minute)
	return &DB{gorm: g, sql: s}, nil
}

// SQL is the underlying database/sql pool (for migrations and health checks).
func (d *DB) SQL() *sql.DB { return d.sql }

// Close closes the pool.
func (d *DB) Close() error { return d.sql.Close() }

// Ping checks that the database answers within ctx.
func (d *DB) Ping(ctx context.Context) error { return d.sql.PingContext(ctx) }

type txKey struct{}

// Conn returns the transaction carried by ctx, or the pool bound to ctx.
func (d *DB) Conn(ctx context.Context) *gorm.DB {
	if tx, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return tx
	}
	return d.gorm.WithContext(ctx)
}

// InTx runs fn in one transaction. A nested call joins the outer
// transaction, so a service can compose other services' steps atomically.
func (d *DB) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return fn(ctx)
	}
	return d.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return fn(context.WithValue(ctx, txKey{}, tx))
	})
}
