package config

import (
	"encoding/base64"
	"encoding/hex"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/oauthd/oauthd/internal/keyring"
)

// clearEnv removes every OAUTHD_* variable for the test, so the machine's
// environment cannot change the outcome.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "OAUTHD_") {
			t.Setenv(name, "") // restores the old value after the test
			_ = os.Unsetenv(name)
		}
	}
}

var (
	goodKey       = keyring.NewKey()
	goodBootstrap = "root@example.com:" + strings.Repeat("a", 16) + strings.Repeat("_-Z9", 5)
)

func TestLoad(t *testing.T) {
	rawKey := make([]byte, keyring.KeySize)
	for i := range rawKey {
		rawKey[i] = byte(i * 7)
	}
	cases := []struct {
		name     string
		env      map[string]string
		required []string
		// wantErr lists what the error must name; empty means no error.
		wantErr []string
		// notInErr must not appear (values that are secrets).
		notInErr []string
		check    func(t *testing.T, c *Config)
	}{
		{
			name: "dev needs nothing", required: nil,
			check: func(t *testing.T, c *Config) {
				if c.Listen != "127.0.0.1:8080" || c.MaxDBConns != 20 || c.LogLevel != "info" || c.ShutdownGraceSeconds != 20 {
					t.Errorf("defaults: %+v", c)
				}
			},
		},
		{
			name: "log level must be one slog knows", env: map[string]string{"LOG_LEVEL": "loud"},
			wantErr: []string{"OAUTHD_LOG_LEVEL", "debug, info, warn or error", `"loud"`},
		},
		{
			name: "log level in any case", env: map[string]string{"LOG_LEVEL": "DEBUG"},
			check: func(t *testing.T, c *Config) {
				if c.Level() != slog.LevelDebug {
					t.Errorf("level %v", c.Level())
				}
			},
		},
		{
			name: "issuer must be an http(s) URL", env: map[string]string{"ISSUER": "notaurl"},
			wantErr: []string{"OAUTHD_ISSUER", "https://auth.example.com", `"notaurl"`},
		},
		{
			name: "issuer without query or fragment", env: map[string]string{"ISSUER": "https://auth.example.com/?x=1"},
			wantErr: []string{"OAUTHD_ISSUER"},
		},
		{
			name: "issuer with a path is fine", env: map[string]string{"ISSUER": "https://example.com/auth"},
		},
		{
			name: "durations get an example", env: map[string]string{"ACCESS_TOKEN_TTL": "1 hour", "REFRESH_TOKEN_TTL": "3600"},
			wantErr: []string{"OAUTHD_ACCESS_TOKEN_TTL must be a duration such as 1h, 15m or 90s", "OAUTHD_REFRESH_TOKEN_TTL must be a duration"},
		},
		{
			name:     "a malformed database URL is reported as written, its password masked",
			env:      map[string]string{"DATABASE_URL": "postgres://oauthd:hunter2@db:port/oauthd"},
			wantErr:  []string{"OAUTHD_DATABASE_URL", "postgres://oauthd:xxxxx@db:port/oauthd", "postgres://user:password@host:5432/dbname"},
			notInErr: []string{"hunter2", "connect_timeout"},
		},
		{
			name: "a database URL that is no URL at all", env: map[string]string{"DATABASE_URL": "not a url"},
			wantErr: []string{"OAUTHD_DATABASE_URL", "`not a url`"}, notInErr: []string{"connect_timeout"},
		},
		{
			name: "token lifetimes default to the design's and can be set",
			env:  map[string]string{"ACCESS_TOKEN_TTL": "30m", "REFRESH_TOKEN_TTL": "48h"},
			check: func(t *testing.T, c *Config) {
				l := c.Lifetimes()
				if l.AccessTTL != 30*time.Minute || l.AccessTTLWithRefresh != 15*time.Minute || l.RefreshTTL != 48*time.Hour ||
					c.SigningKeyRotation != 720*time.Hour {
					t.Errorf("lifetimes: %+v, rotation %v", l, c.SigningKeyRotation)
				}
			},
		},
		{
			name: "outbound calls refuse private addresses unless allowed; job workers default to 10",
			check: func(t *testing.T, c *Config) {
				if c.OutboundAllowPrivate || c.JobWorkers != 10 || c.UnusedAfter != 90*24*time.Hour {
					t.Errorf("outbound allow private %v, job workers %d", c.OutboundAllowPrivate, c.JobWorkers)
				}
			},
		},
		{
			name: "outbound private addresses allowed explicitly",
			env:  map[string]string{"OUTBOUND_ALLOW_PRIVATE": "true", "JOB_WORKERS": "3"},
			check: func(t *testing.T, c *Config) {
				if !c.OutboundAllowPrivate || c.JobWorkers != 3 {
					t.Errorf("outbound allow private %v, job workers %d", c.OutboundAllowPrivate, c.JobWorkers)
				}
			},
		},
		{
			name:    "a malformed allow-private flag and no job workers are named",
			env:     map[string]string{"OUTBOUND_ALLOW_PRIVATE": "yes please", "JOB_WORKERS": "0"},
			wantErr: []string{"OAUTHD_OUTBOUND_ALLOW_PRIVATE"},
		},
		{
			name: "unused after defaults to 90 days and can be set",
			env:  map[string]string{"UNUSED_AFTER": "720h"},
			check: func(t *testing.T, c *Config) {
				if c.UnusedAfter != 720*time.Hour {
					t.Errorf("unused after %v", c.UnusedAfter)
				}
			},
		},
		{
			name:    "unused after below an hour is refused",
			env:     map[string]string{"UNUSED_AFTER": "30m"},
			wantErr: []string{"OAUTHD_UNUSED_AFTER must be at least 1h"},
		},
		{
			name:    "negative job workers",
			env:     map[string]string{"JOB_WORKERS": "-1"},
			wantErr: []string{"OAUTHD_JOB_WORKERS must be 0 (no jobs on this instance) or more"},
		},
		{
			name: "the audit trail is kept for ever unless a retention is set",
			check: func(t *testing.T, c *Config) {
				if c.AuditRetention != 0 {
					t.Errorf("default audit retention %v", c.AuditRetention)
				}
			},
		},
		{
			name: "an audit retention of 90 days", env: map[string]string{"AUDIT_RETENTION": "2160h"},
			check: func(t *testing.T, c *Config) {
				if c.AuditRetention != 90*24*time.Hour {
					t.Errorf("audit retention %v", c.AuditRetention)
				}
			},
		},
		{
			name:    "an audit retention under a day is refused",
			env:     map[string]string{"AUDIT_RETENTION": "1h"},
			wantErr: []string{"OAUTHD_AUDIT_RETENTION must be at least 24h"},
		},
		{
			name:    "an audit retention in days is not a duration",
			env:     map[string]string{"AUDIT_RETENTION": "90d"},
			wantErr: []string{"OAUTHD_AUDIT_RETENTION must be a duration such as 1h, 15m or 90s"},
		},
		{
			name:    "malformed and too short lifetimes are named",
			env:     map[string]string{"ACCESS_TOKEN_TTL": "soon"},
			wantErr: []string{"ACCESS_TOKEN_TTL"},
		},
		{
			name:    "a lifetime under a minute is refused",
			env:     map[string]string{"REFRESH_TOKEN_TTL": "30s"},
			wantErr: []string{"OAUTHD_REFRESH_TOKEN_TTL must be at least 1m"},
		},
		{
			name: "serve with nothing set names both", required: []string{"DATABASE_URL", "MASTER_KEY"},
			wantErr: []string{"OAUTHD_DATABASE_URL is required", "OAUTHD_MASTER_KEY is required"},
		},
		{
			name: "serve without master key", required: []string{"DATABASE_URL", "MASTER_KEY"},
			env:     map[string]string{"DATABASE_URL": "postgres://db/oauthd"},
			wantErr: []string{"OAUTHD_MASTER_KEY is required"}, notInErr: []string{"OAUTHD_DATABASE_URL"},
		},
		{
			name: "serve without database", required: []string{"DATABASE_URL", "MASTER_KEY"},
			env:     map[string]string{"MASTER_KEY": goodKey},
			wantErr: []string{"OAUTHD_DATABASE_URL is required"}, notInErr: []string{"OAUTHD_MASTER_KEY", goodKey},
		},
		{
			name: "blank database url is missing", required: []string{"DATABASE_URL"},
			env:     map[string]string{"DATABASE_URL": "   "},
			wantErr: []string{"OAUTHD_DATABASE_URL is required"},
		},
		{
			name: "serve with everything", required: []string{"DATABASE_URL", "MASTER_KEY"},
			env: map[string]string{"DATABASE_URL": "postgres://db/oauthd", "MASTER_KEY": goodKey, "LISTEN": "0.0.0.0:9000",
				"BOOTSTRAP_SUPERUSER": goodBootstrap, "MAX_DB_CONNS": "7", "SHUTDOWN_GRACE_SECONDS": "3"},
			check: func(t *testing.T, c *Config) {
				if c.DatabaseURL != "postgres://db/oauthd" || c.Listen != "0.0.0.0:9000" || c.MaxDBConns != 7 || c.ShutdownGraceSeconds != 3 {
					t.Errorf("loaded %+v", c)
				}
				email, key, err := c.Bootstrap()
				if err != nil || email != "root@example.com" || !strings.HasSuffix(goodBootstrap, ":"+key) {
					t.Errorf("Bootstrap() = %q, %q, %v", email, key, err)
				}
				if _, err := c.Keyring(); err != nil {
					t.Errorf("Keyring(): %v", err)
				}
			},
		},
		{name: "hex master key", required: []string{"MASTER_KEY"}, env: map[string]string{"MASTER_KEY": hex.EncodeToString(rawKey)}},
		{name: "url-safe unpadded master key", required: []string{"MASTER_KEY"}, env: map[string]string{"MASTER_KEY": base64.RawURLEncoding.EncodeToString(rawKey)}},
		{
			name: "master key too short", required: []string{"MASTER_KEY"},
			env:     map[string]string{"MASTER_KEY": base64.StdEncoding.EncodeToString(rawKey[:16])},
			wantErr: []string{"OAUTHD_MASTER_KEY", "32 random bytes"}, notInErr: []string{base64.StdEncoding.EncodeToString(rawKey[:16])},
		},
		{
			name: "master key not encoded", required: []string{"MASTER_KEY"},
			env:     map[string]string{"MASTER_KEY": "correct horse battery staple correct horse"},
			wantErr: []string{"OAUTHD_MASTER_KEY"}, notInErr: []string{"horse"},
		},
		{
			name: "malformed master key even when not required",
			env:  map[string]string{"MASTER_KEY": "zz"}, wantErr: []string{"OAUTHD_MASTER_KEY"},
		},
		{
			name: "malformed previous key", env: map[string]string{"MASTER_KEY": goodKey, "PREVIOUS_MASTER_KEYS": goodKey + ",nope"},
			wantErr: []string{"OAUTHD_PREVIOUS_MASTER_KEYS entry 2"},
		},
		{
			name: "bootstrap without colon", env: map[string]string{"BOOTSTRAP_SUPERUSER": "root@example.com"},
			wantErr: []string{"OAUTHD_BOOTSTRAP_SUPERUSER", "email:apikey"},
		},
		{
			name: "bootstrap with empty key", env: map[string]string{"BOOTSTRAP_SUPERUSER": "root@example.com:"},
			wantErr: []string{"OAUTHD_BOOTSTRAP_SUPERUSER"},
		},
		{
			name: "bootstrap with empty email", env: map[string]string{"BOOTSTRAP_SUPERUSER": ":" + strings.Repeat("k", 40)},
			wantErr: []string{"OAUTHD_BOOTSTRAP_SUPERUSER"},
		},
		{
			name: "bootstrap email without @", env: map[string]string{"BOOTSTRAP_SUPERUSER": "root:" + strings.Repeat("k", 40)},
			wantErr: []string{"OAUTHD_BOOTSTRAP_SUPERUSER", "email"},
		},
		{
			name: "bootstrap key with bad characters", env: map[string]string{"BOOTSTRAP_SUPERUSER": "root@example.com:" + strings.Repeat("k", 35) + "!$%"},
			wantErr: []string{"OAUTHD_BOOTSTRAP_SUPERUSER", "A-Z a-z 0-9 _ -"}, notInErr: []string{"kkk!$%"},
		},
		{
			name: "bootstrap key too short", env: map[string]string{"BOOTSTRAP_SUPERUSER": "root@example.com:short-key"},
			wantErr: []string{"OAUTHD_BOOTSTRAP_SUPERUSER", "32 to 128"}, notInErr: []string{"short-key"},
		},
		{
			name: "bootstrap key too long", env: map[string]string{"BOOTSTRAP_SUPERUSER": "root@example.com:" + strings.Repeat("k", 129)},
			wantErr: []string{"OAUTHD_BOOTSTRAP_SUPERUSER"},
		},
		{
			name: "bootstrap key of 128 characters", env: map[string]string{"BOOTSTRAP_SUPERUSER": "root@example.com:" + strings.Repeat("k", 128)},
		},
		{
			name: "pool of zero", env: map[string]string{"MAX_DB_CONNS": "0"}, wantErr: []string{"OAUTHD_MAX_DB_CONNS"},
		},
		{
			name: "pool not a number", env: map[string]string{"MAX_DB_CONNS": "many"}, wantErr: []string{"OAUTHD_MAX_DB_CONNS"},
		},
		{
			name: "negative grace", env: map[string]string{"SHUTDOWN_GRACE_SECONDS": "-1"}, wantErr: []string{"OAUTHD_SHUTDOWN_GRACE_SECONDS"},
		},
		{
			name: "no trusted proxies by default",
			check: func(t *testing.T, c *Config) {
				if nets, err := c.TrustedProxyNets(); err != nil || len(nets) != 0 {
					t.Errorf("TrustedProxyNets() = %v, %v", nets, err)
				}
			},
		},
		{
			name: "trusted proxies: CIDRs and single addresses",
			env:  map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,::1,"},
			check: func(t *testing.T, c *Config) {
				nets, err := c.TrustedProxyNets()
				var got []string
				for _, n := range nets {
					got = append(got, n.String())
				}
				if err != nil || strings.Join(got, " ") != "10.0.0.0/8 192.0.2.7/32 2001:db8::/32 ::1/128" {
					t.Errorf("TrustedProxyNets() = %v, %v", got, err)
				}
			},
		},
		{
			name: "malformed trusted proxy is named", env: map[string]string{"TRUSTED_PROXIES": "10.0.0.0/8,10.0.0.0/33"},
			wantErr: []string{"OAUTHD_TRUSTED_PROXIES entry 2", "10.0.0.0/33"},
		},
		{
			name: "a host name is not a trusted proxy", env: map[string]string{"TRUSTED_PROXIES": "lb.internal"},
			wantErr: []string{"OAUTHD_TRUSTED_PROXIES entry 1", "CIDR"},
		},
		{
			name: "every problem at once", required: []string{"DATABASE_URL"},
			env:     map[string]string{"MASTER_KEY": "bad", "BOOTSTRAP_SUPERUSER": "nocolon", "MAX_DB_CONNS": "0"},
			wantErr: []string{"OAUTHD_DATABASE_URL", "OAUTHD_MASTER_KEY", "OAUTHD_BOOTSTRAP_SUPERUSER", "OAUTHD_MAX_DB_CONNS"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			clearEnv(t)
			for k, v := range c.env {
				t.Setenv("OAUTHD_"+k, v)
			}
			cfg, err := Load(c.required...)
			if len(c.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if c.check != nil {
					c.check(t, cfg)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load succeeded (%+v), want an error naming %v", cfg, c.wantErr)
			}
			for _, w := range c.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, n := range c.notInErr {
				if strings.Contains(err.Error(), n) {
					t.Errorf("error %q contains %q", err, n)
				}
			}
		})
	}
}

func TestKeyringRotationFromConfig(t *testing.T) {
	old, current := keyring.NewKey(), keyring.NewKey()
	clearEnv(t)
	t.Setenv("OAUTHD_MASTER_KEY", old)
	c1, err := Load("MASTER_KEY")
	if err != nil {
		t.Fatal(err)
	}
	kr1, err := c1.Keyring()
	if err != nil {
		t.Fatal(err)
	}
	sealed, id := kr1.Seal([]byte("s3cret"), []byte("row-1"))

	t.Setenv("OAUTHD_MASTER_KEY", current)
	t.Setenv("OAUTHD_PREVIOUS_MASTER_KEYS", old)
	c2, err := Load("MASTER_KEY")
	if err != nil {
		t.Fatal(err)
	}
	kr2, err := c2.Keyring()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := kr2.Open(sealed, id, []byte("row-1")); err != nil || string(got) != "s3cret" {
		t.Fatalf("rotated keyring opens the old secret as %q, %v", got, err)
	}
	if kr2.CurrentKeyID() == id {
		t.Fatal("after rotation new secrets are still sealed with the old key")
	}
}

// Every variable has a meaning for --help, and Variables names each one.
func TestVariablesDescribed(t *testing.T) {
	vars := Variables()
	if len(vars) < 15 {
		t.Fatalf("only %d variables", len(vars))
	}
	for _, v := range vars {
		if !strings.HasPrefix(v.Name, "OAUTHD_") || v.Name == "OAUTHD_" || len(v.Help) < 10 {
			t.Errorf("variable %+v lacks a name or a meaning", v)
		}
	}
}
