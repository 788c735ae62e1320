# qtc — see README.md. `make demo` and `make test` are the two set-up commands.
GO      ?= go
BIN     ?= bin/qtc
PKGS    := ./...
FUZZTIME ?= 30s

.PHONY: all build demo test bench fuzz fmt vet lint clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/qtc

demo:
	$(GO) run ./cmd/qtc demo

# What CI runs (.ci/run): gofmt, vet, staticcheck, then every test with the
# race detector.
test: vet lint
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

# Longer fuzzing of every decoder of outside input.
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin
