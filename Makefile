# Everything here needs only Go (and make). `make demo` and `make test` are the two
# commands the README promises work on a fresh machine.
GO        ?= go
BIN       := bin/extract
VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
DEMO_OUT  := demo-out
FUZZTIME  ?= 60s

SEEDS     ?= 50

.PHONY: build test demo bench lint fuzz property clean

build:
	$(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/extract

# The race detector is on; committed fuzz corpora run as regression cases.
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 15m ./...

demo: build
	rm -rf $(DEMO_OUT)
	./$(BIN) demo --output $(DEMO_OUT)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

# Run each fuzzer for FUZZTIME (default 60s).
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodePage$$' -fuzztime $(FUZZTIME) ./connector/
	$(GO) test -run '^$$' -fuzz '^FuzzRejectedColumn$$' -fuzztime $(FUZZTIME) ./connector/
	$(GO) test -run '^$$' -fuzz '^FuzzParseIDList$$' -fuzztime $(FUZZTIME) ./schema/
	$(GO) test -run '^$$' -fuzz '^FuzzBuilderAppend$$' -fuzztime $(FUZZTIME) ./schema/
	$(GO) test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME) ./state/

# The incremental-fidelity property test with many seeds (CI runs 3).
property:
	$(GO) test -count=1 -run '^TestPropertyOutputEqualsNetSuite$$' -timeout 60m ./connector/pipeline/ -args -property.seeds=$(SEEDS)

clean:
	rm -rf bin $(DEMO_OUT)
