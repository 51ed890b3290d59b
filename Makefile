# Everything here needs only Go (and make). `make demo` and `make test` are the two
# commands the README promises work on a fresh machine.
GO        ?= go
BIN       := bin/extract
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
DEMO_OUT  := demo-out
FUZZTIME  ?= 60s

SEEDS     ?= 50

# bench-cpu: where the 1M-row NDJSON for DuckDB is cached, and where the DuckDB Node API
# is installed (outside the repository; the one step that needs the network).
TMPROOT    := $(or $(TMPDIR),/tmp)
BENCH_DIR  ?= $(TMPROOT)/extract-cpubench
DUCKDB_DIR ?= $(TMPROOT)/extract-duckdb
DUCKDB_API ?= @duckdb/node-api@1.5.6-r.1

.PHONY: build test demo bench bench-cpu lint fuzz property faultmix clean

# A static, reproducible binary: deploy/Dockerfile runs the same command (a test checks).
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(BIN) ./cmd/extract

# The race detector is on; committed fuzz corpora run as regression cases.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...

demo: build
	rm -rf $(DEMO_OUT)
	./$(BIN) demo --output $(DEMO_OUT)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	@$(MAKE) --no-print-directory bench-cpu

# The CPU path (decode SuiteQL bodies, type the rows, write zstd Parquet) against DuckDB
# converting the same 1M rows from NDJSON to zstd Parquet on two threads, in alternating
# rounds, with the path's peak RSS at 100k and 1M rows (connector/cpubench_test.go).
# Without node and npm, or when the npm install fails, DuckDB is skipped and says why.
bench-cpu:
	@mkdir -p $(BENCH_DIR); duck=; skip=; \
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
		skip="node and npm are needed"; \
	elif [ ! -d $(DUCKDB_DIR)/node_modules/@duckdb/node-api ] && \
		! npm install --prefix $(DUCKDB_DIR) --no-audit --no-fund --loglevel=error $(DUCKDB_API) >$(BENCH_DIR)/npm.log 2>&1; then \
		skip="npm install $(DUCKDB_API) failed (see $(BENCH_DIR)/npm.log)"; \
	else \
		duck=$(DUCKDB_DIR); \
	fi; \
	$(GO) test -c -o $(BENCH_DIR)/connector.test ./connector/ && cd connector && \
	EXTRACT_CPUBENCH=1 EXTRACT_CPUBENCH_DIR=$(BENCH_DIR) EXTRACT_DUCKDB_MODULES="$$duck" EXTRACT_DUCKDB_SKIPPED="$$skip" \
		$(BENCH_DIR)/connector.test -test.run '^TestCPUPathReport$$' -test.timeout 30m

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Run each fuzzer for FUZZTIME (default 60s).
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodePage$$' -fuzztime $(FUZZTIME) ./connector/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodePageMatchesLegacy$$' -fuzztime $(FUZZTIME) ./connector/
	$(GO) test -run '^$$' -fuzz '^FuzzFastParsersMatchLegacy$$' -fuzztime $(FUZZTIME) ./schema/
	$(GO) test -run '^$$' -fuzz '^FuzzRejectedColumn$$' -fuzztime $(FUZZTIME) ./connector/
	$(GO) test -run '^$$' -fuzz '^FuzzParseIDList$$' -fuzztime $(FUZZTIME) ./schema/
	$(GO) test -run '^$$' -fuzz '^FuzzBuilderAppend$$' -fuzztime $(FUZZTIME) ./schema/
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./state/

# The incremental-fidelity property test with many seeds (CI runs 3).
property:
	$(GO) test -count=1 -run '^TestPropertyOutputEqualsNetSuite$$' -timeout 60m ./connector/pipeline/ -args -property.seeds=$(SEEDS)

# The fault-mix test (a storm of 429s and other failures, retried on a virtual clock)
# over SEEDS fault sequences (default 100; CI runs 3). One package at a time, no race
# detector: it is a long run, not a race check.
faultmix: SEEDS = 100
faultmix:
	$(GO) test -p 1 -count=1 -run '^TestFaultMixMatchesFaultFreeRun$$' -timeout 120m ./connector/pipeline/ -args -faultmix.seeds=$(SEEDS)

clean:
	rm -rf bin $(DEMO_OUT)
