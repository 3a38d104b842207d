# taskgate: one-command set-up on a fresh Debian machine.
#   make serve  installs the system packages the build needs (when missing), builds, and runs `taskgate serve` on
#               127.0.0.1:8080 with in-process workers and the built-in functions.
#   make test   the same set-up, then the whole test suite, the format check, the OpenAPI check
#               (openapi-spec-validator, then schemathesis with all checks against a live server), the webhook
#               signature check (scripts/check-webhooks.sh, with PyPI's standardwebhooks), the dashboard in headless
#               chromium (scripts/check-ui.sh, Selenium; screenshot in .build/artifacts), and the container
#               checks (scripts/check-deploy.sh; scripts/check-image.sh builds the Dockerfile and runs the image, as
#               root; see docs/deploy.md).
#   make bench-core   the in-process scheduler benchmark (release build), see docs/benchmarks.md.

SWIFT ?= swift
SYSTEM_PACKAGES := libmicrohttpd-dev libsqlite3-dev pkg-config openssl
# What only the tests use: tmux runs `taskgate top` in a terminal; chromium and chromium-driver run the dashboard's
# browser test; python3-venv holds the Python test tools.
TEST_PACKAGES := tmux chromium chromium-driver python3-venv

PHONY_EXTRA := test-deps install-packages
.PHONY: deps $(PHONY_EXTRA) build serve test lint format openapi webhooks-check ui-check deploy-check image-check bench-core bench-http bench-client bench-workers clean

deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(SYSTEM_PACKAGES)"

test-deps:
	@$(MAKE) --no-print-directory install-packages PACKAGES="$(TEST_PACKAGES)"

install-packages:
	@missing=""; \
	for package in $(PACKAGES); do \
		dpkg -s $$package >/dev/null 2>&1 || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:$$missing"; \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get update && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y $$missing; \
	fi

build: deps
	$(SWIFT) build

serve: deps
	$(SWIFT) build -c release --product taskgate
	.build/release/taskgate serve $(ARGS)

test: deps test-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test
	$(SWIFT) format lint --strict --recursive Sources Tests Benchmarks Package.swift
	scripts/check-openapi.sh
	scripts/check-webhooks.sh
	scripts/check-ui.sh
	scripts/check-deploy.sh
	scripts/check-image.sh

openapi: deps
	scripts/check-openapi.sh

webhooks-check:
	scripts/check-webhooks.sh

ui-check:
	scripts/check-ui.sh

deploy-check:
	scripts/check-deploy.sh

image-check:
	scripts/check-image.sh

lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Benchmarks Package.swift

format:
	$(SWIFT) format format -i --recursive Sources Tests Benchmarks Package.swift

bench-core: deps
	scripts/bench-core.sh

bench-http: deps
	scripts/bench-http.sh

bench-client: deps
	scripts/bench-client.sh

bench-workers: deps
	scripts/bench-workers.sh

clean:
	rm -rf .build
