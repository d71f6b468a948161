// Package database opens the PostgreSQL connection pool, applies the embedded
// migrations and carries transactions in the context so that every store call
// made inside a service transaction joins it.
package database

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// DB is the shared connection pool.
type DB struct {
	gorm *gorm.DB
	sql  *sql.DB
}

// DefaultMaxOpenConns is the pool's size unless Options says.
const DefaultMaxOpenConns = 20

// Options tunes the pool; zero values take the defaults.
type Options struct {
	MaxOpenConns int
	// RuntimeParams are session settings every connection of the pool
	// starts with (sent at connect, like the URL's options), for a pool
	// kept apart for one kind of work: the audit trail's batch writer
	// commits asynchronously (synchronous_commit=off).
	RuntimeParams map[string]string
}

// Open prepares the pool for dsn (a postgres:// URL or a keyword/value
// string). It does not fail when the database is down: the pool connects
// lazily, and a connection lost later is replaced on a later request, so a
// running service answers 503 during an outage and recovers by itself.
func Open(dsn string, opts Options) (*DB, error) {
	dialector, err := dialect(withConnectTimeout(dsn, defaultConnectTimeout), opts.RuntimeParams)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	g, err := gorm.Open(dialector, &gorm.Config{
		TranslateError:         false, // keep *pgconn.PgError so constraint names survive
		SkipDefaultTransaction: true,
		DisableAutomaticPing:   true, // Open must not need the database up: see above
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
		maxOpen = DefaultMaxOpenConns
	}
	s.SetMaxOpenConns(maxOpen)
	s.SetMaxIdleConns(maxOpen)
	s.SetConnMaxLifetime(30 * time.Minute)
	s.SetConnMaxIdleTime(5 * time.Minute)
	return &DB{gorm: g, sql: s}, nil
}

// dialect is GORM's Postgres driver for dsn; with params, on a pool whose
// connections start with those session settings.
func dialect(dsn string, params map[string]string) (gorm.Dialector, error) {
	if len(params) == 0 {
		return postgres.New(postgres.Config{DSN: dsn}), nil
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	maps.Copy(cfg.RuntimeParams, params)
	return postgres.New(postgres.Config{Conn: stdlib.OpenDB(*cfg)}), nil
}

// defaultConnectTimeout bounds each new connection when the URL sets none:
// a database host that drops packets (instead of refusing them) must turn
// requests into prompt 503s, not hold them until the client gives up.
const defaultConnectTimeout = 5 * time.Second

// withConnectTimeout adds connect_timeout to a URL or keyword/value
// connection string that lacks one.
func withConnectTimeout(dsn string, d time.Duration) string {
	secs := strconv.Itoa(int(d.Seconds()))
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return dsn // the driver reports the malformed URL
		}
		q := u.Query()
		if q.Get("connect_timeout") != "" {
			return dsn
		}
		q.Set("connect_timeout", secs)
		u.RawQuery = q.Encode()
		return u.String()
	}
	if strings.Contains(dsn, "connect_timeout=") {
		return dsn
	}
	return strings.TrimSpace(dsn+" connect_timeout=") + secs
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

// txAttempts bounds how often InTx runs a transaction that Postgres aborted
// as a deadlock victim or a serialization failure.
const txAttempts = 3

// InTx runs fn in one transaction. A nested call joins the outer
// transaction, so a service can compose other services' steps atomically.
//
// When Postgres aborts the transaction to break a deadlock (40P01) or a
// serialization conflict (40001), nothing of it was committed, so InTx runs
// fn again from the start, up to txAttempts times: the caller sees the
// outcome of a clean retry instead of an error that is nobody's fault. fn
// must therefore keep its effects inside the transaction (every service's
// does; side effects such as cache notifications happen after InTx returns).
func (d *DB) InTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(*gorm.DB); ok {
		return fn(ctx)
	}
	var err error
	for attempt := 1; attempt <= txAttempts; attempt++ {
		err = d.gorm.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return fn(context.WithValue(ctx, txKey{}, tx))
		})
		if !IsContention(err) || attempt == txAttempts {
			break
		}
		// A short, growing, jittered pause lets the winner commit first.
		pause := time.Duration(attempt) * time.Duration(1+rand.IntN(10)) * time.Millisecond
		select {
		case <-ctx.Done():
			return err
		case <-time.After(pause):
		}
	}
	return err
}
