package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binDir holds the oauthd binary built once for the tests that run it as a
// process, as users and container runtimes do.
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	binDir    string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// oauthdBinary builds cmd/oauthd once per test process.
func oauthdBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "oauthd-bin-")
		if buildErr != nil {
			return
		}
		// The binary may run a private Postgres as an unprivileged user,
		// which need not read it; but keep the directory reachable.
		_ = os.Chmod(binDir, 0o755)
		binPath = filepath.Join(binDir, "oauthd")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = &buildError{err: err, out: string(out)}
		}
	})
	if buildErr != nil {
		t.Fatalf("build oauthd: %v", buildErr)
	}
	return binPath
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

// baseEnv is a clean environment: nothing OAUTHD_* leaks in from the test
// process.
func baseEnv(extra ...string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if v := os.Getenv("OAUTHD_PG_BIN"); v != "" {
		env = append(env, "OAUTHD_PG_BIN="+v)
	}
	return append(env, extra...)
}

// proc is a running oauthd whose output the test reads line by line.
type proc struct {
	t     *testing.T
	cmd   *exec.Cmd
	mu    sync.Mutex
	out   strings.Builder
	lines chan string
	done  chan struct{}
	err   error
}

func startProc(t *testing.T, dir string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(oauthdBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = env
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	p := &proc{t: t, cmd: cmd, lines: make(chan string, 4096), done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start oauthd %v: %v", args, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		p.err = cmd.Wait()
		close(p.lines)
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("oauthd %v output:\n%s", args, p.output())
		}
	})
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// waitLine returns the first line (from those not yet read) for which match
// is true.
func (p *proc) waitLine(within time.Duration, what string, match func(string) bool) string {
	p.t.Helper()
	timeout := time.After(within)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				p.t.Fatalf("oauthd exited (%v) before printing %s", p.err, what)
			}
			if match(l) {
				return l
			}
		case <-timeout:
			p.t.Fatalf("oauthd did not print %s within %s", what, within)
		}
	}
}

func (p *proc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal oauthd: %v", err)
	}
}

// wait waits for the process to exit and returns its error (nil: exit 0).
func (p *proc) wait(within time.Duration) error {
	p.t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(within):
		p.t.Fatalf("oauthd did not exit within %s", within)
		return nil
	}
}
