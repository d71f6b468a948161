// Command oauthd runs the oauthd service and its administration tasks.
//
//	oauthd serve     serve the API (configuration from OAUTHD_* variables)
//	oauthd dev       serve with no configuration: a private Postgres, a demo tenant and printed credentials
//	oauthd migrate   apply database migrations and exit
//	oauthd admin     administration: users, tenants, members, API keys and clients, signing keys, master key rewrap
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"syscall"
	"text/tabwriter"

	"github.com/oauthd/oauthd/internal/config"
)

const usage = `oauthd manages a platform's OAuth clients and is its OAuth 2.0 authorization server.

usage: oauthd <command> [flags]

commands:
  serve     serve the API; configure with OAUTHD_* environment variables ("oauthd serve --help" lists them)
  dev       serve with no configuration (private Postgres in ./.oauthd-dev, demo tenant, printed credentials)
  migrate   apply the embedded database migrations and exit
  admin     administration tasks: users, tenants, members, API keys, API clients, signing keys, rewrap ("oauthd admin --help")
  version   print the version and exit
  help      print this text

"oauthd <command> --help" describes each command.
`

// commandHelp is what "oauthd <command> --help" prints.
var commandHelp = map[string]string{
	"serve": "usage: oauthd serve\n\nServes the API, the OAuth 2.0 endpoints and the sign-in pages until SIGTERM or Ctrl-C,\n" +
		"then drains in-flight requests. It takes no arguments; it is configured by these\nenvironment variables:\n\n",
	"dev": "usage: oauthd dev\n\nServes with no configuration for a developer: without OAUTHD_DATABASE_URL it starts a\n" +
		"private PostgreSQL in ./.oauthd-dev (kept between runs), migrates, ensures a demo tenant,\n" +
		"a superuser and an API client, prints their credentials and an export block for the\n" +
		"README's walk-throughs, and serves /metrics on 127.0.0.1:9464. Every variable of\n" +
		"\"oauthd serve --help\" still applies.\n",
	"migrate": "usage: oauthd migrate\n\nApplies the migrations embedded in this binary to OAUTHD_DATABASE_URL and exits.\n" +
		"Several instances may run it at once (a Postgres advisory lock orders them); serve\nmigrates at start too.\n",
	"version": "usage: oauthd version\n\nPrints the version, the commit it was built from and the Go version.\n",
}

func main() { os.Exit(execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// execute runs one command and returns the process's exit code: 0 on
// success and for --help, 2 for a usage mistake, 1 when the command fails.
func execute(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) < 1 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "serve", "dev", "migrate", "version":
		if wantsHelp(rest) {
			printHelp(stdout, name)
			return 0
		}
		if len(rest) > 0 {
			fmt.Fprintf(stderr, "oauthd %s: unexpected argument %q (it takes none; see \"oauthd %s --help\")\n", name, rest[0], name)
			return 2
		}
	case "admin":
		if wantsHelp(rest) {
			fmt.Fprint(stdout, adminUsage)
			return 0
		}
	default:
		fmt.Fprintf(stderr, "oauthd: unknown command %q\n\n%s", name, usage)
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
	switch name {
	case "serve":
		tuneGC()
		err = serve(ctx)
	case "dev":
		tuneGC()
		err = dev(ctx)
	case "migrate":
		err = migrate(ctx)
	case "version":
		_, err = fmt.Fprintln(stdout, versionText())
	case "admin":
		err = admin(ctx, rest, stdin, stdout)
		var usageErr *usageError
		if errors.As(err, &usageErr) {
			fmt.Fprintln(stderr, "oauthd:", err)
			return 2
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "oauthd:", err)
		return 1
	}
	return 0
}

// wantsHelp is true when the arguments ask for help, wherever they do.
func wantsHelp(args []string) bool {
	return slices.ContainsFunc(args, func(a string) bool { return a == "-h" || a == "-help" || a == "--help" })
}

// printHelp prints a command's help; serve's and dev's list every
// variable with its default and meaning.
func printHelp(w io.Writer, name string) {
	fmt.Fprint(w, commandHelp[name])
	if name != "serve" && name != "dev" {
		return
	}
	if name == "dev" {
		fmt.Fprint(w, "\nVariables:\n\n")
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, v := range config.Variables() {
		def := v.Default
		if def == "" {
			def = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Name, def, v.Help)
	}
	_ = tw.Flush()
}

// versionText is the module version and the commit and time it was built
// from, as the Go toolchain recorded them.
func versionText() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "oauthd (no build information)"
	}
	version := info.Main.Version
	if version == "" || version == "(devel)" {
		version = "devel"
	}
	out := "oauthd " + version
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		out += " commit " + rev[:min(len(rev), 12)]
		if settings["vcs.modified"] == "true" {
			out += " (modified)"
		}
		if at := settings["vcs.time"]; at != "" {
			out += " " + at
		}
	}
	return out + " " + info.GoVersion
}

// serverGCPercent is the GOGC a server runs with unless GOGC is set. Every
// request allocates a few KiB that die with it; at Go's default of 100 the
// collector ran so often under load that it took about a sixth of the CPU
// (make bench: +15-20% tokens/s and introspections/s at 400). oauthd's live
// heap is small (its caches are bounded, the permission policy aside, which
// grows with the members of every tenant: docs/SCALING.md), so letting it grow to five
// times that between collections costs little memory.
const serverGCPercent = 400

// tuneGC applies serverGCPercent; an operator's GOGC (or GOMEMLIMIT, which
// works alongside it) wins.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serverGCPercent)
	}
}

func newLogger(level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: level}))
}
