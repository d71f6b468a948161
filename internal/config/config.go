// Package config reads oauthd's configuration from OAUTHD_* environment
// variables and names each one that is missing or malformed.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/jackc/pgx/v5"

	"github.com/oauthd/oauthd/authserver"
	"github.com/oauthd/oauthd/internal/keyring"
	"github.com/oauthd/oauthd/tenants"
)

// Config is the deployment's configuration. Each field's help tag is what
// `oauthd serve --help` prints for its variable, beside its default.
type Config struct {
	DatabaseURL   string `env:"DATABASE_URL" help:"PostgreSQL URL, e.g. postgres://oauthd:secret@db:5432/oauthd?sslmode=require (required; oauthd dev starts its own)"`
	Listen        string `env:"LISTEN" envDefault:"127.0.0.1:8080" help:"address the API and the pages listen on"`
	MetricsListen string `env:"METRICS_LISTEN" help:"address of a separate listener that serves /metrics (Prometheus); empty: no metrics listener (oauthd dev uses 127.0.0.1:9464)"`
	Issuer        string `env:"ISSUER" help:"the authorization server's public URL, https://auth.example.com (iss of every token, links in the pages); default http://<OAUTHD_LISTEN>"`
	// MasterKey seals stored secrets (32 random bytes, base64 or hex).
	MasterKey string `env:"MASTER_KEY" help:"32 random bytes, base64 or hex (openssl rand -base64 32), that seal stored secrets and signing keys (required)"`
	// PreviousMasterKeys still open secrets sealed before a key rotation.
	PreviousMasterKeys []string `env:"PREVIOUS_MASTER_KEYS" envSeparator:"," help:"comma-separated former master keys, to open what was sealed before a rotation"`
	// BootstrapSuperuser is email:apikey, ensured at start.
	BootstrapSuperuser string `env:"BOOTSTRAP_SUPERUSER" help:"email:apikey of a superuser ensured at start (the key: 32 to 128 of A-Z a-z 0-9 _ -)"`
	MaxDBConns         int    `env:"MAX_DB_CONNS" envDefault:"20" help:"most database connections this instance opens"`
	LogLevel           string `env:"LOG_LEVEL" envDefault:"info" help:"debug, info, warn or error"`
	// ShutdownGrace is how long SIGTERM waits for in-flight requests.
	ShutdownGraceSeconds int `env:"SHUTDOWN_GRACE_SECONDS" envDefault:"20" help:"seconds SIGTERM waits for in-flight requests"`

	// The authorization server's lifetimes (Go durations: 1h, 15m, 720h).
	AccessTokenTTL            time.Duration `env:"ACCESS_TOKEN_TTL" envDefault:"1h" help:"lifetime of access tokens issued without a refresh token (a duration: 1h, 15m, 90s)"`
	AccessTokenTTLWithRefresh time.Duration `env:"ACCESS_TOKEN_TTL_WITH_REFRESH" envDefault:"15m" help:"lifetime of access tokens issued with a refresh token"`
	RefreshTokenTTL           time.Duration `env:"REFRESH_TOKEN_TTL" envDefault:"720h" help:"lifetime of refresh tokens (720h: 30 days)"`
	SigningKeyRotation        time.Duration `env:"SIGNING_KEY_ROTATION" envDefault:"720h" help:"how often a new token signing key takes over"`

	// TrustedProxies are the load balancers and proxies (CIDRs or single
	// addresses) whose X-Forwarded-For is believed; empty means the peer
	// address is the client's.
	TrustedProxies []string `env:"TRUSTED_PROXIES" envSeparator:"," help:"comma-separated CIDRs or addresses of the load balancers whose X-Forwarded-For is believed"`
	// RedisURL moves the failure budgets (guessing limits) from Postgres
	// to Redis.
	// DBTimeout bounds each request's database work.
	DBTimeout time.Duration `env:"DB_TIMEOUT" envDefault:"5s" help:"how long one request's database work may take before it ends in 503 database_unavailable"`
	RedisURL  string        `env:"REDIS_URL" help:"redis://host:6379/0: keep the failure budgets that limit guessing in this Redis instead of Postgres"`

	// OutboundAllowPrivate lets outbound calls (providers, webhooks) reach
	// loopback, private and link-local addresses and plain http URLs; for
	// development only (`oauthd dev` sets it).
	OutboundAllowPrivate bool `env:"OUTBOUND_ALLOW_PRIVATE" help:"let calls to providers and webhooks reach loopback and private addresses (development only; oauthd dev sets it)"`
	// JobWorkers is how many background jobs this instance runs at once;
	// 0 makes an API-only instance.
	JobWorkers int `env:"JOB_WORKERS" envDefault:"10" help:"background jobs this instance runs at once; 0 makes an instance that serves requests and runs no jobs (other instances must)"`
	// AuditRetention is how long audit events are kept; 0 keeps them.
	AuditRetention time.Duration `env:"AUDIT_RETENTION" help:"how long audit events are kept (a duration of at least 24h: 2160h is 90 days); empty: for ever"`
	// UnusedAfter is how long an API client may go without a token before
	// an api_client.unused event (and filter[unused]=true lists it).
	UnusedAfter time.Duration `env:"UNUSED_AFTER" envDefault:"2160h" help:"an API client without a token for this long is announced once (api_client.unused) and listed by filter[unused]=true"`
}

// Variable is one configuration variable as --help describes it.
type Variable struct {
	Name, Default, Help string
}

// Variables lists every variable, in the order of Config's fields.
func Variables() []Variable {
	t := reflect.TypeFor[Config]()
	out := make([]Variable, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
		out = append(out, Variable{Name: "OAUTHD_" + name, Default: f.Tag.Get("envDefault"), Help: f.Tag.Get("help")})
	}
	return out
}

// logLevels are the values OAUTHD_LOG_LEVEL takes.
var logLevels = map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}

// Level is the slog level OAUTHD_LOG_LEVEL names (info when unknown; Load
// refuses unknown names).
func (c *Config) Level() slog.Level { return logLevels[strings.ToLower(c.LogLevel)] }

// Load reads the environment. required lists the variables that must be set
// for the calling command (without the OAUTHD_ prefix).
func Load(required ...string) (*Config, error) {
	var c Config
	var problems []string
	if err := env.ParseWithOptions(&c, env.Options{Prefix: "OAUTHD_"}); err != nil {
		// The library names struct fields; users know the variables.
		var agg env.AggregateError
		if !errors.As(err, &agg) {
			return nil, fmt.Errorf("configuration: %w", err)
		}
		for _, e := range agg.Errors {
			var pe env.ParseError
			if errors.As(e, &pe) {
				problems = append(problems, parseProblem(pe))
				continue
			}
			problems = append(problems, e.Error())
		}
		return nil, errors.New("configuration: " + strings.Join(problems, "; "))
	}
	values := map[string]string{"DATABASE_URL": c.DatabaseURL, "MASTER_KEY": c.MasterKey, "ISSUER": c.Issuer}
	for _, name := range required {
		if strings.TrimSpace(values[name]) == "" {
			problems = append(problems, "OAUTHD_"+name+" is required")
		}
	}
	if _, ok := logLevels[strings.ToLower(c.LogLevel)]; !ok {
		problems = append(problems, fmt.Sprintf("OAUTHD_LOG_LEVEL must be debug, info, warn or error, not %q", c.LogLevel))
	}
	if c.Issuer != "" {
		if err := checkIssuer(c.Issuer); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if c.DatabaseURL != "" {
		if _, err := pgx.ParseConfig(c.DatabaseURL); err != nil {
			// pgx names the URL as written, its password masked.
			problems = append(problems, "OAUTHD_DATABASE_URL is not a PostgreSQL URL such as "+
				"postgres://user:password@host:5432/dbname?sslmode=disable: "+err.Error())
		}
	}
	if c.MasterKey != "" {
		if _, err := keyring.ParseKey(c.MasterKey); err != nil {
			problems = append(problems, "OAUTHD_MASTER_KEY "+err.Error())
		}
	}
	for i, k := range c.PreviousMasterKeys {
		if _, err := keyring.ParseKey(k); err != nil {
			problems = append(problems, fmt.Sprintf("OAUTHD_PREVIOUS_MASTER_KEYS entry %d %s", i+1, err))
		}
	}
	if c.BootstrapSuperuser != "" {
		if _, _, err := c.Bootstrap(); err != nil {
			problems = append(problems, err.Error())
		}
	}
	if c.MaxDBConns < 1 {
		problems = append(problems, "OAUTHD_MAX_DB_CONNS must be at least 1")
	}
	if c.UnusedAfter < time.Hour {
		problems = append(problems, "OAUTHD_UNUSED_AFTER must be at least 1h (e.g. 2160h for 90 days)")
	}
	if c.JobWorkers < 0 {
		problems = append(problems, "OAUTHD_JOB_WORKERS must be 0 (no jobs on this instance) or more")
	}
	if c.ShutdownGraceSeconds < 0 {
		problems = append(problems, "OAUTHD_SHUTDOWN_GRACE_SECONDS must not be negative")
	}
	if c.DBTimeout <= 0 {
		problems = append(problems, "OAUTHD_DB_TIMEOUT must be a positive duration such as 5s")
	}
	for name, d := range map[string]time.Duration{
		"OAUTHD_ACCESS_TOKEN_TTL": c.AccessTokenTTL, "OAUTHD_ACCESS_TOKEN_TTL_WITH_REFRESH": c.AccessTokenTTLWithRefresh,
		"OAUTHD_REFRESH_TOKEN_TTL": c.RefreshTokenTTL, "OAUTHD_SIGNING_KEY_ROTATION": c.SigningKeyRotation,
	} {
		if d < time.Minute {
			problems = append(problems, name+" must be at least 1m")
		}
	}
	if c.AuditRetention != 0 && c.AuditRetention < 24*time.Hour {
		problems = append(problems, "OAUTHD_AUDIT_RETENTION must be at least 24h (or empty, to keep the audit trail for ever)")
	}
	if _, err := c.TrustedProxyNets(); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return nil, errors.New("configuration: " + strings.Join(problems, "; "))
	}
	return &c, nil
}

// TrustedProxyNets parses OAUTHD_TRUSTED_PROXIES: CIDRs such as
// 10.0.0.0/8, or single addresses (taken as /32 or /128). Empty entries
// (a trailing comma) are ignored.
func (c *Config) TrustedProxyNets() ([]*net.IPNet, error) {
	var nets []*net.IPNet
	for i, entry := range c.TrustedProxies {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		if ip := net.ParseIP(entry); ip != nil {
			bits := 128
			if ip4 := ip.To4(); ip4 != nil {
				ip, bits = ip4, 32
			}
			nets = append(nets, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(entry)
		if err != nil {
			return nil, fmt.Errorf("OAUTHD_TRUSTED_PROXIES entry %d (%q) is neither a CIDR such as 10.0.0.0/8 nor an IP address", i+1, entry)
		}
		nets = append(nets, n)
	}
	return nets, nil
}

// parseProblem says what is wrong with a variable the library could not
// parse, with an example of the right form.
func parseProblem(pe env.ParseError) string {
	name := variableOf(pe.Name)
	switch pe.Type {
	case reflect.TypeFor[time.Duration]():
		return name + " must be a duration such as 1h, 15m or 90s"
	case reflect.TypeFor[int]():
		return name + " must be a whole number"
	case reflect.TypeFor[bool]():
		return name + " must be true or false"
	}
	return fmt.Sprintf("%s must be a valid %s", name, pe.Type)
}

// checkIssuer accepts an absolute http or https URL with a host and no
// query or fragment (RFC 8414 §2: the issuer identifier).
func checkIssuer(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("OAUTHD_ISSUER must be the server's public URL such as https://auth.example.com (http or https, a host, no query or fragment), not %q", raw)
	}
	return nil
}

// variableOf is the environment variable behind a Config field.
func variableOf(field string) string {
	if f, ok := reflect.TypeFor[Config]().FieldByName(field); ok {
		if name, _, _ := strings.Cut(f.Tag.Get("env"), ","); name != "" {
			return "OAUTHD_" + name
		}
	}
	return field
}

// Bootstrap splits OAUTHD_BOOTSTRAP_SUPERUSER into email and key, and
// checks both, so a typo stops the service at start with a message naming
// the variable (never repeating the key).
func (c *Config) Bootstrap() (email, key string, err error) {
	email, key, ok := strings.Cut(c.BootstrapSuperuser, ":")
	if !ok || email == "" || key == "" {
		return "", "", errors.New("OAUTHD_BOOTSTRAP_SUPERUSER must be email:apikey")
	}
	if at := strings.Index(email, "@"); at < 1 || at == len(email)-1 || strings.ContainsAny(email, " \t\r\n") {
		return "", "", errors.New("OAUTHD_BOOTSTRAP_SUPERUSER must be email:apikey, and the part before the colon is not an email address")
	}
	if !tenants.ValidBootstrapKey(key) {
		return "", "", errors.New("OAUTHD_BOOTSTRAP_SUPERUSER: the API key after the colon must be 32 to 128 characters of A-Z a-z 0-9 _ -")
	}
	return email, key, nil
}

// Lifetimes are the deployment's token lifetimes.
func (c *Config) Lifetimes() authserver.Lifetimes {
	l := authserver.DefaultLifetimes()
	l.AccessTTL, l.AccessTTLWithRefresh, l.RefreshTTL = c.AccessTokenTTL, c.AccessTokenTTLWithRefresh, c.RefreshTokenTTL
	return l
}

// Keyring builds the keyring from the master key and the previous ones.
func (c *Config) Keyring() (*keyring.Keyring, error) {
	current, err := keyring.ParseKey(c.MasterKey)
	if err != nil {
		return nil, fmt.Errorf("OAUTHD_MASTER_KEY %w", err)
	}
	var prev [][]byte
	for _, k := range c.PreviousMasterKeys {
		b, err := keyring.ParseKey(k)
		if err != nil {
			return nil, fmt.Errorf("OAUTHD_PREVIOUS_MASTER_KEYS %w", err)
		}
		prev = append(prev, b)
	}
	return keyring.New(current, prev...)
}
