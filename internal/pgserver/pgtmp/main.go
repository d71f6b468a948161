// Command pgtmp runs a throwaway PostgreSQL from the installed server
// binaries until it is interrupted; `make test` uses it when no
// OAUTHD_TEST_DATABASE_URL is given. It writes the server's URL to -url-file
// once the server accepts connections.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/oauthd/oauthd/internal/pgserver"
)

func main() {
	dir := flag.String("dir", "", "data directory (created)")
	urlFile := flag.String("url-file", "", "where to write the connection URL")
	durable := flag.Bool("durable", false, "keep fsync and synchronous commit on, as a deployment does (for benchmarks of writes)")
	flag.Parse()
	if *dir == "" || *urlFile == "" {
		fmt.Fprintln(os.Stderr, "usage: pgtmp -dir DIR -url-file FILE")
		os.Exit(2)
	}
	if err := serve(*dir, *urlFile, *durable); err != nil {
		fmt.Fprintln(os.Stderr, "pgtmp:", err)
		os.Exit(1)
	}
}

// serve runs the server until SIGINT or SIGTERM.
func serve(dir, urlFile string, durable bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv, err := pgserver.Start(ctx, pgserver.Options{DataDir: dir, Log: os.Stderr, Durable: durable})
	if err != nil {
		return err
	}
	defer func() { _ = srv.Stop() }()
	if err := os.WriteFile(urlFile, []byte(srv.URL()), 0o600); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}
