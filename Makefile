# kube-oomd: build, test and benchmark. `make help` lists the targets.
GO       ?= go
FUZZTIME ?= 10s

.PHONY: help demo build test unit e2e compare e2e-arm64 fuzz bench clean

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

demo: ## kube-oomd at work: a real node in a VM, a leaking pod, the kernel alone and then kube-oomd, side by side (about 5 minutes; the first run builds the VM image and the kubelet)
	bash e2e/demo.sh

build: ## build ./kube-oomd (static)
	CGO_ENABLED=0 $(GO) build -trimpath -o kube-oomd ./cmd/kube-oomd

test: ## everything: unit tests, the packages and their checks, then the real-kernel scenarios in a VM (which install the .deb)
	$(MAKE) unit
	$(MAKE) packages
	$(MAKE) check-packages
	$(MAKE) e2e KUBE_OOMD_E2E_DEB="$$(ls $(CURDIR)/dist/kube-oomd_*_amd64.deb)"

unit: ## vet and unit tests only, on fake cgroup trees (seconds)
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

# The .deb that scenario 11 installs; empty: the e2e test builds one (amd64).
KUBE_OOMD_E2E_DEB ?=

e2e: ## the real-kernel scenarios in a qemu VM (installs qemu and mmdebstrap if missing)
	bash e2e/setup.sh
	KUBE_OOMD_E2E_DEB='$(KUBE_OOMD_E2E_DEB)' $(GO) test -tags e2e -count=1 -v -timeout 180m ./e2e/

# The VM's time limits follow its progress (e2e/watchdog_test.go): go test's
# -timeout is only an outer bound, far above any run that makes progress.
compare: ## benchmarks on a real kernel: the kernel alone beside kube-oomd, side by side with their ratios checked, and the idle cost (12); not in `make test`
	bash e2e/setup.sh
	KUBE_OOMD_E2E_COMPARE=1 $(GO) test -tags e2e -count=1 -v -timeout 180m ./e2e/

e2e-arm64: ## scenarios 00, 01 and 11 on arm64 (qemu-system-aarch64, TCG), then 00 on a 16 KiB page kernel; not in `make test`
	bash e2e/setup.sh arm64
	$(MAKE) packages
	KUBE_OOMD_E2E_ARCH=arm64 KUBE_OOMD_E2E_RUN='^(00|01|11)-' \
	KUBE_OOMD_E2E_DEB="$$(ls $(CURDIR)/dist/kube-oomd_*_arm64.deb)" \
		$(GO) test -tags e2e -count=1 -v -timeout 150m ./e2e/
	KUBE_OOMD_E2E_ARCH=arm64 KUBE_OOMD_E2E_KERNEL=arm64-16k KUBE_OOMD_E2E_RUN='^00-' \
		$(GO) test -tags e2e -count=1 -v -timeout 60m -run '^TestE2E$$' ./e2e/

fuzz: ## run every fuzz target for FUZZTIME each
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

bench: ## benchmarks: ranking and scanning 1,000 pods x 3 containers
	$(GO) test -run '^$$' -bench . -benchmem ./policy ./cgroupv2

clean:
	rm -rf kube-oomd dist

# Packages: .deb and .rpm for amd64 and arm64, built with a pinned nfpm (see
# packaging/README.md). VERSION must suit dpkg and rpm; packaging/version.sh
# derives it from git and normalises a given one.
VERSION ?= $(shell sh packaging/version.sh)

.PHONY: packages check-packages

packages: ## .deb and .rpm for amd64 and arm64 into dist/ (nfpm, pinned; VERSION=... to override)
	VERSION='$(VERSION)' GO='$(GO)' sh packaging/build.sh

check-packages: ## check dist/'s packages: contents, conffile, scripts, man page; systemd-analyze verify the unit
	GO='$(GO)' sh packaging/check.sh dist

# The alerts, dashboard and runbook of packaging/monitoring/ (see
# docs/runbook.md): promtool checks and unit-tests the rules; the Go tests
# of metrics/ check every series they query is served.
.PHONY: check-monitoring
check-packages: check-monitoring

check-monitoring: ## promtool check rules and test rules on packaging/monitoring/ (promtool extracted from Debian's prometheus package if missing)
	sh packaging/monitoring/check.sh
