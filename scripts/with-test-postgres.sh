#!/usr/bin/env bash
# Runs the given command with OAUTHD_TEST_DATABASE_URL pointing at a
# PostgreSQL server. When none is given, a throwaway server is started from
# the installed binaries (as an unprivileged user when we are root) and
# removed afterwards, so `make test` needs nothing running. The throwaway
# server runs with fsync off unless OAUTHD_TEST_PG_DURABLE=1 (benchmarks of
# writes as a deployment commits them).
set -euo pipefail
if [ -n "${OAUTHD_TEST_DATABASE_URL:-}" ]; then
  exec "$@"
fi
tmp=$(mktemp -d -t oauthd-test-XXXXXX)
chmod 755 "$tmp"
go build -o "$tmp/pgtmp" ./internal/pgserver/pgtmp
"$tmp/pgtmp" -dir "$tmp/pg" -url-file "$tmp/url" ${OAUTHD_TEST_PG_DURABLE:+-durable} 2>"$tmp/postgres.log" &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
for _ in $(seq 1 600); do
  [ -s "$tmp/url" ] && break
  if ! kill -0 "$pid" 2>/dev/null; then cat "$tmp/postgres.log" >&2; echo "throwaway postgres failed to start" >&2; exit 1; fi
  sleep 0.1
done
[ -s "$tmp/url" ] || { cat "$tmp/postgres.log" >&2; echo "throwaway postgres did not start in 60s" >&2; exit 1; }
export OAUTHD_TEST_DATABASE_URL
OAUTHD_TEST_DATABASE_URL=$(cat "$tmp/url")
echo "test postgres: $OAUTHD_TEST_DATABASE_URL"
"$@"
