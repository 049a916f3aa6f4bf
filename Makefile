# quell: the two commands a new checkout needs are `make run` and `make test`.
GO       ?= go
DATA_DIR ?= ./.quell

.PHONY: run test build vet bench clean

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

## bench: the micro-benchmarks (evidence hashing and others), with figures.
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin $(DATA_DIR)
