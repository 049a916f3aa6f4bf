# quell: the two commands a new checkout needs are `make run` and `make test`.
GO       ?= go
DATA_DIR ?= ./.quell

.PHONY: run test build vet bench chaos clean

## run: quell dev — embedded Temporal, worker and HTTP API on 127.0.0.1:8080, local Docker.
run:
	$(GO) run ./cmd/quell dev --data-dir $(DATA_DIR)

## test: vet and every test: workflows (SDK testsuite), Docker adapters and activities
## against the real daemon, and end to end on an embedded Temporal server.
test: vet
	$(GO) test -count=1 -timeout 30m ./...

vet:
	$(GO) vet ./...

## build: the quell binary in ./bin.
build:
	$(GO) build -o bin/quell ./cmd/quell

FALCO_SAMPLE ?= ../shared/samples/falco-website_docs-outputs-channels_terminal-shell.json

## bench: measure quell against a real `quell dev` on the local Docker daemon: alert → contained
## (vs the raw Docker API and a docker-CLI script responder), simultaneous incidents, intake storms,
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
