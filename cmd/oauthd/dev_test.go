package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oauthd/oauthd/api/apitest"
)

// welcome is what `oauthd dev` printed for its user.
type welcome struct {
	base, email, password, apiKey, tenantID, componentID string
	createCurl, listCurl                                 []string // shell words
}

var (
	servingAtRe = regexp.MustCompile(`oauthd dev is serving at (http://\S+)`)
	fieldRe     = regexp.MustCompile(`(?m)^  (email|password|API key|tenant|component)\s+(.*)$`)
)

// readWelcome waits for the printed credentials and parses them and the
// two curl commands out of the output, as a user would copy them.
func readWelcome(t *testing.T, p *proc) welcome {
	t.Helper()
	p.waitLine(3*time.Minute, "the welcome text", func(l string) bool {
		return strings.HasPrefix(l, "Credentials are kept in")
	})
	out := p.output()
	start := strings.LastIndex(out, "oauthd dev is serving at")
	if start < 0 {
		t.Fatalf("no welcome text in:\n%s", out)
	}
	text := out[start:]
	var w welcome
	m := servingAtRe.FindStringSubmatch(text)
	if m == nil || strings.HasSuffix(m[1], ":0") {
		t.Fatalf("dev did not print its real address: %q", text[:min(len(text), 80)])
	}
	w.base = m[1]
	for _, f := range fieldRe.FindAllStringSubmatch(text, -1) {
		words := strings.Fields(f[2])
		switch f[1] {
		case "email":
			w.email = words[0]
		case "password":
			w.password = words[0]
		case "API key":
			w.apiKey = words[0]
		case "tenant":
			w.tenantID = words[1]
		case "component":
			w.componentID = words[1]
		}
	}
	if w.email == "" || w.password == "" || w.apiKey == "" || w.tenantID == "" || w.componentID == "" {
		t.Fatalf("welcome text lacks a credential: %+v\n%s", w, text)
	}
	// The commands start with "  curl "; a line ending in a backslash
	// continues on the next.
	var cmds [][]string
	lines := strings.Split(text, "\n")
	for i := 0; i < len(lines); i++ {
		if !strings.HasPrefix(lines[i], "  curl ") || !strings.Contains(lines[i], "/oauth-clients") {
			continue // the elastic.io commands; the token command is tested elsewhere
		}
		cmd := lines[i]
		for strings.HasSuffix(cmd, "\\") && i+1 < len(lines) {
			i++
			cmd = strings.TrimSuffix(cmd, "\\") + lines[i]
		}
		cmds = append(cmds, shellWords(t, cmd))
	}
	for _, c := range cmds {
		if containsWord(c, "POST") {
			w.createCurl = c
		} else {
			w.listCurl = c
		}
	}
	if w.createCurl == nil || w.listCurl == nil {
		t.Fatalf("welcome text lacks the two curl commands:\n%s", text)
	}
	return w
}

func containsWord(words []string, w string) bool {
	for _, x := range words {
		if x == w {
			return true
		}
	}
	return false
}

// shellWords splits a command line as sh does for the quoting the welcome
// text uses: single quotes, double quotes, plain words.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				t.Fatalf("unterminated quote in %s", s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				t.Fatalf("unterminated quote in %s", s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case ' ', '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// runCurl does what the printed curl command does (the subset of curl's
// options it uses), over real HTTP.
func runCurl(t *testing.T, words []string) (int, []byte) {
	t.Helper()
	if len(words) == 0 || words[0] != "curl" {
		t.Fatalf("not a curl command: %q", words)
	}
	method, target, user, data := "", "", "", ""
	header := http.Header{}
	for i := 1; i < len(words); i++ {
		switch w := words[i]; w {
		case "-X":
			i++
			method = words[i]
		case "-u":
			i++
			user = words[i]
		case "-H":
			i++
			k, v, _ := strings.Cut(words[i], ":")
			header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		case "-d", "--data":
			i++
			data = words[i]
		case "-g", "-s", "-sS", "-i":
		default:
			if strings.HasPrefix(w, "-") {
				t.Fatalf("the printed curl uses %s, which this test does not know", w)
			}
			target = w
		}
	}
	if method == "" {
		method = http.MethodGet
		if data != "" {
			method = http.MethodPost
		}
	}
	var body io.Reader
	if data != "" {
		body = strings.NewReader(data)
		if header.Get("Content-Type") == "" {
			header.Set("Content-Type", "application/x-www-form-urlencoded") // what curl -d sends
		}
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		t.Fatalf("the printed curl has a bad URL %q: %v", target, err)
	}
	req.Header = header
	if email, key, ok := strings.Cut(user, ":"); ok {
		req.SetBasicAuth(email, key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	defer func() { _ = resp.Body.Close() }()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// postgresOf is the pid of the private Postgres running for dataDir, or 0.
func postgresOf(t *testing.T, dataDir string) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("read /proc: %v", err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(cmdline), "\x00")
		if len(args) > 2 && strings.HasSuffix(args[0], "postgres") && containsWord(args, dataDir) {
			return pid
		}
	}
	return 0
}

func expectPostgresGone(t *testing.T, dataDir string) {
	t.Helper()
	// The server has exited when dev returns; allow the kernel a moment to
	// reap it.
	apitest.Eventually(t, 10*time.Second, func() error {
		if postgresOf(t, dataDir) != 0 {
			return fmt.Errorf("a postgres process for %s is still running after oauthd dev exited", dataDir)
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(dataDir, "postmaster.pid")); err == nil {
		t.Errorf("postmaster.pid left behind: the server was not shut down cleanly")
	}
}

func stopDev(t *testing.T, p *proc, dataDir string) {
	t.Helper()
	p.signal(syscall.SIGINT)
	if err := p.wait(60 * time.Second); err != nil {
		t.Fatalf("oauthd dev exited with %v after Ctrl-C, want status 0", err)
	}
	expectPostgresGone(t, dataDir)
}

func listedClientIDs(t *testing.T, body []byte) []string {
	t.Helper()
	var doc struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatalf("list is not JSON: %v: %s", err, body)
	}
	var ids []string
	for _, d := range doc.Data {
		ids = append(ids, d.ID)
	}
	return ids
}

// TestDevEndToEnd runs `oauthd dev` with no configuration twice in one
// folder: the printed commands work, Ctrl-C stops oauthd and its Postgres,
// and the second run finds the same credentials and data.
func TestDevEndToEnd(t *testing.T) {
	dir, err := os.MkdirTemp("", "oauthd-dev-test-")
	if err != nil {
		t.Fatal(err)
	}
	// When we are root the private Postgres runs as an unprivileged user,
	// which must be able to pass through the working directory.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(dir, ".oauthd-dev", "pg")
	t.Cleanup(func() {
		// Only if the test failed half-way: stop the Postgres this test
		// started, by its pid.
		if pid := postgresOf(t, dataDir); pid != 0 {
			_ = syscall.Kill(pid, syscall.SIGINT)
			expectPostgresGone(t, dataDir)
		}
		_ = os.RemoveAll(dir)
	})
	env := baseEnv("OAUTHD_LISTEN=127.0.0.1:0", "OAUTHD_METRICS_LISTEN=127.0.0.1:0")

	// First run: a fresh folder.
	p1 := startProc(t, dir, env, "dev")
	w1 := readWelcome(t, p1)
	if postgresOf(t, dataDir) == 0 {
		t.Fatalf("no private postgres runs for %s", dataDir)
	}
	// dev serves the metrics on their own listener and says where.
	if m := regexp.MustCompile(`metrics at (http://\S+/metrics)`).FindStringSubmatch(p1.output()); m == nil {
		t.Errorf("dev did not print its metrics address:\n%s", p1.output())
	} else if resp, err := http.Get(m[1]); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %v %v", m[1], err, resp)
	} else {
		_ = resp.Body.Close()
	}
	status, body := runCurl(t, w1.createCurl)
	if status != http.StatusCreated {
		t.Fatalf("the printed create command: %d %s, want 201", status, body)
	}
	var created struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &created); err != nil || created.Data.ID == "" {
		t.Fatalf("create response: %v: %s", err, body)
	}
	status, body = runCurl(t, w1.listCurl)
	if ids := listedClientIDs(t, body); status != http.StatusOK || len(ids) != 1 || ids[0] != created.Data.ID {
		t.Fatalf("the printed list command: %d %s, want the created client", status, body)
	}
	stopDev(t, p1, dataDir)
	// The secret is in the printed command, and must be nowhere else: not
	// in the request log lines.
	if n := strings.Count(p1.output(), "pizza-secret-123456"); n != 1 {
		t.Errorf("the client secret appears %d times in dev's output, want once (the printed command)", n)
	}

	// Second run: same folder, same credentials, same data.
	p2 := startProc(t, dir, env, "dev")
	w2 := readWelcome(t, p2)
	if w2.email != w1.email || w2.apiKey != w1.apiKey || w2.password != w1.password ||
		w2.tenantID != w1.tenantID || w2.componentID != w1.componentID {
		t.Fatalf("second run printed other credentials:\n first  %+v\n second %+v", w1, w2)
	}
	status, body = runCurl(t, w2.listCurl)
	if ids := listedClientIDs(t, body); status != http.StatusOK || len(ids) != 1 || ids[0] != created.Data.ID {
		t.Fatalf("after a restart the list shows %d %s, want the client created before", status, body)
	}
	// The first run's API key, used by hand against the new address.
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/v2/tenants/%s/oauth-clients/%s", w2.base, w1.tenantID, created.Data.ID), nil)
	req.SetBasicAuth(w1.email, w1.apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the first run's credentials on the second run: %d", resp.StatusCode)
	}
	// One client per component: the same command now conflicts.
	if status, body := runCurl(t, w2.createCurl); status != http.StatusConflict {
		t.Fatalf("the create command again: %d %s, want 409", status, body)
	}
	stopDev(t, p2, dataDir)
	if fi, err := os.Stat(filepath.Join(dir, ".oauthd-dev", "credentials.json")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials.json: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
}
