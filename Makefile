# Tesla: `make run` starts the portal with a live demo fleet; `make test` runs every
# test (frontend unit tests, Go tests on the real PostgreSQL, the browser
# end-to-end test and the GraphQL-over-HTTP audit).

GO        ?= go
BIN       := bin/tesla
LISTEN    ?= 127.0.0.1:8080
GO_FILES  := $(shell find . -name '*.go' -not -path './frontend/node_modules/*' 2>/dev/null)
FRONT_SRC := $(shell find frontend/src frontend/index.html frontend/graphiql.html frontend/vite.config.ts graph/schema -type f 2>/dev/null)

.PHONY: run test test-go test-frontend bench bench-fleet generate lint e2e frontend build clean help

help:
	@echo "make run       build everything, prepare the database, seed the demo fleet, serve on http://$(LISTEN)"
	@echo "make test      run all tests (frontend unit, Go on PostgreSQL, browser e2e, GraphQL audit)"
	@echo "make bench     run the Go benchmarks (see docs/benchmarks.md)"
	@echo "make bench-fleet  the fleet benchmark: 250,000 hosts live, two replicas, dashboards over HTTP (HOSTS=3000 CLUSTERS=12 LARGEST=0 for the small one)"
	@echo "make generate  regenerate gqlgen and sqlc code"
	@echo "make lint      gofmt, go vet, and a check that generated code is current"

frontend/node_modules/.package-lock.json: frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	@touch $@

frontend/dist/index.html: frontend/node_modules/.package-lock.json $(FRONT_SRC)
	cd frontend && npm run build

frontend: frontend/dist/index.html

$(BIN): frontend/dist/index.html $(GO_FILES) go.mod go.sum
	$(GO) build -o $(BIN) .

build: $(BIN)

# run: the database is DATABASE_URL, else the local default (created if missing),
# else a private PostgreSQL under .tesla/pg when the server binaries are installed.
# The demo tokens are printed once, here, by `seed demo`; serve only names the file
# that keeps them (.tesla/demo-tokens.json, mode 0600), so they never reach a log.
run: $(BIN)
	@set -e; \
	DATABASE_URL=$$(./$(BIN) db ensure | tail -n 1); export DATABASE_URL; \
	./$(BIN) migrate up; \
	./$(BIN) seed demo --if-empty --tokens-file .tesla/demo-tokens.json; \
	TESLA_SIMULATE=$${TESLA_SIMULATE:-on} TESLA_OPERATIONS=$${TESLA_OPERATIONS:-simulated} TESLA_COOKIE_SECURE=$${TESLA_COOKIE_SECURE:-off} \
	TESLA_LISTEN=$${TESLA_LISTEN:-$(LISTEN)} TESLA_DEMO_TOKENS_FILE=.tesla/demo-tokens.json \
	exec ./$(BIN) serve

test-frontend: frontend/dist/index.html
	cd frontend && npm test

# The Go tests run last so the closing line is gotestsum's summary. TESLA_E2E=require
# turns a missing browser or Node into a failure instead of a skip. The browser tests
# run after the others and one at a time: each drives a real Chromium against a real
# server with timeouts of seconds, which two cores shared with the whole Go suite
# cannot promise.
BROWSER_TESTS := TestBrowser|TestGraphQLOverHTTPAudit
test-go: frontend/dist/index.html
	$(GO) vet ./...
	TESLA_E2E=require $(GO) tool gotestsum --format testname -- -count=1 -timeout 20m -skip '$(BROWSER_TESTS)' ./...
	TESLA_E2E=require $(GO) tool gotestsum --format testname -- -count=1 -timeout 20m -parallel 1 -run '$(BROWSER_TESTS)' ./internal/app/

test: test-frontend test-go

e2e: frontend/dist/index.html
	TESLA_E2E=require $(GO) test -count=1 -run '$(BROWSER_TESTS)' -v ./internal/app/

bench: frontend/dist/index.html
	$(GO) test -run '^$$' -bench . -benchmem -benchtime=$${BENCHTIME:-3s} ./...

# bench-fleet seeds a fleet into a database of its own (tesla_fleet_<hosts>, on the
# server `db ensure` finds), runs two server replicas with the live ticker, drives
# the dashboards' queries and prints the results table (docs/benchmarks.md).
bench-fleet: $(BIN)
	@set -e; \
	DATABASE_URL=$$(./$(BIN) db ensure | tail -n 1); export DATABASE_URL; \
	./$(BIN) bench fleet --hosts $${HOSTS:-250000} --clusters $${CLUSTERS:-200} --largest $${LARGEST:-20000} \
		--duration $${DURATION:-3m} --workers $${WORKERS:-4}

# sqlc compiles the .sql files under internal/*/dbsqlc against migrations/ (see
# sqlc.yaml); its first build takes a few minutes, as it compiles a PostgreSQL parser.
generate:
	$(GO) tool gqlgen generate
	$(GO) tool sqlc generate

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1)
	$(GO) vet ./...
	$(GO) tool gqlgen generate
	@git diff --exit-code -- graph || (echo "generated gqlgen code is stale: run make generate"; exit 1)
	@$(GO) tool sqlc diff || (echo "generated sqlc code is stale: run make generate"; exit 1)

clean:
	rm -rf bin frontend/node_modules/.vite
	cd frontend && node scripts/clean-dist.mjs
