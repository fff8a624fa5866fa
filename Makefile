# berth — build, test and demo. `make test` sets up everything it needs on a
# fresh Debian machine with Go (as root: Debian packages, test images).

export PATH := /usr/local/go/bin:$(PATH)
GO      ?= go
BIN     := bin/berth
# `berth k8s` lives in bin/berth-k8s: the same commands built with the tag
# k8s (client-go and k8s.io/api), executed by `berth k8s` (docs/design.md).
K8S_BIN := bin/berth-k8s
PKGS     = $(shell $(GO) list ./... | grep -v /e2e)
IS_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo yes)

.PHONY: all build deps kube-assets vet lint fmt-check test test-unit test-fuzz test-e2e fuzz bench demo clean

all: build

# Static: the berth binary is also bind-mounted into containers as their
# init (`init: true`), so it must not need the host's libc.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN) ./cmd/berth
	CGO_ENABLED=0 $(GO) build -trimpath -tags k8s -o $(K8S_BIN) ./cmd/berth

# Debian packages the root and e2e tiers need (runc, busybox-static, …).
deps:
ifeq ($(IS_ROOT),yes)
	bash scripts/install-deps.sh
else
	@echo "deps: not root — skipping Debian packages (root and e2e tiers will be skipped)"
endif

# The Kubernetes control plane of the k8s tier (kube-apiserver and kubectl
# built from k8s.io/kubernetes in tools/kube, Debian's etcd), built once into
# a cache dir keyed by version: the first build is 10–25 min on 2 cores,
# later runs find it. Tests of the tier read KUBEBUILDER_ASSETS; as root
# they fail when it is missing, so the tier is never skipped silently.
KUBE_ASSETS_CACHE ?= $(or $(BERTH_KUBE_ASSETS_CACHE),/root/.cache/berth-kube)
KUBE_ASSETS := $(KUBE_ASSETS_CACHE)/v1.37.2
kube-assets: deps
ifeq ($(IS_ROOT),yes)
	BERTH_KUBE_ASSETS_CACHE=$(KUBE_ASSETS_CACHE) GO=$(GO) sh scripts/kube-assets.sh
else
	@echo "kube-assets: not root — skipping (the k8s tier will be skipped)"
endif

vet:
	$(GO) vet ./...
	$(GO) vet -tags k8s ./cmd/berth

# staticcheck, pinned, built once into .cache (ignored by git); and go.mod
# must be tidy.
STATICCHECK_VERSION := v0.8.2
STATICCHECK := .cache/bin/staticcheck-$(STATICCHECK_VERSION)
$(STATICCHECK):
	mkdir -p .cache/bin
	GOBIN=$(CURDIR)/.cache/bin/tmp $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	mv .cache/bin/tmp/staticcheck $@ && rmdir .cache/bin/tmp

lint: $(STATICCHECK)
	$(STATICCHECK) ./...
	$(STATICCHECK) -tags k8s ./cmd/berth
	$(GO) mod tidy -diff

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Unit tests everywhere; root-tier tests in the same packages run when root
# and skip with a visible message otherwise.
test-unit:
	KUBEBUILDER_ASSETS=$(KUBE_ASSETS) $(GO) test -count=1 -timeout 20m $(PKGS)
	$(GO) test -count=1 -timeout 10m -tags k8s ./cmd/berth

# Fuzz targets of every parser of untrusted input (layer tar entries, cp
# paths, port specs, names, env files): a short bounded run of each in
# `make test`, a longer one in `make fuzz` (FUZZTIME=10m make fuzz).
test-fuzz:
	FUZZTIME=8s GO=$(GO) bash scripts/fuzz.sh

fuzz:
	FUZZTIME=$${FUZZTIME:-2m} GO=$(GO) bash scripts/fuzz.sh

# End-to-end tests of the built binary (root only; they say so when skipped).
test-e2e:
	KUBEBUILDER_ASSETS=$(KUBE_ASSETS) $(GO) test -count=1 -timeout 40m ./e2e/...

test: deps kube-assets vet lint fmt-check test-unit test-fuzz test-e2e

# Benchmarks: package benchmarks (runtime baseline, pull+unpack, DNS,
# attach, DNAT throughput, graph) then whole-command ones of the built
# binary (up/down, run --rm, supervisor RSS, published port), in one run.
bench: deps
	$(GO) test -run '^$$' -bench . -benchtime 5x -timeout 60m $(PKGS)
	$(GO) test -run '^$$' -bench . -benchtime 5x -timeout 60m ./e2e/

# The main job: build berth and run the example stack the way a user would.
demo: deps build
	bash scripts/demo.sh

clean:
	rm -rf bin
