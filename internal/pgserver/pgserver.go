// Package pgserver runs a private PostgreSQL server from the installed server
// binaries (initdb, postgres). `oauthd dev` keeps one in a data folder between
// runs; tests start throwaway ones. initdb refuses to run as root, so when we
// are root the server runs as an unprivileged user.
package pgserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Options says where the server keeps its data and how it listens.
type Options struct {
	DataDir string    // created by initdb when empty
	Port    int       // 0 picks a free port
	Log     io.Writer // server output; nil discards it
	// Durable keeps fsync on; throwaway test servers turn it off for speed.
	Durable bool
}

// Server is a running private PostgreSQL.
type Server struct {
	opts Options
	bin  string
	cred *syscall.Credential
	cmd  *exec.Cmd
	done chan error
}

// BinDir finds the directory holding initdb and postgres: $OAUTHD_PG_BIN, the
// newest /usr/lib/postgresql/*/bin, or the directory of pg_ctl on PATH.
func BinDir() (string, error) {
	if dir := os.Getenv("OAUTHD_PG_BIN"); dir != "" {
		return dir, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("no PostgreSQL server binaries found (install postgresql, or set OAUTHD_PG_BIN to the directory holding initdb)")
}

func versionOf(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// Start initialises the data directory if needed and starts the server.
func Start(ctx context.Context, opts Options) (*Server, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, bin: bin}
	if s.opts.Log == nil {
		s.opts.Log = io.Discard
	}
	if os.Geteuid() == 0 {
		if s.cred, err = unprivileged(); err != nil {
			return nil, err
		}
	}
	if err := s.init(); err != nil {
		return nil, err
	}
	if s.opts.Port == 0 {
		if s.opts.Port, err = freePort(); err != nil {
			return nil, err
		}
	}
	if err := s.launch(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// URL is a connection string for the postgres superuser and database.
func (s *Server) URL() string { return s.DatabaseURL("postgres") }

// DatabaseURL is a connection string for the named database.
func (s *Server) DatabaseURL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.opts.Port, db)
}

// Port is the TCP port the server listens on.
func (s *Server) Port() int { return s.opts.Port }

func (s *Server) init() error {
	abs, err := filepath.Abs(s.opts.DataDir)
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	s.opts.DataDir = abs
	if err := s.checkReachable(); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(s.opts.DataDir, "PG_VERSION")); err == nil {
		return s.chown()
	}
	if err := os.MkdirAll(s.opts.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if err := s.chown(); err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(s.bin, "initdb"), "-D", s.opts.DataDir, "-U", "postgres",
		"--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// checkReachable fails clearly when the server's user cannot reach the data
// directory, instead of letting initdb say "Permission denied".
func (s *Server) checkReachable() error {
	if s.cred == nil {
		return nil
	}
	for dir := filepath.Dir(s.opts.DataDir); ; dir = filepath.Dir(dir) {
		fi, err := os.Stat(dir)
		if err == nil && !searchable(fi, s.cred) {
			return fmt.Errorf("PostgreSQL runs as uid %d because we are root, and cannot reach %s: "+
				"%s is not searchable by that user (chmod o+x it, or run as an ordinary user)", s.cred.Uid, s.opts.DataDir, dir)
		}
		if dir == filepath.Dir(dir) {
			return nil
		}
	}
}

func searchable(fi os.FileInfo, cred *syscall.Credential) bool {
	mode := fi.Mode().Perm()
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	switch {
	case st.Uid == cred.Uid:
		return mode&0o100 != 0
	case st.Gid == cred.Gid:
		return mode&0o010 != 0
	}
	return mode&0o001 != 0
}

func (s *Server) chown() error {
	if s.cred == nil {
		return nil
	}
	return filepath.Walk(s.opts.DataDir, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, int(s.cred.Uid), int(s.cred.Gid))
	})
}

func (s *Server) launch(ctx context.Context) error {
	// A server killed without a clean stop leaves its pid file behind; the
	// process is gone with its parent, so the file is stale.
	_ = os.Remove(filepath.Join(s.opts.DataDir, "postmaster.pid"))
	args := []string{"-D", s.opts.DataDir, "-p", strconv.Itoa(s.opts.Port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=",
		"-c", "max_connections=300", "-c", "shared_buffers=256MB"}
	if !s.opts.Durable {
		args = append(args, "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	}
	cmd := exec.Command(filepath.Join(s.bin, "postgres"), args...)
	// Own process group: a Ctrl-C meant for oauthd must not kill the server
	// before oauthd has drained its requests.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Setpgid: true, Pdeathsig: syscall.SIGTERM}
	cmd.Stdout, cmd.Stderr = s.opts.Log, s.opts.Log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	s.cmd = cmd
	s.done = make(chan error, 1)
	go func() { s.done <- cmd.Wait() }()
	return s.waitReady(ctx)
}

func (s *Server) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			return fmt.Errorf("postgres exited during start: %w", err)
		case <-ctx.Done():
			_ = s.Stop()
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		out, err := exec.Command(filepath.Join(s.bin, "pg_isready"), "-h", "127.0.0.1",
			"-p", strconv.Itoa(s.opts.Port), "-U", "postgres", "-d", "postgres").CombinedOutput()
		if err == nil && strings.Contains(string(out), "accepting") {
			return nil
		}
	}
	_ = s.Stop()
	return errors.New("postgres did not become ready within 60s")
}

// Stop shuts the server down (fast mode: open sessions are ended).
func (s *Server) Stop() error {
	if s.cmd == nil || s.cmd.Process == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
	return nil
}

// Restart starts a stopped server again on the same port and data.
func (s *Server) Restart(ctx context.Context) error {
	return s.launch(ctx)
}

func unprivileged() (*syscall.Credential, error) {
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, errors.New("running as root and no unprivileged user (postgres or nobody) to run PostgreSQL as")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}
