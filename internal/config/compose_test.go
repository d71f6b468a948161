package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	composeVarRe      = regexp.MustCompile(`^\s+(OAUTHD_[A-Z_]+):\s*(.*?)\s*$`)
	composeDefaultRe  = regexp.MustCompile(`\$\{[A-Z_]+:-([^}]*)\}`)
	composeDefaultKey = "b2F1dGhkLWRldi1vbmx5LW1hc3Rlci1rZXktMDAwMDA="
)

// TestComposeDefaultsAreValid: `docker compose up` with nothing set must
// start, so the defaults in docker-compose.yml must pass the same checks
// `oauthd serve` makes.
func TestComposeDefaultsAreValid(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	clearEnv(t)
	found := map[string]string{}
	for _, line := range strings.Split(string(raw), "\n") {
		m := composeVarRe.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		value := composeDefaultRe.ReplaceAllString(m[2], "$1")
		found[m[1]] = value
		t.Setenv(m[1], value)
	}
	for _, name := range []string{"OAUTHD_DATABASE_URL", "OAUTHD_MASTER_KEY", "OAUTHD_BOOTSTRAP_SUPERUSER", "OAUTHD_LISTEN"} {
		if found[name] == "" {
			t.Errorf("docker-compose.yml does not set %s", name)
		}
	}
	if found["OAUTHD_LISTEN"] != "0.0.0.0:8080" {
		t.Errorf("OAUTHD_LISTEN in compose is %q; inside a container it must be 0.0.0.0:8080", found["OAUTHD_LISTEN"])
	}
	c, err := Load("DATABASE_URL", "MASTER_KEY")
	if err != nil {
		t.Fatalf("compose defaults do not load: %v", err)
	}
	if _, err := c.Keyring(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	if c.MasterKey != composeDefaultKey || !strings.Contains(string(raw), "DEV-ONLY") {
		t.Errorf("the compose master key default must be the documented dev-only placeholder")
	}
}
