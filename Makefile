# dunning — the two commands a newcomer needs are `make run` and `make test`.
.PHONY: run test bench fuzz load lint temporal clean chaos lifecycle

run: ## the system with a demo: dev server + Web UI :8233, worker, API :8080
	@scripts/run.sh

test: ## every check and test, with real Temporal and PostgreSQL (what CI runs)
	@scripts/test.sh

chaos: ## kill the worker twice, restart Temporal and PostgreSQL, fail the provider, during a burst; prints duplicates=0 lost=0 mismatched=0 (issue 9)
	@scripts/chaos.sh $(CHAOS_FLAGS)

bench: ## benchmarks: speed and memory goals live here, never in timed tests
	go test -run '^$$' -bench . -benchmem ./policy/ ./preview/

fuzz: ## every fuzz target for 30 s each (FUZZTIME=2m, or TARGETS='FuzzRender'); not part of make test
	@scripts/fuzz.sh $(TARGETS)

load: ## dunning under load beside bare Temporal, one run (docs/PERFORMANCE.md); ARGS='-n 2000'; make load TEMPORAL=postgres: on a Temporal server built from go.temporal.io/server on PostgreSQL, 4 history shards
	@scripts/load.sh $(ARGS)

lifecycle: ## history events over a loan's whole life with the real workflow, time-skipping, no server: 12 paid on time, 12 to charge-off, 360 paid on time (issue 9); ARGS='-tasks'
	go run ./cmd/lifecycle $(ARGS)

lint:
	gofmt -l . && go vet ./... && go run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

temporal: ## build the pinned Temporal CLI into .bin/
	@scripts/temporal-cli.sh

clean: ## forget local state: the dev server's loans (.data) and the dunning database they wrote to
	rm -rf .data
	-psql "$${DATABASE_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}" -qc 'DROP DATABASE IF EXISTS dunning WITH (FORCE)'
