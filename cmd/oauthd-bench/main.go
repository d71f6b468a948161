// Command oauthd-bench measures oauthd under load against a real server and
// writes the figures to docs/BENCHMARKS.md.
//
// It creates a database on a PostgreSQL server it is given (an admin URL,
// normally the throwaway server `make bench` starts), seeds it directly with
// set-based SQL (generate_series inside Postgres), starts the built `oauthd
// serve` binary against it on 127.0.0.1 and drives a fixed number of
// concurrent workers for a fixed time per scenario, keeping every latency
// sample. The data grows between shapes, so 1,000,000 rows are seeded once:
//
//	shape 1: other tenants hold   1,000 OAuth clients, the target tenant     10
//	shape 2: other tenants hold   1,000 OAuth clients, the target tenant 10,000
//	shape 3: other tenants hold 1,000,000 OAuth clients, the target tenant    10
//	shape 4: other tenants hold 1,000,000 OAuth clients, the target tenant 10,000
//
// Then, once, on a fresh server and the last shape's target tenant, the
// authorization server: POST /oauth/token (client_credentials) at
// concurrency 8 and 32, POST /oauth/introspect, a GET with a bearer
// token beside the same GET with basic auth, and the token endpoint
// against the ceiling (package ceiling, run as a process of its own by
// -ceiling-serve), alternating, CPU per request of each process.
//
// Usage (scripts/bench.sh does this):
//
//	oauthd-bench -admin-url $OAUTHD_TEST_DATABASE_URL -oauthd bin/oauthd -out docs/BENCHMARKS.md
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type config struct {
	adminURL    string
	oauthdBin   string
	dbName      string
	background  []int
	targets     []int
	perTenant   int
	spares      int
	concurrency int
	warmup      time.Duration
	duration    time.Duration
	out         string
	goBench     string
	as          string
	keep        bool
	lists       bool // the list/get/create-delete scenarios over every shape
	authserver  bool // token endpoint, introspection, bearer vs basic GET
	// authOnly, when set, names the authorization-server scenarios to run.
	authOnly map[string]bool
}

func main() {
	var c config
	var bg, tg, suites, authOnly string
	flag.StringVar(&c.adminURL, "admin-url", os.Getenv("OAUTHD_TEST_DATABASE_URL"), "admin URL of the PostgreSQL server to create the bench database on (default $OAUTHD_TEST_DATABASE_URL)")
	flag.StringVar(&c.oauthdBin, "oauthd", "bin/oauthd", "the built oauthd binary to run as the server")
	flag.StringVar(&c.dbName, "db", "oauthd_bench", "name of the database to (re)create")
	flag.StringVar(&bg, "background", "1000,1000000", "OAuth clients held by other tenants, one shape per value, ascending")
	flag.StringVar(&tg, "targets", "10,10000", "OAuth clients held by the target tenant, one shape per value")
	flag.IntVar(&c.perTenant, "per-tenant", 100, "OAuth clients per background tenant")
	flag.IntVar(&c.spares, "spares", 64, "spare components (no client yet) per target tenant for the create+delete cycle")
	flag.IntVar(&c.concurrency, "c", 8, "concurrent workers (each with its own keep-alive connection)")
	flag.DurationVar(&c.warmup, "warmup", 2*time.Second, "warm-up per scenario (not measured)")
	flag.DurationVar(&c.duration, "d", 10*time.Second, "measured time per scenario")
	flag.StringVar(&c.out, "out", "docs/BENCHMARKS.md", "report to write (empty: stdout only)")
	flag.StringVar(&c.goBench, "go-bench", "", "file holding `go test -bench` output to include in the report")
	flag.StringVar(&c.as, "as", "member", "who calls: member (a tenant member with the admin role: membership and Casbin checks run) or superuser")
	flag.BoolVar(&c.keep, "keep", false, "keep the bench database afterwards")
	flag.StringVar(&suites, "suites", "lists,authserver", "what to run: lists (the management API scenarios over every shape), authserver (token endpoint, introspection, bearer vs basic GET, once, on the last shape)")
	flag.StringVar(&authOnly, "auth-scenarios", "", "the authorization-server scenarios to run, comma-separated (default: all); get-basic runs interleaved with those of access-token and get-bearer that are named, e.g. get-basic,access-token; token-ceiling is the token endpoint against the ceiling, alternating")
	flag.IntVar(&ceilingRounds, "ceiling-rounds", ceilingRounds, "token-ceiling: pairs of legs (oauthd, ceiling), each leg half of -d measured after half of -warmup")
	ceilingServe := flag.Bool("ceiling-serve", false, "run as the ceiling token endpoint (started by oauthd-bench itself; see package ceiling)")
	flag.Parse()
	if *ceilingServe {
		if err := serveCeiling(); err != nil {
			log.Fatalf("ceiling: %v", err)
		}
		return
	}

	var err error
	if c.background, err = ints(bg); err != nil {
		log.Fatalf("-background: %v", err)
	}
	if c.targets, err = ints(tg); err != nil {
		log.Fatalf("-targets: %v", err)
	}
	for _, s := range strings.Split(suites, ",") {
		switch strings.TrimSpace(s) {
		case "lists":
			c.lists = true
		case "authserver":
			c.authserver = true
		default:
			log.Fatalf("-suites: unknown suite %q (lists, authserver)", s)
		}
	}
	if authOnly != "" {
		c.authOnly = map[string]bool{}
		for _, name := range strings.Split(authOnly, ",") {
			name = strings.TrimSpace(name)
			if name != ceilingScenario && !slices.ContainsFunc(authScenarios, func(sc scenario) bool { return sc.name == name }) {
				log.Fatalf("-auth-scenarios: unknown scenario %q", name)
			}
			c.authOnly[name] = true
		}
		if !c.authOnly["introspect-distinct"] {
			distinctTokens = 0 // nothing will walk the pool
		}
	}
	if c.adminURL == "" {
		log.Fatal("no PostgreSQL: set -admin-url or OAUTHD_TEST_DATABASE_URL (make bench starts a throwaway server)")
	}
	if c.as != "member" && c.as != "superuser" {
		log.Fatal("-as must be member or superuser")
	}
	if err := runInterruptible(c); err != nil {
		log.Fatalf("oauthd-bench: %v", err)
	}
}

// runInterruptible runs the benchmark until it ends or is interrupted.
func runInterruptible(c config) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return run(ctx, c)
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q is not a count", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}
