package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oauthd/oauthd/internal/testdb"
)

// readmeScript is the README's runnable walk-through: every sh block of
// the sections that a newcomer pastes in order after `make run`'s export
// block ("text" blocks are the ones that need a browser first).
func readmeScript(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var script strings.Builder
	section := ""
	lines := strings.Split(string(raw), "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(l, "## ") {
			section = l
			continue
		}
		walkThrough := strings.HasPrefix(section, "## Walk-through:") || strings.HasPrefix(section, "## In a browser")
		if l != "```sh" || !walkThrough {
			continue
		}
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			script.WriteString(lines[i] + "\n")
		}
	}
	if script.Len() == 0 {
		t.Fatal("the README has no walk-through blocks")
	}
	return script.String()
}

// exportBlock is the `export …` block `oauthd dev` printed, with its
// continuation lines.
func exportBlock(t *testing.T, out string) string {
	t.Helper()
	i := strings.LastIndex(out, "\nexport BASE=")
	if i < 0 {
		t.Fatalf("oauthd dev printed no export block:\n%s", out)
	}
	var block strings.Builder
	for _, l := range strings.Split(out[i+1:], "\n") {
		block.WriteString(l + "\n")
		if !strings.HasSuffix(l, "\\") {
			break
		}
	}
	return block.String()
}

// TestReadmeWalkThrough pastes `oauthd dev`'s export block and then every
// walk-through command of the README, in order, into bash with unset
// variables and failed pipelines as errors: each step works, the one
// documented 409 is the only error answer, and the status codes the
// README announces are the ones printed.
func TestReadmeWalkThrough(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README's walk-throughs need %s: apt-get install %s", tool, tool)
		}
	}
	p := startProc(t, t.TempDir(), baseEnv("OAUTHD_LISTEN=127.0.0.1:0", "OAUTHD_METRICS_LISTEN=127.0.0.1:0",
		"OAUTHD_DATABASE_URL="+testdb.New(t)), "dev")
	readWelcome(t, p)
	script := "set -euo pipefail\n" + exportBlock(t, p.output()) + readmeScript(t)
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	out, err := cmd.CombinedOutput()
	p.signal(syscall.SIGINT)
	if err := p.wait(60 * time.Second); err != nil {
		t.Errorf("oauthd dev exited with %v after Ctrl-C, want status 0", err)
	}
	if err != nil {
		t.Fatalf("the walk-through failed: %v\n%s", err, out)
	}
	text := string(out)
	if strings.Contains(text, "\nnull\n") || strings.HasPrefix(text, "null\n") {
		t.Errorf("a step printed null (an id or value the answer did not have):\n%s", text)
	}
	statuses := regexp.MustCompile(`"status": "(\d{3})"`).FindAllStringSubmatch(text, -1)
	if len(statuses) != 1 || statuses[0][1] != "409" || !strings.Contains(text, `"oauth_client_in_use"`) {
		t.Errorf("error answers %v, want only the documented 409 oauth_client_in_use:\n%s", statuses, text)
	}
	var codes []string
	for _, m := range regexp.MustCompile(`(?m)^(\d{3})$`).FindAllStringSubmatch(text, -1) {
		codes = append(codes, m[1])
	}
	if want := []string{"204", "200", "204", "401", "204"}; !slices.Equal(codes, want) {
		t.Errorf("status codes printed %v, want %v:\n%s", codes, want, text)
	}
	for _, want := range []string{`"token_type": "Bearer"`, `"user_code"`, "oauth/authorize?response_type=code"} {
		if !strings.Contains(text, want) {
			t.Errorf("the walk-through's output lacks %s:\n%s", want, text)
		}
	}
}
