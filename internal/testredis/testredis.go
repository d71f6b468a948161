// Package testredis starts a throwaway Redis for a test, from the
// installed redis-server binary, as internal/testdb gives tests Postgres.
package testredis

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/oauthd/oauthd/internal/budget"
)

// Start runs a throwaway redis-server from the installed binary on a
// free loopback port, for this test only. A machine without it fails the
// test with the command that installs it: the Redis store is never left
// untested.
func Start(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server is not installed; install it with: apt-get install -y redis-server")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	cmd := exec.Command(bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir())
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	url := fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	r, err := budget.NewRedis(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Close() }()
	for deadline := time.Now().Add(10 * time.Second); r.Ping(context.Background()) != nil; {
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return url
}
