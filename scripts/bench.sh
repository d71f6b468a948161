#!/usr/bin/env bash
# make bench: the Go benchmarks, then a load run against a real `oauthd serve`
# (cmd/oauthd-bench). Writes docs/BENCHMARKS.md from the figures measured.
#
# Needs OAUTHD_TEST_DATABASE_URL, an admin URL of a PostgreSQL server the run
# may create a database on; `make bench` runs this script under
# scripts/with-test-postgres.sh, which starts a throwaway server.
#
# Knobs (environment): BENCHTIME for the Go benchmarks (default 1s),
# BENCH_FLAGS for oauthd-bench (e.g. "-c 16 -d 20s", or
# "-background 1000,20000 -targets 10,1000" for a quick try, or
# "-suites authserver" for only the token endpoint, introspection and the
# bearer-vs-basic GET, or "-suites authserver -auth-scenarios token-ceiling"
# for only the token endpoint against the ceiling, a minimal token endpoint
# (cmd/oauthd-bench/ceiling) run beside oauthd in alternating legs, CPU per
# token of each process; -h lists them). OAUTHD_TEST_PG_DURABLE=1 makes the
# throwaway PostgreSQL keep fsync and synchronous commit on, as deployed, so
# commits cost what they cost in production (the report says which it was).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${OAUTHD_TEST_DATABASE_URL:?set it to a PostgreSQL admin URL, or run make bench}"

tmp=$(mktemp -d -t oauthd-bench-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/oauthd" ./cmd/oauthd
go build -o "$tmp/oauthd-bench" ./cmd/oauthd-bench

echo "== Go benchmarks (BENCHTIME=${BENCHTIME:-1s})"
if ! go test -run '^$' -bench . -benchtime "${BENCHTIME:-1s}" -count 1 ./api ./oauthclients ./api/oauth2 ./apiclients ./authserver 2>&1 | tee "$tmp/gobench.txt"; then
  echo "go benchmarks failed; the load run goes on" >&2
  echo "(the Go benchmarks failed in this run; see the make bench output)" >>"$tmp/gobench.txt"
fi

echo "== load run against oauthd serve"
mkdir -p docs
# shellcheck disable=SC2086 # BENCH_FLAGS is a list of flags
"$tmp/oauthd-bench" -oauthd "$tmp/oauthd" -go-bench "$tmp/gobench.txt" -out docs/BENCHMARKS.md ${BENCH_FLAGS:-}
