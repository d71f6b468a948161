package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"sync/atomic"
	"syscall"
	"time"
)

// benchIssuer is the server's OAUTHD_ISSUER (the ceiling's iss too).
const benchIssuer = "http://127.0.0.1"

// server is `oauthd serve` running as a child process on 127.0.0.1.
type server struct {
	cmd       *exec.Cmd
	base      string
	done      chan error
	errorLogs atomic.Int64
}

// startServer runs the built binary against dbURL, as a deployment would:
// configuration from OAUTHD_* variables, a bootstrap superuser, one line of
// log per request (at the default level; the bench drains it).
func startServer(ctx context.Context, bin, dbURL, masterKey, bootstrap string) (*server, error) {
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(),
		"OAUTHD_DATABASE_URL="+dbURL,
		"OAUTHD_MASTER_KEY="+masterKey,
		"OAUTHD_BOOTSTRAP_SUPERUSER="+bootstrap,
		"OAUTHD_LISTEN=127.0.0.1:0",
		"OAUTHD_ISSUER="+benchIssuer,
		// The connection scenario's fake provider listens on loopback.
		"OAUTHD_OUTBOUND_ALLOW_PRIVATE=true",
		// Under load (and -race in its test) a request may wait longer than
		// a production deadline allows; a load run measures, it does not
		// fail requests early.
		"OAUTHD_DB_TIMEOUT=60s",
	)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s serve: %w", bin, err)
	}
	s := &server{cmd: cmd, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		r := bufio.NewReaderSize(stdout, 64<<10)
		shown := 0
		for {
			line, err := r.ReadBytes('\n')
			if len(line) > 0 {
				if bytes.Contains(line, []byte(`"msg":"serving"`)) {
					var m struct{ Addr string }
					if json.Unmarshal(line, &m) == nil {
						select {
						case addr <- m.Addr:
						default:
						}
					}
				}
				if bytes.Contains(line, []byte(`"level":"ERROR"`)) {
					s.errorLogs.Add(1)
					if shown < 5 {
						shown++
						fmt.Fprintf(os.Stderr, "oauthd: %s", line)
					}
				}
			}
			if err != nil {
				_, _ = io.Copy(io.Discard, r)
				break
			}
		}
		s.done <- cmd.Wait()
	}()
	select {
	case a := <-addr:
		s.base = "http://" + a
	case err := <-s.done:
		return nil, fmt.Errorf("oauthd exited before serving: %w", err)
	case <-time.After(60 * time.Second):
		s.stop()
		return nil, errors.New("oauthd did not start serving within 60s")
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
	// Ready when /readyz says so (database reachable, migrations current).
	for i := 0; i < 100; i++ {
		resp, err := http.Get(s.base + "/readyz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.stop()
	return nil, errors.New("oauthd never became ready")
}

// stop sends SIGTERM (the server drains) and waits.
func (s *server) stop() {
	if s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}
