# qtc — see README.md. `make demo` and `make test` are the two set-up commands.
GO      ?= go
BIN     ?= bin/qtc
PKGS    := ./...
FUZZTIME ?= 30s
SMOKE_FUZZTIME ?= 300x

.PHONY: all build demo test bench fuzz fuzz-smoke fmt vet lint clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/qtc

demo:
	$(GO) run ./cmd/qtc demo

# What CI runs (.ci/run): gofmt, vet, staticcheck, every fuzz target
# briefly, then every test with the race detector.
test: vet lint fuzz-smoke
	$(GO) test -race -count=1 $(PKGS)

# staticcheck is pinned in go.mod as a tool dependency.
lint:
	$(GO) tool staticcheck $(PKGS)

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet $(PKGS)

# Throughput and latency figures (not run by `make test`).
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

# Fuzzing of every decoder of outside input: every Fuzz target of every
# package, FUZZTIME each. Each package's instrumented test binary is built
# once and run per target in the package's directory, with go test's fuzz
# cache. Crashers land in the package's testdata/fuzz/ and stay there as
# regression cases that plain `go test` runs.
fuzz:
	@bin=$$(mktemp -d) && trap 'rm -rf "$$bin"' EXIT && \
	mod=$$($(GO) list -m) && cache=$(if $(FUZZFRESH),$$bin/fuzzcache,$$($(GO) env GOCACHE)/fuzz) && \
	grep -r --include='*_test.go' -o '^func Fuzz[A-Za-z0-9_]*' . | sed 's|^\./\(.*\)/[^/]*:func \(.*\)|\1 \2|' | sort | \
	while read dir f; do \
	  t="$$bin/$$(echo $$dir | tr / _).test"; \
	  [ -x "$$t" ] || $(GO) test -c -fuzz=. -o "$$t" ./$$dir || exit 1; \
	  echo "== $$mod/$$dir $$f ($(FUZZTIME))"; \
	  (cd $$dir && "$$t" -test.run '^$$' -test.fuzz "^$$f$$" -test.fuzztime $(FUZZTIME) -test.fuzzcachedir "$$cache/$$mod/$$dir") || exit 1; \
	done

# The same loop, briefly: part of `make test`. A count of inputs, not a
# time (a time limit can expire while the fuzzer is still reading its
# corpus, which fails the target), and an empty fuzz cache (the seeds and
# testdata only), so the run does not grow with earlier fuzzing.
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(SMOKE_FUZZTIME) FUZZFRESH=1

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
