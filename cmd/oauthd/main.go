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
	"runtime/debug"
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

func main() { os.Exit(execute(os.Args[1:])) }

// execute runs one command and returns the process's exit code.
func execute(args []string) int {
	if len(args) < 1 {
		fmt.Fprint(os.Stderr, usage)
		return 2
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
	switch args[0] {
	case "serve":
		tuneGC()
		err = serve(ctx)
	case "dev":
		tuneGC()
		err = dev(ctx)
	case "migrate":
		err = migrate(ctx)
	case "admin":
		err = admin(ctx, args[1:], os.Stdout)
	case "help", "-h", "--help":
		fmt.Print(usage)
		return 0
	default:
		fmt.Fprintf(os.Stderr, "oauthd: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "oauthd:", err)
		return 1
	}
	return 0
}

// serverGCPercent is the GOGC a server runs with unless GOGC is set. Every
// request allocates a few KiB that die with it; at Go's default of 100 the
// collector ran so often under load that it took about a sixth of the CPU
// (make bench: +15-20% tokens/s and introspections/s at 400). oauthd's live
// heap is small (caches bounded to tens of MiB), so letting it grow to five
// times that between collections costs little memory.
const serverGCPercent = 400

// tuneGC applies serverGCPercent; an operator's GOGC (or GOMEMLIMIT, which
// works alongside it) wins.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serverGCPercent)
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
