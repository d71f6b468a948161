package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/oauthd/oauthd/internal/config"
	"github.com/oauthd/oauthd/internal/keyring"
	"github.com/oauthd/oauthd/internal/testdb"
)

// cli runs the command line in-process and returns its exit code, stdout
// and stderr.
func cli(args ...string) (int, string, string) {
	var stdout, stderr bytes.Buffer
	code := execute(args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestHelpEverywhere: -h, -help and --help on every command print its
// help to stdout and exit 0, touching nothing (no configuration is set).
func TestHelpEverywhere(t *testing.T) {
	t.Setenv("OAUTHD_DATABASE_URL", "")
	for _, args := range [][]string{
		{"--help"}, {"-h"}, {"help"},
		{"serve", "--help"}, {"serve", "-h"}, {"dev", "-help"}, {"migrate", "--help"}, {"version", "-h"},
		{"admin", "--help"}, {"admin", "-h"}, {"admin", "create-api-client", "-h"}, {"admin", "set-password", "--help"},
	} {
		code, out, errs := cli(args...)
		if code != 0 || !strings.Contains(out, "usage: oauthd") || errs != "" {
			t.Errorf("oauthd %v: exit %d, stdout %.80q, stderr %q", args, code, out, errs)
		}
	}
}

// TestServeHelpListsEveryVariable: serve --help names every variable with
// its default and what it means.
func TestServeHelpListsEveryVariable(t *testing.T) {
	_, out, _ := cli("serve", "--help")
	for _, v := range config.Variables() {
		line := ""
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), v.Name+" ") {
				line = l
			}
		}
		if line == "" || v.Help == "" || !strings.Contains(line, v.Help) {
			t.Errorf("%s: no line with its meaning in serve --help", v.Name)
			continue
		}
		if v.Default != "" && !strings.Contains(line, " "+v.Default+" ") {
			t.Errorf("%s: default %q not shown: %q", v.Name, v.Default, line)
		}
	}
	for _, want := range []string{"OAUTHD_DATABASE_URL", "OAUTHD_METRICS_LISTEN", "127.0.0.1:8080", "720h"} {
		if !strings.Contains(out, want) {
			t.Errorf("serve --help lacks %s", want)
		}
	}
}

// TestStrayArguments: a command that takes no arguments refuses one, and
// an unknown command is named; both exit 2.
func TestStrayArguments(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "now"}, `unexpected argument "now"`},
		{[]string{"migrate", "up"}, `unexpected argument "up"`},
		{[]string{"dev", "--port=9"}, `unexpected argument "--port=9"`},
		{[]string{"version", "x"}, `unexpected argument "x"`},
		{[]string{"serv"}, `unknown command "serv"`},
		{[]string{"admin", "create-tenant", "acme"}, `unexpected argument "acme"`},
		{[]string{"admin", "nope"}, `unknown admin task "nope"`},
		{nil, "usage: oauthd"},
	} {
		code, _, errs := cli(c.args...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("oauthd %v: exit %d, stderr %q; want 2 and %q", c.args, code, errs, c.want)
		}
	}
}

func TestVersion(t *testing.T) {
	code, out, _ := cli("version")
	if code != 0 || !strings.HasPrefix(out, "oauthd ") || !strings.Contains(out, "go1.") {
		t.Errorf("version: exit %d, %q", code, out)
	}
}

// TestWrongMasterKeyNamesPreviousKeys: a master key that cannot open the
// database's data stops the start with a message that says so and points
// at OAUTHD_PREVIOUS_MASTER_KEYS; with the old key listed there it starts.
func TestWrongMasterKeyNamesPreviousKeys(t *testing.T) {
	ctx := context.Background()
	dbURL, first := testdb.New(t), keyring.NewKey()
	start := func(master string, previous ...string) error {
		t.Helper()
		cfg := &config.Config{DatabaseURL: dbURL, MasterKey: master, PreviousMasterKeys: previous, MaxDBConns: 2,
			Listen: "127.0.0.1:0", AccessTokenTTL: 3600e9, AccessTokenTTLWithRefresh: 900e9, RefreshTokenTTL: 720 * 3600e9,
			SigningKeyRotation: 720 * 3600e9, JobWorkers: 1}
		a, err := build(ctx, cfg, slog.New(slog.DiscardHandler))
		if err == nil {
			_ = a.Close()
		}
		return err
	}
	if err := start(first); err != nil {
		t.Fatal(err)
	}
	second := keyring.NewKey()
	err := start(second)
	if err == nil || !strings.Contains(err.Error(), "OAUTHD_PREVIOUS_MASTER_KEYS") || !strings.Contains(err.Error(), "OAUTHD_MASTER_KEY") {
		t.Fatalf("start with another master key: %v, want a message naming OAUTHD_PREVIOUS_MASTER_KEYS", err)
	}
	if err := start(second, first); err != nil {
		t.Fatalf("start with the old key in OAUTHD_PREVIOUS_MASTER_KEYS: %v", err)
	}
}
