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
	flag.Parse()
	if *dir == "" || *urlFile == "" {
		fmt.Fprintln(os.Stderr, "usage: pgtmp -dir DIR -url-file FILE")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv, err := pgserver.Start(ctx, pgserver.Options{DataDir: *dir, Log: os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, "pgtmp:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*urlFile, []byte(srv.URL()), 0o600); err != nil {
		_ = srv.Stop()
		fmt.Fprintln(os.Stderr, "pgtmp:", err)
		os.Exit(1)
	}
	<-ctx.Done()
	_ = srv.Stop()
}
