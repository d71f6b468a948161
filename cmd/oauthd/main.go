// Command oauthd runs the oauthd service and its administration tasks.
//
//	oauthd serve     serve the API (configuration from OAUTHD_* variables)
//	oauthd dev       serve with no configuration: a private Postgres, a demo tenant and printed credentials
//	oauthd migrate   apply database migrations and exit
//	oauthd admin     administration: create-superuser, create-tenant, add-member, create-api-key
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

const usage = `usage: oauthd <command> [flags]

commands:
  serve     serve the API; configure with OAUTHD_* environment variables
  dev       serve with no configuration (private Postgres in ./.oauthd-dev, demo tenant, printed credentials)
  migrate   apply the embedded database migrations and exit
  admin     administration tasks; run "oauthd admin" for the list
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// The first signal starts a graceful shutdown; a second one (another
	// Ctrl-C) gets the default behaviour and ends the process at once.
	go func() {
		<-ctx.Done()
		stop()
	}()
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(ctx)
	case "dev":
		err = dev(ctx)
	case "migrate":
		err = migrate(ctx)
	case "admin":
		err = admin(ctx, os.Args[2:])
	case "help", "-h", "--help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "oauthd: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "oauthd:", err)
		os.Exit(1)
	}
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	switch strings.ToLower(level) {
	case "debug":
		l = slog.LevelDebug
	case "warn":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: l}))
}
