// Package app wires oauthd's parts together: the database, the keyring, the
// domain services and the HTTP server. The binary and the tests build the
// service the same way through it.
package app

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/oauthd/oauthd/internal/metrics"

	"github.com/oauthd/oauthd/api"
	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/audit"
	"github.com/oauthd/oauthd/authserver"
	"github.com/oauthd/oauthd/components"
	"github.com/oauthd/oauthd/connections"
	"github.com/oauthd/oauthd/internal/budget"
	"github.com/oauthd/oauthd/internal/changes"
	"github.com/oauthd/oauthd/internal/database"
	"github.com/oauthd/oauthd/internal/jobs"
	"github.com/oauthd/oauthd/internal/keyring"
	"github.com/oauthd/oauthd/internal/outbound"
	"github.com/oauthd/oauthd/internal/purge"
	"github.com/oauthd/oauthd/internal/rewrap"
	"github.com/oauthd/oauthd/oauthclients"
	"github.com/oauthd/oauthd/policy"
	"github.com/oauthd/oauthd/tenants"
	"github.com/oauthd/oauthd/webhooks"
)

// Options are what the wiring needs.
type Options struct {
	DatabaseURL string
	MaxDBConns  int
	Keyring     *keyring.Keyring
	Log         *slog.Logger
	// BcryptCost is bcrypt's work factor for users' passwords; 0 keeps
	// the production default. Test environments set bcrypt.MinCost. (API
	// client secrets and API keys, 256 random bits each, are stored as
	// SHA-256 digests: no work factor.)
	BcryptCost int
	// Metrics receives every series; nil makes a fresh registry.
	Metrics *metrics.Metrics
	// Issuer is the authorization server's URL (iss of every token).
	Issuer    string
	Lifetimes *authserver.Lifetimes // nil: the design's defaults
	Keys      authserver.KeyOptions
	// TrustedProxies: requests from these networks take their client
	// address from X-Forwarded-For (OAUTHD_TRUSTED_PROXIES).
	TrustedProxies []*net.IPNet
	// DBTimeout bounds each request's database work (OAUTHD_DB_TIMEOUT;
	// 0: none).
	DBTimeout time.Duration
	// Budgets keeps the failure budgets (nil: Postgres, in the service's
	// own database; a Redis store when OAUTHD_REDIS_URL is set).
	Budgets budget.Store
	// Clock is the background jobs' time (nil: the system clock), and the
	// time the Postgres failure budgets refill by (nil: the database's);
	// tests move it instead of sleeping.
	Clock jobs.Clock
	// Jobs tunes this instance's job workers; NoJobWorkers makes an
	// instance that runs none (OAUTHD_JOB_WORKERS=0: API-only instances
	// beside worker instances).
	Jobs         jobs.RunOptions
	NoJobWorkers bool
	// OutboundAllowPrivate lifts the outbound client's address rule
	// (OAUTHD_OUTBOUND_ALLOW_PRIVATE).
	OutboundAllowPrivate bool
	// ProviderTimeout bounds one call to a provider (0: 15 s).
	ProviderTimeout time.Duration
	// AuditRetention is how long audit events are kept (0: for ever;
	// OAUTHD_AUDIT_RETENTION).
	AuditRetention time.Duration
	// OutboundLookup resolves host names when URLs are checked (nil: the
	// system resolver); tests name hosts that resolve where they choose.
	OutboundLookup outbound.Lookup
	// Webhooks tunes deliveries (zero: the defaults).
	Webhooks webhooks.DispatcherOptions
	// UnusedAfter is how long an API client may go without a token before
	// api_client.unused (OAUTHD_UNUSED_AFTER; zero: 90 days).
	UnusedAfter time.Duration
	// AuditReads tunes the batch writer of the audit events of reads
	// (zero: its defaults); its Log and Registry are the app's.
	AuditReads audit.BatchOptions
}

// App is a wired oauthd.
type App struct {
	DB     *database.DB
	Policy *policy.Enforcer
	Audit  *audit.Log
	// AuditReads records reads that change nothing (connections' access
	// tokens) in batches, on a connection of its own (auditWriter) that
	// commits asynchronously; Close writes what it holds.
	AuditReads   *audit.Batcher
	auditWriter  *database.DB
	Tenants      *tenants.Service
	Components   *components.Service
	OAuthClients *oauthclients.Service
	APIClients   *apiclients.Service
	Connections  *connections.Service
	Keys         *authserver.Keys
	Grants       *authserver.Grants
	Issuer       string
	Server       *api.Server
	Metrics      *metrics.Metrics // served on the metrics listener
	// Jobs is the durable queue every instance's workers share.
	Jobs        *jobs.Queue
	jobsOptions jobs.RunOptions
	// budgets is the Postgres store of failure budgets, when it is the
	// one in use: it hears of every instance's reservations.
	budgets   *budget.Watched
	noWorkers bool
	// Outbound is the client for every call to the outside world, and
	// OutboundURLs validates the URLs it will be aimed at.
	Outbound     *http.Client
	OutboundURLs outbound.URLChecker
	// Webhooks manages subscriptions; Events publishes events that are not
	// audit events (every audit event is published by the database).
	Webhooks    *webhooks.Service
	Events      *webhooks.Outbox
	databaseURL string
	log         *slog.Logger
	changes     *changes.Feed // empties this instance's caches on changes
	keyring     *keyring.Keyring
}

// New opens the database, applies migrations and builds every service.
func New(ctx context.Context, o Options) (*App, error) {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	db, err := database.Open(o.DatabaseURL, database.Options{MaxOpenConns: o.MaxDBConns})
	if err != nil {
		return nil, err
	}
	if _, err := database.Migrate(ctx, db); err != nil {
		_ = db.Close()
		return nil, err
	}
	enforcer, err := policy.NewEnforcer(db)
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if o.Metrics == nil {
		o.Metrics = metrics.New()
	}
	a := &App{DB: db, Policy: enforcer, Audit: audit.NewLog(db), databaseURL: o.DatabaseURL, log: o.Log, jobsOptions: o.Jobs, noWorkers: o.NoJobWorkers, Metrics: o.Metrics, keyring: o.Keyring}
	// One more connection per instance, for the audit batch writer.
	a.auditWriter, err = database.Open(o.DatabaseURL, database.Options{MaxOpenConns: 1,
		RuntimeParams: map[string]string{"synchronous_commit": "off"}})
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	o.AuditReads.Log, o.AuditReads.Registry = o.Log, o.Metrics.Registry
	a.AuditReads = audit.NewBatcher(a.auditWriter.SQL(), db.SQL(), o.AuditReads)
	a.Jobs = jobs.New(db, jobs.Options{Clock: o.Clock, Log: o.Log, Registry: o.Metrics.Registry})
	a.Outbound = outbound.NewClient(outbound.Options{AllowPrivate: o.OutboundAllowPrivate})
	a.OutboundURLs = outbound.URLChecker{AllowPrivate: o.OutboundAllowPrivate, Lookup: o.OutboundLookup}
	hooks := webhooks.NewStore(db)
	webhooks.NewDispatcher(db, hooks, a.Audit, o.Keyring, a.Outbound, a.Jobs, o.Webhooks)
	a.Events = webhooks.NewOutbox(a.Jobs)
	a.Webhooks = webhooks.NewService(db, hooks, a.Audit, o.Keyring, a.OutboundURLs, a.Jobs.Clock())
	a.changes = changes.NewFeed()
	// Memberships decide whether a user's token is still good, and keys,
	// users and memberships whether a basic-auth caller is: a change must
	// reach this instance's caches at once, not with the NOTIFY.
	a.Tenants = tenants.NewService(db, tenants.NewStore(db), enforcer, a.Audit,
		tenants.Options{PasswordCost: o.BcryptCost, Log: o.Log, Changes: a.changes})
	a.Components = components.NewService(db, components.NewStore(db), a.Audit)
	a.OAuthClients = oauthclients.NewService(db, oauthclients.NewStore(db), componentsForClients{a.Components}, o.Keyring, a.Audit)
	a.Issuer = strings.TrimSuffix(o.Issuer, "/")
	a.Connections = connections.NewService(db, connections.NewStore(db), a.Components, a.OAuthClients, o.Keyring, a.Audit,
		connections.Options{Issuer: a.Issuer, HTTPClient: a.Outbound, ProviderTimeout: o.ProviderTimeout, Reads: a.AuditReads,
			// Provider calls hold a database connection each: they may
			// take half the pool, never all of it.
			MaxProviderCalls: max(1, cmp.Or(o.MaxDBConns, database.DefaultMaxOpenConns)/2), Registry: o.Metrics.Registry})
	// A deleted or moved OAuth client leaves its connections in state error.
	a.OAuthClients.SetDependents(a.Connections)
	a.Connections.RegisterJobs(a.Jobs)
	clientOpts := apiClientOptions(a.changes)
	clientOpts.FingerprintKey = o.Keyring.DeriveKey("api-client-secret-fingerprints")
	clientOpts.UnusedAfter = o.UnusedAfter
	clientOpts.Now = a.Jobs.Clock().Now
	a.APIClients = apiclients.NewService(db, apiclients.NewStore(db), enforcer, a.Audit, clientOpts)
	// Expiry warnings and unused clients are looked for every quarter hour,
	// once across all instances.
	a.Jobs.Register(jobs.Handler{Kind: "api_clients.lifecycle_events", MaxAttempts: 3, Timeout: 5 * time.Minute,
		Run: func(ctx context.Context, _ *jobs.Job) error { return a.APIClients.NotifyLifecycle(ctx) }})
	a.Jobs.Every(jobs.Schedule{Name: "api_clients.lifecycle_events", Kind: "api_clients.lifecycle_events", Every: 15 * time.Minute})
	life := authserver.DefaultLifetimes()
	if o.Lifetimes != nil {
		life = *o.Lifetimes
	}
	if o.Keys.Overlap == 0 {
		// A retired key stays published while any token it signed may
		// live: the longest lifetime, the deployment's or a client's own.
		o.Keys.Overlap = max(life.AccessTTL, life.AccessTTLWithRefresh, clientOpts.Bounds.MaxAccessTTL) + time.Minute
	}
	a.Keys = authserver.NewKeys(db, o.Keyring, o.Keys)
	if err := a.Keys.Ensure(ctx); err != nil {
		_ = a.Close()
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	a.Grants = authserver.NewGrants(db, a.Keys, enforcer, a.Issuer, life).WithChanges(a.changes).WithAudit(a.Audit)
	if o.Budgets == nil {
		store := budget.NewPostgres(db.SQL())
		if o.Clock != nil { // a test's clock: buckets refill only as it moves
			store.WithClock(o.Clock.Now)
		}
		a.budgets = budget.NewWatched(store)
		o.Budgets = a.budgets
	}
	a.Server = api.New(api.Deps{
		DB: db, Tenants: a.Tenants, Policy: enforcer, Audit: a.Audit, Components: a.Components,
		OAuthClients: a.OAuthClients, APIClients: a.APIClients, Connections: a.Connections, Webhooks: a.Webhooks, Log: o.Log, Metrics: o.Metrics,
		Keys: a.Keys, Grants: a.Grants, Issuer: a.Issuer, SessionKey: o.Keyring.DeriveKey("sessions"),
		TrustedProxies: o.TrustedProxies, Budgets: o.Budgets, DBTimeout: o.DBTimeout,
	})
	a.registerPurges(o.AuditRetention)
	a.Metrics.WatchDB(db.SQL())
	caches := a.APIClients.Caches()
	maps.Copy(caches, a.Grants.Caches())
	maps.Copy(caches, a.Keys.Caches())
	maps.Copy(caches, a.Connections.Caches())
	maps.Copy(caches, a.Tenants.Caches())
	a.Metrics.WatchCaches(caches)
	return a, nil
}

// Maintain runs this instance's background work until ctx ends: keeping the
// permission policy in step with other instances, reloading and rotating
// signing keys, and the job workers (which also run the housekeeping
// purges, each on one instance at a time). It
// returns once the workers have stopped (running jobs finish or are put
// back), so the caller may close the database after it.
func (a *App) Maintain(ctx context.Context) {
	go a.Keys.Run(ctx, a.log)
	go a.Policy.Poll(ctx, a.log)
	workersDone := make(chan struct{})
	go func() {
		defer close(workersDone)
		if !a.noWorkers {
			a.Jobs.Run(ctx, a.jobsOptions)
		}
	}()
	// One connection listens for the policy's, the caches', the queue's and the keys' news.
	handlers := a.Policy.Handlers(a.log)
	maps.Copy(handlers, a.changes.Handlers())
	maps.Copy(handlers, a.Jobs.Handlers())
	maps.Copy(handlers, a.Keys.Handlers(a.log))
	if a.budgets != nil {
		maps.Copy(handlers, a.budgets.Handlers())
	}
	changes.Listen(ctx, a.databaseURL, a.log, handlers)
	<-workersDone
}

// registerPurges makes the housekeeping periodic jobs: each domain's
// expired rows, deleted in batches on one instance at a time.
func (a *App) registerPurges(auditRetention time.Duration) {
	targets := append(authserver.PurgeTargets(), policy.PurgeTarget(), budget.PurgeTarget(), tenants.SessionsPurgeTarget())
	if t, ok := audit.PurgeTarget(auditRetention); ok {
		targets = append(targets, t)
	}
	purge.Register(a.Jobs, a.DB, a.Metrics.Registry, targets...)
}

// Rewrap re-seals every stored secret sealed with a previous master key
// under the current one (oauthd admin rewrap): OAuth client secrets,
// connection tokens, webhook signing secrets and the signing keys' private
// halves. Every instance must already run with the current key (and the
// previous ones among OAUTHD_PREVIOUS_MASTER_KEYS) so that each can open
// both what is rewrapped and what is not yet.
func (a *App) Rewrap(ctx context.Context, o rewrap.Options) ([]rewrap.Result, error) {
	return rewrap.Run(ctx, a.DB, a.keyring, o, oauthclients.RewrapTarget(), connections.RewrapTarget(),
		webhooks.RewrapTarget(), authserver.RewrapTarget())
}

// auditFlushTimeout bounds how long Close waits for the audit batch
// writer to write what it holds (each event left over is logged).
const auditFlushTimeout = 10 * time.Second

// Close writes the audit events of reads still queued, then releases the
// database pools. Call it after the requests have drained.
func (a *App) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), auditFlushTimeout)
	defer cancel()
	err := a.AuditReads.Close(ctx)
	return errors.Join(err, a.auditWriter.Close(), a.DB.Close())
}

// componentsForClients adapts the components service to what the OAuth
// clients service asks of it, so neither domain imports the other.
type componentsForClients struct{ s *components.Service }

func (c componentsForClients) LockVisible(ctx context.Context, tenantID, id uuid.UUID) (*oauthclients.Component, error) {
	comp, err := c.s.LockVisible(ctx, tenantID, id)
	if errors.Is(err, components.ErrComponentNotFound) {
		return nil, oauthclients.ErrNoComponent
	}
	if err != nil {
		return nil, fmt.Errorf("lock component: %w", err)
	}
	return &oauthclients.Component{TenantID: comp.TenantID, ID: comp.ID, Name: comp.Name, UseOAuthClient: comp.UseOAuthClient}, nil
}

func (c componentsForClients) FlowsUsing(ctx context.Context, tenantID, componentID uuid.UUID) ([]oauthclients.FlowRef, error) {
	refs, err := c.s.FlowsUsing(ctx, tenantID, componentID)
	if err != nil {
		return nil, err
	}
	out := make([]oauthclients.FlowRef, len(refs))
	for i, r := range refs {
		out[i] = oauthclients.FlowRef{ID: r.ID, Name: r.Name}
	}
	return out, nil
}

// apiClientOptions are the deployment's rules for API clients: bounds for
// per-client token lifetimes, and the feed that empties this instance's
// credentials cache on changes.
func apiClientOptions(feed *changes.Feed) apiclients.Options {
	return apiclients.Options{
		Bounds: apiclients.Bounds{
			MinAccessTTL: time.Minute, MaxAccessTTL: 24 * time.Hour,
			MinRefreshTTL: time.Hour, MaxRefreshTTL: 90 * 24 * time.Hour,
		},
		Changes: feed,
	}
}
