package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/oauthd/oauthd/authserver"
	"github.com/oauthd/oauthd/internal/app"
	"github.com/oauthd/oauthd/internal/budget"
	"github.com/oauthd/oauthd/internal/config"
	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/jobs"
	"github.com/oauthd/oauthd/internal/keyring"
)

func serve(ctx context.Context) error {
	cfg, err := config.Load("DATABASE_URL", "MASTER_KEY")
	if err != nil {
		return err
	}
	log := newLogger(cfg.Level())
	a, err := build(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer func() { _ = a.Close() }()
	return run(ctx, cfg, a, log, nil)
}

func build(ctx context.Context, cfg *config.Config, log *slog.Logger) (*app.App, error) {
	kr, err := cfg.Keyring()
	if err != nil {
		return nil, err
	}
	trusted, err := cfg.TrustedProxyNets()
	if err != nil {
		return nil, err
	}
	life := cfg.Lifetimes()
	budgets, err := redisBudgets(ctx, cfg.RedisURL)
	if err != nil {
		return nil, err
	}
	a, err := app.New(ctx, app.Options{DatabaseURL: cfg.DatabaseURL, MaxDBConns: cfg.MaxDBConns, Keyring: kr, Log: log, Budgets: budgets,
		DBTimeout: cfg.DBTimeout,
		Issuer:    issuerOf(cfg), Lifetimes: &life, Keys: authserver.KeyOptions{RotateEvery: cfg.SigningKeyRotation},
		TrustedProxies: trusted, OutboundAllowPrivate: cfg.OutboundAllowPrivate,
		Jobs: jobs.RunOptions{Concurrency: cfg.JobWorkers}, NoJobWorkers: cfg.JobWorkers == 0, AuditRetention: cfg.AuditRetention, UnusedAfter: cfg.UnusedAfter})
	if errors.Is(err, keyring.ErrUnknownKey) {
		return nil, fmt.Errorf("OAUTHD_MASTER_KEY cannot open what this database holds: it was sealed with another master key. "+
			"Set OAUTHD_MASTER_KEY to that key, or, after a rotation, keep the old key in OAUTHD_PREVIOUS_MASTER_KEYS (%w)", err)
	}
	if err != nil {
		return nil, err
	}
	if cfg.BootstrapSuperuser != "" {
		email, key, _ := cfg.Bootstrap()
		if _, err := a.Tenants.EnsureSuperuser(ctx, email, key); err != nil {
			_ = a.Close()
			return nil, fmt.Errorf("bootstrap superuser: %w", err)
		}
		log.Info("bootstrap superuser ensured", "email", email)
	}
	return a, nil
}

// listening are the addresses run serves on; Metrics is empty when the
// metrics listener is off.
type listening struct {
	API, Metrics string
}

// run serves the API, and the metrics on their own listener when
// OAUTHD_METRICS_LISTEN is set, until ctx ends; then it drains in-flight
// requests.
func run(ctx context.Context, cfg *config.Config, a *app.App, log *slog.Logger, ready func(listening)) error {
	watchCtx, stopWatch := context.WithCancel(context.Background())
	maintained := make(chan struct{})
	go func() { a.Maintain(watchCtx); close(maintained) }()
	// Background work stops after the requests have drained (a request may
	// still enqueue a job), and before the caller closes the database.
	defer func() { stopWatch(); <-maintained }()

	servers, err := listen(cfg, a, log)
	if err != nil {
		return err
	}
	errc := make(chan error, len(servers))
	var at listening
	for i, s := range servers {
		go func() { errc <- s.srv.Serve(s.ln) }()
		addr := s.ln.Addr().String()
		if i == 0 {
			at.API = addr
			log.Info("serving", "addr", addr)
		} else {
			at.Metrics = addr
			log.Info("serving metrics", "addr", addr, "path", "/metrics")
		}
	}
	if ready != nil {
		ready(at)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests", "grace_seconds", cfg.ShutdownGraceSeconds)
	shutdownCtx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.ShutdownGraceSeconds)*time.Second)
	defer cancel()
	for _, s := range servers {
		if err := s.srv.Shutdown(shutdownCtx); err != nil {
			return fmt.Errorf("shutdown: %w", err)
		}
	}
	for range servers {
		if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	}
	log.Info("stopped")
	return nil
}

// server is one listener and what it serves.
type server struct {
	ln  net.Listener
	srv *http.Server
}

// listen opens the API listener and, when configured, the metrics
// listener, which serves /metrics alone.
func listen(cfg *config.Config, a *app.App, log *slog.Logger) ([]server, error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen on %s (OAUTHD_LISTEN): %w", cfg.Listen, err)
	}
	servers := []server{{ln: ln, srv: httpServer(a.Server.Handler(), log)}}
	if cfg.MetricsListen == "" {
		return servers, nil
	}
	mln, err := net.Listen("tcp", cfg.MetricsListen)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("listen on %s (OAUTHD_METRICS_LISTEN): %w", cfg.MetricsListen, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", a.Metrics.Handler())
	return append(servers, server{ln: mln, srv: httpServer(mux, log)}), nil
}

func httpServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

func migrate(ctx context.Context) error {
	cfg, err := config.Load("DATABASE_URL")
	if err != nil {
		return err
	}
	db, err := database.Open(cfg.DatabaseURL, database.Options{MaxOpenConns: 2})
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	n, err := database.Migrate(ctx, db)
	if err != nil {
		return err
	}
	fmt.Printf("applied %d migrations\n", n)
	return nil
}

// issuerOf is OAUTHD_ISSUER, or the listen address as an http URL (fine on
// a developer's machine; a deployment behind TLS sets OAUTHD_ISSUER).
func issuerOf(cfg *config.Config) string {
	if cfg.Issuer != "" {
		return cfg.Issuer
	}
	return "http://" + cfg.Listen
}

// redisBudgets is the Redis store of failure budgets when OAUTHD_REDIS_URL
// is set (nil: they stay in Postgres); an unreachable Redis stops the
// start with an error naming the variable.
func redisBudgets(ctx context.Context, url string) (budget.Store, error) {
	if url == "" {
		return nil, nil
	}
	r, err := budget.NewRedis(url)
	if err != nil {
		return nil, err
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := r.Ping(pingCtx); err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("OAUTHD_REDIS_URL: cannot reach Redis: %w", err)
	}
	return r, nil
}
