# The two set-up commands are `make run` and `make test`; the rest are helpers.
GO        ?= go
SWAG      := $(GO) tool swag
SWAG_ARGS := init -g routes.go -d internal/httpapi,pkg/referralapi --outputTypes go,json,yaml --quiet
CLIENTGEN := $(GO) tool oapi-codegen -config pkg/referralclient/oapi-codegen.yaml
CLIENT    := pkg/referralclient/client.gen.go
SUB       ?= u1
ROLES     ?=

.PHONY: run build test test-tools check-fmt vet check-docs docs lint-api token migrate bench tidy

## run: serve the API on the embedded SQLite database (data/referrals.db)
run: build
	./bin/referral-api serve

## build: build the binary into bin/
build:
	$(GO) build -trimpath -o bin/referral-api ./cmd/referral-api

## test: formatting, vet, generated-docs drift, then every test with the race
## detector on PostgreSQL (a throwaway cluster unless TEST_DATABASE_URL is set)
## and SQLite
test: check-fmt vet check-docs test-tools
	$(GO) test -race -count=1 ./...

# stripe-mock, each release in its own directory: v0.183.0 serves Stripe API
# 2023-10-16 (stripe-go v76's version; the payout tests call it) and v0.203.0
# the current shapes. The money tests take Stripe's objects from both.
STRIPE_MOCK_RELEASES := v0.183.0 v0.203.0
STRIPE_MOCK_DIR      ?= $(shell $(GO) env GOPATH)/stripe-mock
export STRIPE_MOCK_DIR
test-tools:
	@for v in $(STRIPE_MOCK_RELEASES); do \
		[ -x "$(STRIPE_MOCK_DIR)/$$v/stripe-mock" ] || \
			GOBIN="$(STRIPE_MOCK_DIR)/$$v" $(GO) install github.com/stripe/stripe-mock@$$v || exit 1; \
	done

check-fmt:
	@out=$$(gofmt -l cmd internal pkg docs); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

## docs: regenerate docs/ (swag), api/ (Swagger 2.0 + OpenAPI 3) and the
## Go client generated from api/openapi.json (oapi-codegen)
docs:
	$(SWAG) $(SWAG_ARGS) -o docs
	$(GO) run ./internal/tools/apigen -in docs/swagger.json -out api
	$(CLIENTGEN) -o $(CLIENT) api/openapi.json

## check-docs: fail when docs/, api/ or the generated client differ from
## what the code generates
check-docs:
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(SWAG) $(SWAG_ARGS) -o "$$tmp/docs" && \
	$(GO) run ./internal/tools/apigen -in "$$tmp/docs/swagger.json" -out "$$tmp/api" && \
	$(CLIENTGEN) -o "$$tmp/client.gen.go" "$$tmp/api/openapi.json" && \
	if ! diff -ru docs "$$tmp/docs" || ! diff -ru -x '*.go' api "$$tmp/api" || ! diff -u $(CLIENT) "$$tmp/client.gen.go"; then \
		echo "docs/, api/ or $(CLIENT) drifted from the code: run 'make docs' and commit the result"; exit 1; \
	fi

## lint-api: Redocly's recommended rules on the published documents (needs
## Node and the npm registry; make test checks the same rules in Go, see
## internal/tools/apigen). Findings that are by design are listed, with
## why, in .redocly.lint-ignore.yaml.
REDOCLY_CLI ?= @redocly/cli@2.77.0
lint-api:
	npx --yes $(REDOCLY_CLI) lint --extends=recommended api/openapi.json api/swagger.json docs/swagger.json

## token: print a token, e.g. make token SUB=backend ROLES=service
token:
	@$(GO) run ./cmd/referral-api token -sub "$(SUB)" -roles "$(ROLES)"

## migrate: apply database migrations and exit
migrate:
	$(GO) run ./cmd/referral-api migrate

## bench: Go benchmarks, then the short-link load test on PostgreSQL
## (redirect vs bare Echo handler, clicks after shutdown, stats latency)
bench: test-tools
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(GO) run ./internal/tools/linkbench

tidy:
	$(GO) mod tidy
