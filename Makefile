# quell: the two commands a new checkout needs are `make run` and `make test`.
GO       ?= go
DATA_DIR ?= ./.quell

.PHONY: run test test-unit check build vet bench chaos clean kube-build kube-up kube-down rbac

## run: quell dev — embedded Temporal, worker and HTTP API on 127.0.0.1:8080, local Docker.
run:
	$(GO) run ./cmd/quell dev --data-dir $(DATA_DIR)

## test: vet and every test: workflows (SDK testsuite), Docker adapters and activities
## against the real daemon, and end to end on an embedded Temporal server.
test: check vet
	$(GO) test -count=1 -timeout 30m ./...

vet:
	$(GO) vet ./...

# UNIT_PKGS: the packages whose tests need no Docker daemon and no Temporal
# server (their tests import none of the helpers that start one).
UNIT_PKGS = $(shell $(GO) list -f '{{.ImportPath}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... | \
	grep -v -E 'internal/(devserver|docker/dockertest|kubecp/kubecptest|bench/rig|app)\b|/e2e|/bench|quell-bench|quell-chaos' | cut -d' ' -f1)

## test-unit: the tests that need no Docker and no server: workflow logic, parsers, playbooks,
## the API with fakes. Under two minutes warm.
test-unit:
	$(GO) test -count=1 $(UNIT_PKGS)

WORKFLOWCHECK ?= go.temporal.io/sdk/contrib/tools/workflowcheck@v0.6.0

## check: what CI refuses besides failing tests: an untidy go.mod, unformatted code, and
## workflow code that calls a non-deterministic function (Temporal's workflowcheck).
check:
	$(GO) mod tidy -diff
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) run $(WORKFLOWCHECK) ./workflows/...

## build: the quell binary in ./bin.
build:
	$(GO) build -o bin/quell ./cmd/quell

FALCO_SAMPLE ?= ../shared/samples/falco-website_docs-outputs-channels_terminal-shell.json

## bench: measure quell against a real `quell dev` on the local Docker daemon: alert → contained
## (vs the raw Docker API and a docker-CLI script responder), alert → pod quarantined on a real control plane (vs the
## same calls made directly with client-go, and Falco Talon when QUELL_BENCH_TALON names a falco-talon binary built
## outside this repository), simultaneous incidents, intake storms,
## evidence throughput, footprint. Prints a table, writes bench/results.json. BENCH_QUICK=1: ~2 min when quiet.
bench:
	$(GO) run ./cmd/quell-bench -out bench/results.json -falco-sample $(FALCO_SAMPLE)

## chaos: durability trials (workers killed at each step boundary of compromised-container, mid-export,
## mid-rebuild and mid-replace; quell dev killed; the Docker daemon unreachable; Slack down);
## PASS/FAIL per trial. CHAOS_QUICK=1: the small form CI runs, about 11 minutes.
chaos:
	$(GO) run ./cmd/quell-chaos -falco-sample $(FALCO_SAMPLE)

clean:
	rm -rf bin $(DATA_DIR)

REGISTRY_VERSION ?= v3.1.2
REGISTRY_BIN     ?= $(HOME)/.cache/quell/registry-$(REGISTRY_VERSION)/registry
REGISTRY_ADDR    ?= 127.0.0.1:5000

.PHONY: registry-up
## registry-up: a container registry (distribution $(REGISTRY_VERSION), deletes on) on $(REGISTRY_ADDR) for trying
## registry:push, registry:delete and registry:blast-radius by hand (registries: [{host: $(REGISTRY_ADDR)}] in
## quell.yaml); storage in $(DATA_DIR)/registry, Ctrl-C stops it. Built once into the user's cache.
registry-up:
	@test -x $(REGISTRY_BIN) || GOBIN=$(dir $(REGISTRY_BIN)) GOFLAGS=-mod=mod $(GO) install github.com/distribution/distribution/v3/cmd/registry@$(REGISTRY_VERSION)
	@mkdir -p $(DATA_DIR)/registry
	@printf 'version: 0.1\nstorage:\n  filesystem: {rootdirectory: %s}\n  delete: {enabled: true}\nhttp:\n  addr: %s\n' \
		"$(abspath $(DATA_DIR))/registry" "$(REGISTRY_ADDR)" > $(DATA_DIR)/registry.yml
	$(REGISTRY_BIN) serve $(DATA_DIR)/registry.yml

## kube-build: build the test control plane's programs (etcd, kube-apiserver, kube-controller-manager,
## kube-scheduler, kwok) from their Go modules into the user's cache, once per version (about 15 minutes cold
## on two cores). `make test` builds them when missing; .ci/run builds them first.
kube-build:
	$(GO) run ./internal/kubecp/kubecp build

## kube-up: a Kubernetes control plane on loopback with one kwok node, for trying the Kubernetes playbooks
## by hand; writes the admin kubeconfig to $(DATA_DIR)/kube/kubeconfig and one of the user "quell", bound to
## `quell steps --rbac`, to $(DATA_DIR)/kube/quell.kubeconfig. Ctrl-C or `make kube-down` stops it.
kube-up:
	$(GO) run ./internal/kubecp/kubecp up --dir $(DATA_DIR)/kube

kube-down:
	$(GO) run ./internal/kubecp/kubecp down --dir $(DATA_DIR)/kube

## rbac: write deploy/kubernetes/clusterrole.yaml, the ClusterRole the library's Kubernetes steps need.
rbac:
	$(GO) run ./cmd/quell steps --rbac > deploy/kubernetes/clusterrole.yaml
