# oauthd — the two commands a newcomer needs are `make run` and `make test`.
GO        ?= go
TOOLS     := $(CURDIR)/.tools
GOLANGCI  := $(TOOLS)/golangci-lint
GOLANGCI_VERSION := v2.6.2
# make fuzz runs each fuzz target for FUZZTIME; make test runs them for
# TEST_FUZZTIME only (their seed corpora also run as plain tests).
FUZZTIME      ?= 1m
TEST_FUZZTIME ?= 3s
# Test packages run at once: most tests wait on PostgreSQL, not the CPU.
# A package may take longer than go test's default 10 minutes on a busy
# machine (the api package runs ~2 minutes alone under -race).
TEST_PARALLEL ?= 4

.PHONY: run build test test-go fuzz lint bench migrate clean browser screenshots

## run: start oauthd with no configuration (private Postgres, demo tenant, printed credentials)
# It builds first, saying so (the first build takes minutes), then runs the
# binary itself, so Ctrl-C reaches oauthd, which stops cleanly with status 0.
run:
	@echo "building oauthd (the first build downloads modules and takes a few minutes)..."
	@$(GO) build -o bin/oauthd ./cmd/oauthd
	@./bin/oauthd dev

## build: build the oauthd binary into bin/
build:
	$(GO) build -o bin/oauthd ./cmd/oauthd

## test: every test against a real PostgreSQL (a throwaway one unless OAUTHD_TEST_DATABASE_URL is set), then the fuzz targets briefly
test:
	./scripts/with-test-postgres.sh $(MAKE) --no-print-directory test-go fuzz FUZZTIME=$(TEST_FUZZTIME)

test-go:
	$(GO) test -race -count=1 -timeout 30m -p $(TEST_PARALLEL) ./...

## browser: install headless Chromium (Debian's chromium), which the console's browser tests drive
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
	@chromium --version

## screenshots: run the console's browser tests, saving their screenshots under docs/screenshots
screenshots:
	mkdir -p docs/screenshots
	OAUTHD_SCREENSHOTS=$(CURDIR)/docs/screenshots ./scripts/with-test-postgres.sh $(GO) test -count=1 -run '^TestBrowser' ./api/console/

## fuzz: each fuzz target for FUZZTIME (default 1m; e.g. make fuzz FUZZTIME=10m)
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzDecodeDocument$$' -fuzztime=$(FUZZTIME) ./api/
	$(GO) test -run='^$$' -fuzz='^FuzzParseList$$' -fuzztime=$(FUZZTIME) ./api/
	$(GO) test -run='^$$' -fuzz='^FuzzParseCursor$$' -fuzztime=$(FUZZTIME) ./internal/listing/
	$(GO) test -run='^$$' -fuzz='^FuzzParseDescriptor$$' -fuzztime=$(FUZZTIME) ./components/
	$(GO) test -run='^$$' -fuzz='^FuzzParseAccessToken$$' -fuzztime=$(FUZZTIME) ./authserver/
	$(GO) test -run='^$$' -fuzz='^FuzzAccessClaimsUnmarshal$$' -fuzztime=$(FUZZTIME) ./authserver/
	$(GO) test -run='^$$' -fuzz='^FuzzTokenRequest$$' -fuzztime=$(FUZZTIME) ./api/oauth2/
	$(GO) test -run='^$$' -fuzz='^FuzzPageInputs$$' -fuzztime=$(FUZZTIME) ./api/oauth2/
	$(GO) test -run='^$$' -fuzz='^FuzzConsoleForms$$' -fuzztime=$(FUZZTIME) ./api/console/
	$(GO) test -run='^$$' -fuzz='^FuzzVerify$$' -fuzztime=$(FUZZTIME) ./webhooks/

## lint: go vet, gofmt and golangci-lint (installed into .tools on first use)
lint: $(GOLANGCI)
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || (gofmt -l . && echo "gofmt: files above need formatting" && exit 1)
	$(GOLANGCI) run ./...

$(GOLANGCI):
	GOBIN=$(TOOLS) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_VERSION)

## bench: Go benchmarks, then a load run against a real server; figures go to docs/BENCHMARKS.md
bench:
	./scripts/with-test-postgres.sh ./scripts/bench.sh

## migrate: apply migrations to OAUTHD_DATABASE_URL
migrate:
	$(GO) run ./cmd/oauthd migrate

clean:
	rm -rf bin .tools
