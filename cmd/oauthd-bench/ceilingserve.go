package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/oauthd/oauthd/cmd/oauthd-bench/ceiling"
)

// The ceiling runs as a process of its own, so that its CPU time is read
// from /proc as oauthd's is: oauthd-bench starts itself again with
// -ceiling-serve, giving it the token client's id and secret, and reads
// the address it listens on from its first line of output.

const ceilingEnv = "OAUTHD_BENCH_CEILING" // client id, secret, tenant id, issuer, tab-separated

// serveCeiling is the -ceiling-serve mode: the ceiling on 127.0.0.1 until
// SIGTERM.
func serveCeiling() error {
	f := strings.Split(os.Getenv(ceilingEnv), "\t")
	if len(f) != 4 {
		return errors.New(ceilingEnv + " must hold client id, secret, tenant id and issuer, tab-separated")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	srv := &http.Server{Handler: ceiling.Handler(f[0], f[1], f[3], f[2], key), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ceilingProc is a running ceiling.
type ceilingProc struct {
	cmd  *exec.Cmd
	base string
}

// startCeiling runs this binary again as the ceiling for the given client.
func startCeiling(clientID, secret, tenantID, issuer string) (*ceilingProc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-ceiling-serve")
	cmd.Env = append(os.Environ(), ceilingEnv+"="+strings.Join([]string{clientID, secret, tenantID, issuer}, "\t"))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	addr := make(chan string, 1)
	go func() {
		var line [64]byte
		n, _ := out.Read(line[:])
		addr <- strings.TrimSpace(string(line[:n]))
	}()
	select {
	case a := <-addr:
		if a == "" {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return nil, errors.New("the ceiling did not start")
		}
		return &ceilingProc{cmd: cmd, base: "http://" + a}, nil
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, errors.New("the ceiling did not start within 10s")
	}
}

func (c *ceilingProc) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}
