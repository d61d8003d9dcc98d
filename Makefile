# SPDX-License-Identifier: Apache-2.0
# virt-acl-helper build, test and demo entry points.
#
#   make            build bin/virt-acl-helper
#   make demo       build, start what is needed, and show decisions and audit records
#   make check      install test dependencies, then run every test (root, Debian 12)
#   make generate   regenerate committed generated files (polkit actions, default config)
#   make bench      measure the daemon against real polkitd and auditd; table, results/bench.json, results/bench.svg
#   make load       64 clients for LOADTIME against the audited daemon (make check runs it for 10s)
#   make packages   build the source tarball, the .deb and the .rpm into dist/

GO       ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
VERSION  := $(shell cat VERSION)
LDFLAGS  := -X main.version=$(VERSION)
GOFLAGS  := -trimpath
# Packages whose code runs concurrently: run under the race detector.
RACE_PKGS := ./authcache ./access ./engine ./polkit ./audit ./varlink ./server ./client ./daemon ./guard ./limit ./roles ./xmlpolicy ./identity ./proc
# Fuzz targets, as package:Target; each runs for FUZZTIME.
FUZZ     ?= ./acl:FuzzNewObject ./accessapi:FuzzCompact ./config:FuzzParse ./varlink:FuzzDecode ./varlink:FuzzStricterThanV1 ./server:FuzzCheckParams \
            ./audit:FuzzFormat ./proc:FuzzLookup \
            ./libvirt/frame:FuzzRead ./libvirt/proto:FuzzDecodeCall ./libvirt/proto:FuzzDecodeReply \
            ./guard:FuzzCallDecision ./guard:FuzzObjectFromXML ./roles:FuzzParse \
            ./guard:FuzzListFilter ./xmlpolicy:FuzzCheck ./xmlpolicy:FuzzParse \
            ./internal/xmldoc:FuzzParse
FUZZTIME ?= 15s
# How long go test may minimize an input. Its default (60 s) spends a
# short run minimizing each new interesting input at 0 execs/s; a crasher
# is still minimized for this long.
FUZZMINTIME ?= 2s
# How long make load runs its 64 clients.
LOADTIME ?= 60s
# gotestsum runs the tests so that a failed test can be rerun (see test).
GOTESTSUM_VERSION := v1.13.0
GOTESTSUM := bin/gotestsum

export PATH := $(dir $(GO)):$(PATH)

.PHONY: all build demo check setup vet test race fuzz generate packages clean bench load bench-guard

all: build

build:
	$(GO) build $(GOFLAGS) -ldflags '$(LDFLAGS)' -o bin/virt-acl-helper ./cmd/virt-acl-helper

demo: build
	tests/demo.sh

check: setup vet test race fuzz

setup:
	tests/setup-host.sh

vet:
	@bad=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$bad" ]; then echo "gofmt needed: $$bad"; exit 1; fi
	$(GO) vet ./...
	@$(GO) mod tidy -diff >/dev/null || { echo "go.mod or go.sum is not tidy: run go mod tidy (go mod tidy -diff shows what)"; exit 1; }

# Integration tests share host resources (polkit's rules directory, audit
# state, test users), so packages run one at a time; nothing may skip.
#
# A failed test is rerun, whole, once, and every rerun is listed at the end
# (results/reruns*.txt). The known cause of flakiness, polkitd 122 stalling
# for 15 s (testsys.PolkitStall), no longer fails a test: tests wait longer
# than a stall for polkit's answers. The one rerun stays so that a rare
# failure still leaves a green run that names it, rather than hiding it
# or failing CI on what a rerun shows to be flaky.
# One package's tests may run long (./tests starts libvirtd and real VMs);
# go test's default of 10 minutes per package is not a bound we mean.
TEST_TIMEOUT ?= 30m
RERUN := --rerun-fails=1 --rerun-fails-max-failures=2 --rerun-fails-run-root-test

test: $(GOTESTSUM)
	@mkdir -p results
	VIRT_ACL_HELPER_INTEGRATION=1 $(GOTESTSUM) --format standard-quiet $(RERUN) \
		--rerun-fails-report=results/reruns.txt --packages ./... -- -p 1 -count=1 -timeout $(TEST_TIMEOUT)
	@tests/report-reruns.sh results/reruns.txt

race: $(GOTESTSUM)
	@mkdir -p results
	VIRT_ACL_HELPER_INTEGRATION=1 $(GOTESTSUM) --format standard-quiet $(RERUN) \
		--rerun-fails-report=results/reruns-race.txt --packages "$(RACE_PKGS)" -- -p 1 -count=1 -race -timeout $(TEST_TIMEOUT)
	@tests/report-reruns.sh results/reruns-race.txt

$(GOTESTSUM):
	GOBIN=$(CURDIR)/bin $(GO) install gotest.tools/gotestsum@$(GOTESTSUM_VERSION)

fuzz:
	@for t in $(FUZZ); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
		tests/fuzz-one.sh $$pkg $$name $(FUZZTIME) $(FUZZMINTIME) || exit 1; \
	done

# The benchmark is a test behind the bench tag: it is not part of make test
# and shares nothing with the production binary.
bench:
	VIRT_ACL_HELPER_INTEGRATION=1 $(GO) test -tags bench -count=1 -timeout 30m -run '^TestBench$$' -v ./bench

# The guard's rows of make bench alone: a call through the guard against
# the same call straight to libvirtd.
bench-guard:
	VIRT_ACL_HELPER_INTEGRATION=1 $(GO) test -tags bench -count=1 -timeout 30m -run '^TestBenchGuard$$' -v ./bench

load:
	VIRT_ACL_HELPER_INTEGRATION=1 VIRT_ACL_HELPER_LOAD_DURATION=$(LOADTIME) $(GO) test -count=1 -timeout 15m -run '^TestLoad$$' -v ./tests

generate:
	$(GO) generate ./...

# The version is VERSION's; debian/changelog and the spec's %changelog must
# have an entry for it (the build scripts check). Needs dpkg-dev, debhelper
# and rpm (tests/setup-host.sh installs them).
DIST ?= dist
packages:
	GO=$(GO) packaging/source.sh $(DIST)
	packaging/deb/build.sh $(DIST)/virt-acl-helper-$(VERSION).tar.gz $(DIST)
	packaging/rpm/build.sh $(DIST)/virt-acl-helper-$(VERSION).tar.gz $(DIST)

clean:
	rm -rf bin results dist
