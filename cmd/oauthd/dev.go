package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/oauthd/oauthd/apiclients"
	"github.com/oauthd/oauthd/components"
	"github.com/oauthd/oauthd/internal/app"
	"github.com/oauthd/oauthd/internal/config"
	"github.com/oauthd/oauthd/internal/credential"
	"github.com/oauthd/oauthd/internal/keyring"
	"github.com/oauthd/oauthd/internal/pgserver"
	"github.com/oauthd/oauthd/policy"
	"github.com/oauthd/oauthd/tenants"
)

// devDir holds everything `oauthd dev` keeps between runs.
const devDir = ".oauthd-dev"

// devMetricsListen is where dev serves /metrics unless
// OAUTHD_METRICS_LISTEN says otherwise (set it empty to turn them off):
// the port of OpenTelemetry's Prometheus exporter, on loopback only.
const devMetricsListen = "127.0.0.1:9464"

// devState is what dev generates once and reuses.
type devState struct {
	MasterKey string `json:"master_key"`
	Email     string `json:"email"`
	Password  string `json:"password"`
	APIKey    string `json:"api_key"`
	// A demo API client for Encore's client-credentials call.
	ClientID     string `json:"client_id,omitempty"`
	ClientSecret string `json:"client_secret,omitempty"`
}

func dev(ctx context.Context) error {
	cfg, err := config.Load()
	if err != nil {
		return err
	}
	log := newLogger(cfg.Level())
	if err := os.MkdirAll(devDir, 0o700); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		// The private Postgres then runs as an unprivileged user, which must
		// pass through this folder to its data (credentials.json stays 0600).
		if err := os.Chmod(devDir, 0o711); err != nil {
			return err
		}
	}
	state, err := loadDevState()
	if err != nil {
		return err
	}
	if cfg.MasterKey == "" {
		cfg.MasterKey = state.MasterKey
	}
	if cfg.DatabaseURL == "" {
		dataDir, _ := filepath.Abs(filepath.Join(devDir, "pg"))
		fmt.Println("starting a private PostgreSQL in", dataDir, "...")
		logFile, err := os.OpenFile(filepath.Join(devDir, "postgres.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		defer func() { _ = logFile.Close() }()
		pg, err := pgserver.Start(ctx, pgserver.Options{DataDir: dataDir, Log: logFile, Durable: true})
		if err != nil {
			return fmt.Errorf("private postgres: %w (or set OAUTHD_DATABASE_URL)", err)
		}
		defer func() { _ = pg.Stop() }()
		if err := ensureDatabase(ctx, pg.URL(), "oauthd"); err != nil {
			return err
		}
		cfg.DatabaseURL = pg.DatabaseURL("oauthd")
	}
	if _, set := os.LookupEnv("OAUTHD_METRICS_LISTEN"); !set {
		cfg.MetricsListen = devMetricsListen
	}
	if cfg.BootstrapSuperuser == "" {
		cfg.BootstrapSuperuser = state.Email + ":" + state.APIKey
	}
	// Webhook receivers and providers on this machine are the point of
	// development; an explicit OAUTHD_OUTBOUND_ALLOW_PRIVATE=false wins.
	if _, set := os.LookupEnv("OAUTHD_OUTBOUND_ALLOW_PRIVATE"); !set {
		cfg.OutboundAllowPrivate = true
	}
	a, err := build(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer func() { _ = a.Close() }()
	demo, err := seedDemo(ctx, a, state)
	if err != nil {
		return fmt.Errorf("seed demo data: %w", err)
	}
	return run(ctx, cfg, a, log, func(at listening) { printWelcome(at, state, demo) })
}

func loadDevState() (*devState, error) {
	path := filepath.Join(devDir, "credentials.json")
	raw, err := os.ReadFile(path)
	if err == nil {
		var s devState
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%s is damaged (delete it to start afresh): %w", path, err)
		}
		return &s, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	s := &devState{MasterKey: keyring.NewKey(), Email: "admin@oauthd.local", Password: credential.Random("", 12), APIKey: credential.Random("oak_", 32)}
	raw, _ = json.MarshalIndent(s, "", "  ")
	return s, os.WriteFile(path, raw, 0o600)
}

func ensureDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect to private postgres: %w", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return fmt.Errorf("create database %s: %w", name, err)
		}
	}
	return nil
}

type demoData struct {
	TenantID        string
	ComponentID     string
	SelfComponentID string
}

// seedDemo ensures the demo tenant, the superuser's password and owner
// membership, and a component that uses an OAuth client, so the printed curl
// line works at once. It is idempotent.
func seedDemo(ctx context.Context, a *app.App, s *devState) (*demoData, error) {
	u, err := a.Tenants.UserByEmail(ctx, s.Email)
	if err != nil {
		return nil, err
	}
	if !u.CheckPassword(s.Password) {
		if _, err := a.Tenants.UpdateUser(ctx, nil, u.ID, tenants.UserPatch{Password: &s.Password}); err != nil {
			return nil, err
		}
	}
	t, err := a.Tenants.TenantByName(ctx, "demo")
	if errors.Is(err, tenants.ErrTenantNotFound) {
		t, err = a.Tenants.CreateTenant(ctx, "demo")
	}
	if err != nil {
		return nil, err
	}
	if member, err := a.Tenants.IsMember(ctx, t.ID, u.ID); err != nil {
		return nil, err
	} else if !member {
		if _, err := a.Tenants.AddMember(ctx, t.ID, u.ID, policy.Grants{Roles: []string{"owner"}, Permissions: []string{}}, nil); err != nil {
			return nil, err
		}
	}
	page, err := a.Components.Components(ctx, t.ID, components.Filter{}, defaultPage())
	if err != nil {
		return nil, err
	}
	d := &demoData{TenantID: t.ID.String()}
	if d.SelfComponentID, err = seedSelfConnect(ctx, a, t.ID); err != nil {
		return nil, err
	}
	for _, c := range page.Items {
		if c.Name == "pizzavan" {
			d.ComponentID = c.ID.String()
			return d, seedDemoClient(ctx, a, t.ID, s)
		}
	}
	c, err := a.Components.CreateComponent(ctx, t.ID, true, components.NewComponent{Name: "pizzavan", Visibility: "tenant",
		Descriptor: json.RawMessage(`{"envVars":{"PIZZAVAN_KEY":{"required":true,"description":"Your Pizza Van OAuth client key"}},` +
			`"oauth2":{"client_id":"","client_secret":"","auth_uri":"https://auth.pizzavan.example/authorize","token_uri":"https://auth.pizzavan.example/token"},` +
			`"useOAuthClient":true}`)})
	if err != nil {
		return nil, err
	}
	d.ComponentID = c.ID.String()
	return d, seedDemoClient(ctx, a, t.ID, s)
}

// seedDemoClient ensures a confidential API client with role viewer whose
// secret is kept in the dev credentials (it is shown only once otherwise).
func seedDemoClient(ctx context.Context, a *app.App, tenantID uuid.UUID, s *devState) error {
	if s.ClientID != "" {
		if _, err := a.APIClients.ByClientID(ctx, s.ClientID); err == nil {
			return nil
		} else if !errors.Is(err, apiclients.ErrNotFound) {
			return err
		}
	}
	c, secret, err := a.APIClients.Create(ctx, tenantID, nil, apiclients.NewClient{Name: "demo-bot",
		ClientType: apiclients.TypeConfidential, GrantTypes: []string{apiclients.GrantClientCredentials},
		Roles: []string{"viewer"}, RedirectURIs: []string{}, Scopes: []string{}}, nil)
	if err != nil {
		return err
	}
	s.ClientID, s.ClientSecret = c.ClientID, secret
	raw, _ := json.MarshalIndent(s, "", "  ")
	return os.WriteFile(filepath.Join(devDir, "credentials.json"), raw, 0o600)
}

func printWelcome(at listening, s *devState, d *demoData) {
	base := "http://" + at.API
	var b strings.Builder
	fmt.Fprintf(&b, "\noauthd dev is serving at %s\n", base)
	if at.Metrics != "" {
		fmt.Fprintf(&b, "metrics at http://%s/metrics\n", at.Metrics)
	}
	fmt.Fprintf(&b, "\n  sign-in URL  %s/oauth/sign-in\n", base)
	fmt.Fprintf(&b, "  email        %s\n  password     %s\n  API key      %s\n", s.Email, s.Password, s.APIKey)
	fmt.Fprintf(&b, "  tenant       demo  %s\n  component    pizzavan  %s (useOAuthClient: true)\n", d.TenantID, d.ComponentID)
	fmt.Fprintf(&b, "  API client   demo-bot  %s (client credentials, role viewer)\n\n", s.ClientID)
	fmt.Fprintf(&b, "Paste this into another shell; the README's walk-throughs start from it:\n\n")
	fmt.Fprintf(&b, "export BASE=%s EMAIL=%s APIKEY=%s \\\n  TENANT_ID=%s COMPONENT_ID=%s \\\n  API_CLIENT_ID=%s API_CLIENT_SECRET=%s \\\n  SELF_COMPONENT_ID=%s\n\n",
		base, s.Email, s.APIKey, d.TenantID, d.ComponentID, s.ClientID, s.ClientSecret, d.SelfComponentID)
	fmt.Fprintf(&b, "Create an OAuth client for the component (elastic.io's OAuth clients management docs), then list them:\n\n")
	fmt.Fprintf(&b, "  curl %s/v2/tenants/%s/oauth-clients -X POST -u '%s:%s' -H 'Content-Type: application/json' \\\n"+
		"    -d '{\"data\":{\"type\":\"oauth-client\",\"attributes\":{\"client_id\":\"pizza-id\",\"client_secret\":\"pizza-secret-123456\"},"+
		"\"relationships\":{\"component\":{\"data\":{\"id\":\"%s\",\"type\":\"component\"}}}}}'\n\n",
		base, d.TenantID, s.Email, s.APIKey, d.ComponentID)
	fmt.Fprintf(&b, "  curl '%s/v2/tenants/%s/oauth-clients/?filter[component]=%s' -g -u '%s:%s'\n\n",
		base, d.TenantID, d.ComponentID, s.Email, s.APIKey)
	printConnect(&b, base, s, d)
	fmt.Fprintf(&b, "Credentials are kept in %s/credentials.json; Ctrl-C stops the server and its Postgres.\n\n", devDir)
	fmt.Print(b.String())
}
