# taskgate: one-command set-up on a fresh Debian machine.
#   make test   installs the system packages the build needs (when missing), builds, runs the whole test suite
#               and the format check.
#   make bench-core   the in-process scheduler benchmark (release build), see docs/benchmarks.md.

SWIFT ?= swift
SYSTEM_PACKAGES := libmicrohttpd-dev pkg-config

.PHONY: deps build test lint format bench-core clean

deps:
	@missing=""; \
	for package in $(SYSTEM_PACKAGES); do \
		dpkg -s $$package >/dev/null 2>&1 || missing="$$missing $$package"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing system packages:$$missing"; \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get update && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y $$missing; \
	fi

build: deps
	$(SWIFT) build

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test
	$(SWIFT) format lint --strict --recursive Sources Tests Benchmarks Package.swift

lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Benchmarks Package.swift

format:
	$(SWIFT) format format -i --recursive Sources Tests Benchmarks Package.swift

bench-core: deps
	scripts/bench-core.sh

clean:
	rm -rf .build
