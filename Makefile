# Makefile for the nfct.tuning Ansible collection.
#
# Every target sets up what it needs by itself (`make setup`), so `make audit` and `make test`
# work on a fresh machine. Results of slow steps are kept and reused: .venv and .venv-min are
# symlinks to venvs in NFCT_CACHE named after a hash of their requirements (and of the Python
# building them: scripts/cached-venv.sh), which every clone reuses; the offline collections carry
# a stamp named after a hash of requirements-dev.yml and the `ansible` release they come from.
# What does not depend on the checkout is cached outside it, in NFCT_CACHE
# (~/.cache/nfct-tuning), keyed by a hash of what builds it, so that every clone (CI's fresh
# one included) reuses it: the VM image, the .debs of the image builds, the `ansible` wheel,
# promtool. The Podman images are in Podman's store, labelled with their build script's hash.
#
# `make help` lists the targets.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.NOTPARALLEL:
.DELETE_ON_ERROR:

# ---------------------------------------------------------------------------------------------
# Settings (override on the command line: `make sanity SANITY_ARGS=--test=pylint`)

PYTHON             ?= python3
NAMESPACE          := nfct
NAME               := tuning
VENV               := .venv
VENV_MIN           := .venv-min
CACHE              := .cache
# Cache shared by the clones on this machine (see above); `make distclean` leaves it alone.
NFCT_CACHE         ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/nfct-tuning
# Galaxy is unreachable: the collections of requirements-dev.yml come out of the `ansible`
# wheel on PyPI (scripts/extract_collections.py checks their versions against the file).
ANSIBLE_VERSION    := 12.3.0
DEV_REQUIREMENTS   := requirements-dev.yml
SANITY_PYTHON      ?= 3.11
SANITY_ARGS        ?=
PYTEST_ARGS        ?= -ra
LINT_ARGS          ?=
AUDIT_ARGS         ?=
# make audit: check mode with diff, drift reported (not fatal: this machine has no baseline),
# the JSON, JUnit and HTML reports under .cache/audit, each host's recommendation printed too.
AUDIT_FLAGS        := --check --diff -e conntrack_audit_fail_on_drift=false -e conntrack_audit_show_recommendation=true \
                      -e conntrack_audit_report_path=$(CURDIR)/.cache/audit/conntrack-audit.json \
                      -e conntrack_audit_junit_path=$(CURDIR)/.cache/audit/conntrack-audit.junit.xml \
                      -e conntrack_audit_html_path=$(CURDIR)/.cache/audit/conntrack-audit.html
# Playbook runs against this machine. Modules run with the controller's own Python: interpreter
# discovery would pick pyenv shims here (/root/.pyenv/shims/python3.12) that do not work.
LOCALHOST          := -i localhost, -c local -e 'ansible_python_interpreter={{ ansible_playbook_python }}'
# Module that `make install-test` documents from the installed tarball.
INSTALL_TEST_MODULE ?= conntrack_facts
# Molecule scenarios that `make test` runs (`molecule test -s NAME` each, folders in molecule/).
MOLECULE_SCENARIOS ?= default drift host notrack
# Debian suites of the Molecule base images localhost/nfct-debian:SUITE (`make images`).
IMAGE_SUITES       ?= bullseye bookworm trixie
# Host-global values `make molecule` compares before and after the scenarios (containers must
# never change them; other work on a shared machine might, hence a warning, not an error).
HOST_GUARD_FILES   := /proc/sys/net/netfilter/nf_conntrack_max /proc/sys/net/netfilter/nf_conntrack_buckets \
                      /sys/module/nf_conntrack/parameters/hashsize /proc/sys/net/ipv4/ip_forward \
                      /proc/sys/kernel/pid_max /proc/sys/fs/file-max /proc/sys/fs/nr_open
APT_PACKAGES       := podman runc nftables iptables conntrack debootstrap hyperfine iproute2 time \
                      shellcheck git qemu-system-x86 qemu-utils chromium sudo

ROOT            := $(CURDIR)
COLLECTIONS_DIR := $(ROOT)/$(CACHE)/collections
SANITY_ROOT     := $(ROOT)/$(CACHE)/sanity
STAGE           := $(SANITY_ROOT)/ansible_collections/$(NAMESPACE)/$(NAME)
DIST            := $(ROOT)/$(CACHE)/dist
STAMPS          := $(CACHE)/stamps

CONSTRAINTS     := $(wildcard constraints.txt)
# the venvs' key, as scripts/cached-venv.sh computes it (the venv lives in NFCT_CACHE/venv-HASH)
VENV_HASH       := $(shell { cat requirements.txt $(CONSTRAINTS); $(PYTHON) -VV; $(PYTHON) -c 'import sys; print(sys.base_prefix)'; } | sha256sum | cut -c1-12)
VENV_STAMP      := $(VENV)/.installed-$(VENV_HASH)
MIN_REQUIREMENTS := scripts/requirements-min.txt
MIN_HASH        := $(shell { cat $(MIN_REQUIREMENTS); $(PYTHON) -VV; $(PYTHON) -c 'import sys; print(sys.base_prefix)'; } | sha256sum | cut -c1-12)
MIN_STAMP       := $(VENV_MIN)/.installed-$(MIN_HASH)
COLL_HASH       := $(shell { echo $(ANSIBLE_VERSION); cat $(DEV_REQUIREMENTS) scripts/extract_collections.py; } | sha256sum | cut -c1-12)
COLL_STAMP      := $(STAMPS)/collections-$(COLL_HASH)
WHEELS          := $(NFCT_CACHE)/wheels

# Environment of every recipe: the venv's tools first, our ansible.cfg, the offline
# collections and the podman settings. ANSIBLE_COLLECTIONS_PATH also reaches Molecule, whose own
# ansible.cfg hides ours; scenarios should set `prerun: false` (the pre-run would build this
# collection and install it into ~/.ansible/collections, where it shadows the checkout).
export PATH                     := $(ROOT)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG           := $(ROOT)/ansible.cfg
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS_DIR)
export CONTAINERS_CONF          := $(ROOT)/scripts/containers.conf
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Bytecode goes to one folder of the checkout's cache, not beside the sources: every Python
# process of make test (pytest, each ansible-playbook and its workers) would otherwise compile
# the collection's code again: tests/unit took 104-110 s of CPU that way, 84-91 s with the cache
# warm (side by side, 2026-12-06); one unit test file 5.6 s against 2.4 s
export PYTHONPYCACHEPREFIX      := $(ROOT)/$(CACHE)/pycache
unexport PYTHONDONTWRITEBYTECODE
# the build scripts' caches (scripts/build-vm-image.sh, scripts/build-image.sh; NFCT_CACHE for
# any other script's cache that does not depend on the checkout)
export NFCT_CACHE
export VM_CACHE                 := $(NFCT_CACHE)/vm
export IMAGE_CACHE              := $(NFCT_CACHE)/images

say = @printf '\n\033[1m==> %s\033[0m\n' "$(1)"

# Run command $(2) holding the lock file $(1) (one image build at a time on this machine: make
# test starts `images` in a lane of its own while `molecule` asks for them too, and clones
# share the caches); the build scripts check again under the lock whether they have work.
locked = mkdir -p "$$(dirname $(1))"; \
	( if ! flock -n 9; then echo "waiting for the lock $(1) (another build)"; flock 9; fi; $(2) ) 9> $(1)

# pytest on folder $(2) with interpreter $(1); the collection is importable as
# ansible_collections.nfct.tuning through the symlink in .cache/collections.
define pytest
	PYTHONPATH="$(COLLECTIONS_DIR)$${PYTHONPATH:+:$$PYTHONPATH}" $(1) -m pytest $(PYTEST_ARGS) $(2)
endef

.PHONY: help setup setup-locked apt venv collections get-pip audit test units netns sanity stage lint docs docs-check \
        changelog-lint build install-test min-ansible images molecule bench clean distclean \
        vm-image molecule-vm containers containers-rest containers-fleet test-serial promtool prometheus ee \
        netns-shared netns-quiet eda eda-setup

help: ## List the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([a-z-]+):.*## (.*)/  \1\t\2/' | expand -t 18

# ---------------------------------------------------------------------------------------------
# Setup

setup: apt venv collections get-pip ## Install everything the other targets need (apt, .venv, collections)

# setup holding a lock (make test's lanes start at once; see Tests below)
setup-locked:
	@$(call locked,$(ROOT)/$(CACHE)/setup.lock,$(MAKE) --no-print-directory setup)

apt: ## apt packages (root only; installs just the missing ones)
	$(call say,apt packages: $(APT_PACKAGES))
	@missing=""; for p in $(APT_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "all installed"; \
	elif [ "$$(id -u)" != 0 ]; then echo "WARNING: not root, not installing:$$missing"; \
	else \
	    echo "installing:$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -q; \
	    apt-get install -y -q -o Dpkg::Use-Pty=0 --no-install-recommends $$missing; \
	fi

venv: $(VENV_STAMP) ## .venv with requirements.txt (+ constraints.txt)

# a symlink to NFCT_CACHE/venv-HASH, built once per content for every clone (scripts/cached-venv.sh)
$(VENV_STAMP):
	$(call say,$(VENV): $(PYTHON) -m venv and pip install -r requirements.txt $(if $(CONSTRAINTS),-c $(CONSTRAINTS)))
	@scripts/cached-venv.sh $(VENV) $(NFCT_CACHE) $(PYTHON) requirements.txt $(CONSTRAINTS)

collections: $(COLL_STAMP) ## Collections of requirements-dev.yml from the ansible wheel on PyPI, + nfct/tuning symlink
	@link=$(COLLECTIONS_DIR)/ansible_collections/$(NAMESPACE)/$(NAME); \
	if [ "$$(readlink "$$link" 2>/dev/null)" != ../../../.. ]; then \
	    mkdir -p "$$(dirname "$$link")"; ln -sfn ../../../.. "$$link"; echo "linked $$link -> ../../../.."; \
	fi

# The wheel is kept in $(WHEELS) (shared by the clones; pip download writes it atomically).
# Collections extracted before that requirements-dev.yml no longer lists are removed.
$(COLL_STAMP): | $(VENV_STAMP)
	$(call say,collections: $(DEV_REQUIREMENTS) from ansible==$(ANSIBLE_VERSION) on PyPI)
	mkdir -p $(WHEELS) $(STAMPS)
	@wheel=$$(find $(WHEELS) -name 'ansible-$(ANSIBLE_VERSION)-*.whl' | head -n1); \
	if [ -z "$$wheel" ]; then \
	    $(VENV)/bin/python -m pip download -q --no-deps --only-binary=:all: -d $(WHEELS) ansible==$(ANSIBLE_VERSION); \
	    wheel=$$(find $(WHEELS) -name 'ansible-$(ANSIBLE_VERSION)-*.whl' | head -n1); \
	fi; \
	echo "wheel: $$wheel"; \
	$(VENV)/bin/python scripts/extract_collections.py "$$wheel" $(COLLECTIONS_DIR) $(DEV_REQUIREMENTS); \
	keep=$$($(VENV)/bin/python -c 'import sys, yaml; print(" ".join(c["name"] for c in yaml.safe_load(open(sys.argv[1]))["collections"]))' $(DEV_REQUIREMENTS)); \
	for dir in $(COLLECTIONS_DIR)/ansible_collections/*/*; do \
	    name=$$(basename "$$(dirname "$$dir")").$$(basename "$$dir"); \
	    if [ ! -L "$$dir" ] && [ -d "$$dir" ] && [[ " $$keep " != *" $$name "* ]]; then \
	        rm -rf "$$dir"; rmdir --ignore-fail-on-non-empty "$$(dirname "$$dir")"; echo "removed $$name (not in $(DEV_REQUIREMENTS))"; \
	    fi; \
	done
	rm -f $(STAMPS)/collections-*
	touch $@

# ansible-test bootstraps pip in its sanity venvs with get-pip.py, downloaded from a host we
# cannot reach, and cached at this path: put our offline stand-in there (unless a real one, or
# the current version of ours, is there already).
get-pip: venv ## Offline get-pip.py for ansible-test (~/.ansible/test/cache)
	@version=$$($(VENV)/bin/python -c 'import ansible_test, pathlib, re; p = pathlib.Path(ansible_test.__file__).parent / "_internal/python_requirements.py"; print(re.search(r"pip=.([0-9.]+).", p.read_text()).group(1))'); \
	target="$$HOME/.ansible/test/cache/get_pip_$${version//./_}.py"; \
	if [ -f "$$target" ] && { cmp -s scripts/get_pip_offline.py "$$target" || ! grep -q 'Offline stand-in' "$$target"; }; then \
	    echo "get-pip: $$target is in place"; \
	else \
	    mkdir -p "$$(dirname "$$target")"; cp scripts/get_pip_offline.py "$$target"; \
	    echo "get-pip: installed scripts/get_pip_offline.py as $$target"; \
	fi

# ---------------------------------------------------------------------------------------------
# Running the collection

audit: setup ## Drift audit of this host: ansible-playbook --check playbooks/audit.yml
	$(call say,audit: playbooks/audit.yml in check mode on localhost)
	@mkdir -p $(CACHE)/audit
	ansible-playbook $(LOCALHOST) $(AUDIT_FLAGS) $(AUDIT_ARGS) playbooks/audit.yml
	@echo "reports: $(CACHE)/audit/conntrack-audit.{json,junit.xml,html} (drift is reported, not fatal, here; CI baselines use the playbook's default)"

# ---------------------------------------------------------------------------------------------
# Tests

# make test runs the stages below with scripts/run-stages.sh, which prints a table of every
# stage (lane, start, seconds, exit status) at the end, also when one fails; logs and the table
# in $(STAGE_LOGS). Lanes separated by '|' run at the same time, phases (arguments) one after
# the other; a phase runs only if the previous one passed.
#  - phase 1: the apt packages.
#  - phase 2, three lanes and a pool:
#    lane 1: setup (.venv, collections, get-pip), the checks, the Molecule scenarios, then
#      stages of the pool;
#    lane 2: the qemu VM scenario (the image build on a fresh machine, which needs only the apt
#      packages and so runs while lane 1 makes the venv; the emulated guest and its reboots),
#      then stages of the pool;
#    the pool (TEST_POOL), each stage taken by whichever of lanes 1 and 2 is free first: the
#      container fleet tests (containers-fleet: the rollout on 12 containers, the audit and the
#      rollout under ansible-runner in slices), the other container tests (containers-rest),
#      the netns tests that bear load (netns-shared). With warm caches the VM lane is free
#      first, on a fresh machine (the VM image's build) lane 1; when each lane had its own list
#      one of them stood idle for ~600 s at the end;
#    lane 3, under nice 10 (it ends long before the others: lanes 1 and 2 get the CPU first):
#      the Podman image builds (debootstraps, only on a fresh machine or after a build script
#      changed; lane 1's `molecule` waits for them through their lock), eda-setup, then the
#      checks with their own venvs (min-ansible, host-python). On a fresh machine the VM image's
#      debootstrap took 312 s next to the three image builds; alone on a quiet machine, 110 s
#      once the packages are downloaded (mmdebstrap: 96 s; not worth a second bootstrapper).
#    Each lane runs setup-locked before its first stage that needs setup: setup under a lock,
#    so that the lanes do not extract the collections at once (the first does the work, the
#    others wait for it, then find everything done).
#    Tried and undone (2026-12-05): `molecule` in lane 3 after host-python, where the lane is idle.
#      On 2 CPUs the lanes' end did not move (1,298 s against 1,303 s warm; the VM scenario took
#      954 s instead of 700 s next to it) and two timing-bound container tests failed under the
#      extra load.
#    The tests of lanes 1 and 2 that write the initial namespace's global values, fill tables
#    against the global max or compare them hold one lock (tests/netns/nsfill.py
#    host_global_lock: every tests/netns case, the container tests that flood or compare, the
#    Molecule `host` scenario through flock); the container snapshots leave out those global
#    values, which a container can only read, and the machine-wide counters the emulation moves
#    (tests/containers/podhost.py VOLATILE_SYSCTLS).
#  - phase 3: netns-quiet, after the VM: the quiet_machine cases (tests/netns/conftest.py), which
#    measure the machine-wide slab or are timing-sensitive (a lockout case failed once next to
#    the VM); then eda, the closed loop end to end: it lowers and raises the initial namespace's
#    nf_conntrack_max, so it runs when nothing else does (its tools and venv are made ready in
#    lane 3: eda-setup).
# Measured (2 vCPUs without KVM: the VM under TCG): see docs/development.md, "Make targets".
# The apt packages add ~30 s on a machine without them.
# TEST_CHECKS_NICE=N runs lane 1 under `nice -n N` so that the VM (and its Ansible) get the
# CPU first (not measured yet).
TEST_CHECKS_NICE ?= 0
TEST_SETUP   := apt
TEST_CHECKS  := units sanity lint changelog-lint docs-check prometheus build install-test ee docsite
TEST_LANE3   := images setup-locked eda-setup min-ansible host-python
TEST_POOL    := containers-fleet containers-rest netns-shared
TEST_AFTER   := netns-quiet eda
STAGE_LOGS   := $(CACHE)/stages

test: ## All of the checks below, in lanes (molecule-vm alongside the others); a table of the stages at the end
	@MAKE='$(MAKE)' scripts/run-stages.sh $(STAGE_LOGS) '$(TEST_SETUP)' \
	    'nice:$(TEST_CHECKS_NICE) setup-locked $(TEST_CHECKS) molecule +pool | vm-image setup-locked molecule-vm +pool | nice:10 $(TEST_LANE3) | pool: $(TEST_POOL)' \
	    '$(TEST_AFTER)'
	$(call say,make test: all passed)

test-serial: setup $(TEST_CHECKS) min-ansible host-python molecule $(TEST_POOL) $(TEST_AFTER) ## make test without the VM scenario, one stage after the other

# promtool and the Prometheus server from Debian's prometheus package, extracted (not installed:
# installing it would start a Prometheus server on this machine); the tests start the server
# themselves, on 127.0.0.1 and a free port, with a data folder of their own.
# Kept in $(NFCT_CACHE)/tools (shared by the clones); `rm` them to take a newer Debian release.
PROMTOOL := $(NFCT_CACHE)/tools/promtool
PROMETHEUS := $(NFCT_CACHE)/tools/prometheus
promtool: $(PROMTOOL) ## promtool in ~/.cache/nfct-tuning/tools (from Debian's prometheus .deb, not installed)

# each binary on its own (make runs this recipe once per target); renamed into place, so that two
# lanes extracting it at once leave a whole file
$(PROMTOOL) $(PROMETHEUS):
	$(call say,$(@F): apt-get download prometheus; extract usr/bin/$(@F))
	@dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; \
	cd "$$dir" && { apt-get download prometheus 2>/dev/null || \
	    { [ "$$(id -u)" = 0 ] && apt-get update -q >/dev/null && apt-get download prometheus; }; }; \
	mkdir -p $(@D); dpkg-deb --fsys-tarfile "$$dir"/prometheus_*.deb | tar -x -O ./usr/bin/$(@F) > "$$dir/$(@F)"; \
	chmod +x "$$dir/$(@F)" && mv "$$dir/$(@F)" $@.tmp.$$$$ && mv $@.tmp.$$$$ $@ && $@ --version 2>&1 | head -n1

prometheus: $(PROMTOOL) $(PROMETHEUS) venv collections ## The alert rules (promtool check/test rules); the history from a real Prometheus server (tests/prometheus)
	$(call say,prometheus: promtool check rules / test rules)
	$(PROMTOOL) check rules prometheus/nfct-conntrack.rules.yml
	cd tests/prometheus && $(abspath $(PROMTOOL)) test rules nfct-conntrack.rules.test.yml
	$(call say,prometheus: pytest tests/prometheus (history from a real Prometheus server; never skipped here))
	@export NFCT_REQUIRE_PROMETHEUS=1 NFCT_PROMETHEUS=$(abspath $(PROMETHEUS)) NFCT_PROMTOOL=$(abspath $(PROMTOOL)); \
	$(call pytest,$(VENV)/bin/python,tests/prometheus)

# The closed loop end to end (docs/closed-loop.md, tests/eda): Prometheus (above), node_exporter and
# Alertmanager from Debian's packages, extracted like promtool (installed, they would start their
# services), kept in $(NFCT_CACHE)/tools (`rm` one to take a newer Debian release); ansible-rulebook
# in a venv of its own, $(NFCT_CACHE)/eda-venv-HASH (requirements-eda.txt and the Python building
# it), so that the pins of .venv do not change; JDK 17 for drools-jpy (apt, as root, when missing).
ALERTMANAGER     := $(NFCT_CACHE)/tools/alertmanager
NODE_EXPORTER    := $(NFCT_CACHE)/tools/node_exporter
EDA_REQUIREMENTS := requirements-eda.txt
EDA_HASH         := $(shell { cat $(EDA_REQUIREMENTS) 2>/dev/null; $(PYTHON) -VV; } | sha256sum | cut -c1-12)
EDA_VENV         := $(NFCT_CACHE)/eda-venv-$(EDA_HASH)
EDA_STAMP        := $(EDA_VENV)/.installed
EDA_JAVA_HOME    ?= /usr/lib/jvm/java-17-openjdk-amd64

# usr/bin/$(2) of Debian's package $(1) into $@ (the .deb downloaded into a temporary folder), and
# the package's folders $(3), if any, into $@-share
define deb_tool
	$(call say,$(notdir $@): apt-get download $(1); extract usr/bin/$(2) $(3))
	@dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; \
	cd "$$dir" && { apt-get download $(1) 2>/dev/null || \
	    { [ "$$(id -u)" = 0 ] && apt-get update -q >/dev/null && apt-get download $(1); }; }; \
	mkdir -p $(@D); dpkg-deb --fsys-tarfile "$$dir"/$(1)_*.deb | tar -x -O ./usr/bin/$(2) > "$$dir/tool"; \
	$(if $(3),mkdir -p $@-share.tmp.$$$$ && dpkg-deb --fsys-tarfile "$$dir"/$(1)_*.deb | tar -x -C $@-share.tmp.$$$$ $(3) \
	    && rm -rf $@-share && mv $@-share.tmp.$$$$ $@-share;) \
	chmod +x "$$dir/tool" && mv "$$dir/tool" $@.tmp.$$$$ && mv $@.tmp.$$$$ $@ && $@ --version 2>&1 | head -n1
endef

# Debian's Alertmanager reads its default notification template from /usr/share/prometheus/alertmanager
# (a Debian patch): tests/eda lays $(ALERTMANAGER)-share over /usr/share in Alertmanager's own mount
# namespace (an overlay; nothing is written to this machine's /usr/share)
$(ALERTMANAGER):
	$(call deb_tool,prometheus-alertmanager,prometheus-alertmanager,./usr/share/prometheus/alertmanager)

$(NODE_EXPORTER):
	$(call deb_tool,prometheus-node-exporter,prometheus-node-exporter)

$(EDA_STAMP):
	$(call say,$(EDA_VENV): $(PYTHON) -m venv and pip install -r $(EDA_REQUIREMENTS))
	@$(call locked,$(NFCT_CACHE)/eda-venv.lock,if [ ! -f $@ ]; then rm -rf $(EDA_VENV) && $(PYTHON) -m venv $(EDA_VENV) \
	    && $(EDA_VENV)/bin/python -m pip install -q -r $(EDA_REQUIREMENTS) && touch $@; fi)

eda-setup: venv $(EDA_STAMP) $(PROMETHEUS) $(ALERTMANAGER) $(NODE_EXPORTER) ## What make eda needs: the eda venv, the monitoring stack's binaries, JDK 17
	@if [ ! -x $(EDA_JAVA_HOME)/bin/java ]; then \
	    if [ "$$(id -u)" = 0 ]; then \
	        echo "installing openjdk-17-jre-headless (ansible-rulebook's drools-jpy)"; \
	        apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o Dpkg::Use-Pty=0 \
	            --no-install-recommends openjdk-17-jre-headless; \
	    else echo "WARNING: no $(EDA_JAVA_HOME)/bin/java and not root: ansible-rulebook cannot run"; fi; \
	fi
	@echo "eda-setup: $$($(EDA_VENV)/bin/ansible-rulebook --version 2>/dev/null | head -n1 || echo 'ansible-rulebook missing')"

eda: setup eda-setup ## The closed loop end to end (tests/eda, root): a flooded table, the alert, ansible-rulebook, relieve
	$(call say,eda: pytest tests/eda (node_exporter, Prometheus, Alertmanager, ansible-rulebook, relieve))
	@if [ "$$(id -u)" != 0 ]; then echo "WARNING: not root: skipping tests/eda"; exit 0; fi; \
	export NFCT_REQUIRE_EDA=1 NFCT_EDA_VENV=$(EDA_VENV) JAVA_HOME=$(EDA_JAVA_HOME) NFCT_PROMETHEUS=$(PROMETHEUS) \
	    NFCT_ALERTMANAGER=$(ALERTMANAGER) NFCT_ALERTMANAGER_SHARE=$(ALERTMANAGER)-share NFCT_NODE_EXPORTER=$(NODE_EXPORTER); \
	$(call pytest,$(VENV)/bin/python,tests/eda)

units: setup ## Unit tests (pytest tests/unit)
	$(call say,units: pytest tests/unit with $$($(VENV)/bin/ansible --version | sed -n 1p))
	@$(call pytest,$(VENV)/bin/python,tests/unit)

# docs/host-python.md: compile + unit tests of the host-side code under Python 3.7 and 3.13
# (pyenv's), each in its venv under .cache/host-python, with ansible-core 2.17's module_utils.
.PHONY: host-python
host-python: setup ## Host-side code under the oldest and newest host Python (3.7, 3.13)
	$(call say,host-python: scripts/host-python.sh (compile + unit tests of the host-side code))
	NFCT_CACHE=$(NFCT_CACHE) scripts/host-python.sh

netns: setup ## Real-kernel tests in network namespaces (pytest tests/netns, root only)
	$(call netns_pytest,)

# make test splits them: the quiet_machine cases (tests/netns/conftest.py) after the VM lane
netns-shared: setup ## tests/netns without the quiet_machine cases
	$(call netns_pytest,-m 'not quiet_machine')

netns-quiet: setup ## tests/netns: only the quiet_machine cases
	$(call netns_pytest,-m quiet_machine)

define netns_pytest
	$(call say,netns: pytest tests/netns $(1))
	@if [ "$$(id -u)" != 0 ]; then echo "WARNING: not root: skipping tests/netns"; exit 0; fi; \
	$(call pytest,$(VENV)/bin/python,$(1) tests/netns)
endef

stage: ## Copy the collection's files to .cache/sanity/ansible_collections/nfct/tuning
	$(call say,stage: git ls-files -co --exclude-standard -> $(STAGE))
	scripts/stage-collection.sh $(STAGE)

sanity: setup stage ## ansible-test sanity --local on a staged copy (fails if a test is skipped)
	$(call say,sanity: ansible-test sanity --local --python $(SANITY_PYTHON) $(SANITY_ARGS))
	cd $(STAGE) && ansible-test sanity --local --python $(SANITY_PYTHON) --color yes $(SANITY_ARGS) 2>&1 \
	    | tee $(SANITY_ROOT)/sanity.log
	@if grep -E '^(.\[[0-9;]*m)?WARNING: .*([Ss]kipp|[Nn]ot found|Unable to find)' $(SANITY_ROOT)/sanity.log; then \
	    echo "ERROR: sanity tests were skipped (see the warnings above)" >&2; exit 1; fi

# --offline: the collections are ours (make setup); .ansible-lint leaves plain `ansible-lint` online
# so that in a fresh clone it installs this collection into .ansible by itself (see there).
lint: setup ## ansible-lint (profile production, offline; runs yamllint too)
	$(call say,lint: ansible-lint --offline $(LINT_ARGS))
	ansible-lint --offline $(LINT_ARGS)

# Docs generated from their sources (scripts/gen_docs.py): the role's variable tables, the
# tarball's name, the benchmark figures of the runs of record, the guides as RST.
.PHONY: docs docs-check
docs: setup ## Write the generated parts of README.md and docs/ (tables, version, figures, docs/docsite/rst)
	$(call say,docs: scripts/gen_docs.py)
	PYTHONPATH=$(COLLECTIONS_DIR) $(VENV)/bin/python scripts/gen_docs.py

docs-check: setup ## Fail when a generated part of the docs differs from what make docs writes
	$(call say,docs-check: scripts/gen_docs.py --check)
	PYTHONPATH=$(COLLECTIONS_DIR) $(VENV)/bin/python scripts/gen_docs.py --check

# The docsite from the source of truth (modules' DOCUMENTATION, the role's argument specs,
# docs/*.md): antsibull-docs lint-collection-docs (strict), then the HTML, any warning fatal.
.PHONY: docsite
docsite: setup stage ## Docsite: antsibull-docs lint + HTML in .cache/docsite/build/html (scripts/docsite.sh)
	$(call say,docsite: scripts/docsite.sh -> $(CACHE)/docsite/build/html)
	scripts/docsite.sh $(STAGE)

changelog-lint: setup stage ## antsibull-changelog lint; CHANGELOG.rst is what changelogs/changelog.yaml generates
	$(call say,changelog-lint: antsibull-changelog lint)
	antsibull-changelog lint
	cd $(STAGE) && antsibull-changelog generate && diff -u $(ROOT)/CHANGELOG.rst CHANGELOG.rst \
	    || { echo "ERROR: CHANGELOG.rst is not what changelogs/changelog.yaml generates: run antsibull-changelog generate" >&2; exit 1; }

build: setup stage ## ansible-galaxy collection build into .cache/dist
	$(call say,build: ansible-galaxy collection build -> $(DIST))
	ansible-galaxy collection build --force --output-path $(DIST) $(STAGE)

install-test: build ## Install the built tarball in a temporary path, check ansible-doc sees it
	$(call say,install-test: install the $(NAMESPACE)-$(NAME) tarball and run ansible-doc $(NAMESPACE).$(NAME).$(INSTALL_TEST_MODULE) from it)
	@tarball=$$(ls -t $(DIST)/$(NAMESPACE)-$(NAME)-*.tar.gz | head -n1); \
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	export ANSIBLE_COLLECTIONS_PATH="$$tmp" ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false; \
	ansible-galaxy collection install --offline --no-deps -p "$$tmp" "$$tarball"; \
	ansible-galaxy collection list $(NAMESPACE).$(NAME) | grep -E '^$(NAMESPACE)\.$(NAME) '; \
	ansible-doc -t module $(NAMESPACE).$(NAME).$(INSTALL_TEST_MODULE) > "$$tmp/doc.txt"; head -n 5 "$$tmp/doc.txt"; \
	echo "install-test: ansible-doc found $(NAMESPACE).$(NAME).$(INSTALL_TEST_MODULE) in the installed tarball"

# The execution environment (meta/execution-environment.yml: the collection's controller-side
# dependencies, none). ansible-builder introspect reads that file from the installed tarball
# (it fails when a file the metadata names is missing from it), then ansible-builder create
# writes the build context of scripts/ee/execution-environment.yml (an EE with the tarball) to
# .cache/ee/context; building the image needs the base image's registry (not done here).
EE_DIR := $(ROOT)/$(CACHE)/ee
ee: build ## Execution environment: ansible-builder introspect (installed tarball) and create (context in .cache/ee)
	$(call say,ee: ansible-builder introspect + create -> $(EE_DIR)/context)
	@tarball=$$(ls -t $(DIST)/$(NAMESPACE)-$(NAME)-*.tar.gz | head -n1); \
	rm -rf $(EE_DIR); mkdir -p $(EE_DIR)/installed; \
	ANSIBLE_COLLECTIONS_PATH=$(EE_DIR)/installed ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false \
	    ansible-galaxy collection install --offline --no-deps -p $(EE_DIR)/installed "$$tarball" >/dev/null; \
	meta=$(EE_DIR)/installed/ansible_collections/$(NAMESPACE)/$(NAME)/meta/execution-environment.yml; \
	[ -f "$$meta" ] || { echo "ERROR: meta/execution-environment.yml is not in $$tarball" >&2; exit 1; }; \
	ansible-builder introspect --sanitize $(EE_DIR)/installed; \
	cp scripts/ee/execution-environment.yml scripts/ee/requirements.yml $(EE_DIR)/; \
	cp "$$tarball" $(EE_DIR)/$(NAMESPACE)-$(NAME).tar.gz; \
	cd $(EE_DIR) && ansible-builder create -f execution-environment.yml -c context; \
	cmp $(NAMESPACE)-$(NAME).tar.gz context/_build/collections/$(NAMESPACE)-$(NAME).tar.gz; \
	grep -q 'ansible-galaxy collection install' context/Containerfile; \
	echo "ee: $(EE_DIR)/context has the Containerfile and the tarball"

# The oldest ansible-core we support (meta/runtime.yml), in its own venv.
$(MIN_STAMP):
	$(call say,$(VENV_MIN): $(PYTHON) -m venv and pip install -r $(MIN_REQUIREMENTS))
	@scripts/cached-venv.sh $(VENV_MIN) $(NFCT_CACHE) $(PYTHON) $(MIN_REQUIREMENTS)

min-ansible: setup $(MIN_STAMP) ## Units, syntax check and audit --check with the minimum ansible-core
	$(call say,min-ansible: $$($(VENV_MIN)/bin/ansible --version | sed -n 1p))
	@$(call pytest,$(VENV_MIN)/bin/python,tests/unit)
	@export PATH="$(ROOT)/$(VENV_MIN)/bin:$$PATH"; \
	for b in playbooks/*.yml; do echo "syntax-check $$b"; ansible-playbook -i localhost, --syntax-check "$$b"; done; \
	mkdir -p $(CACHE)/audit; ansible-playbook $(LOCALHOST) $(AUDIT_FLAGS) $(AUDIT_ARGS) playbooks/audit.yml

images: apt ## Molecule base images localhost/nfct-debian:SUITE (debootstrap; rebuilt when the script changes)
	$(call say,images: localhost/nfct-debian:{$(IMAGE_SUITES)} (scripts/build-image.sh))
	@if [ "$$(id -u)" != 0 ]; then echo "ERROR: building the images needs root (debootstrap)" >&2; exit 1; fi
	@$(call locked,$(IMAGE_CACHE)/.lock,scripts/build-image.sh $(IMAGE_SUITES))

# A failed or interrupted scenario is destroyed here too (`molecule test` destroys on failure,
# not when it is interrupted), so no container is left behind.
molecule: setup images ## molecule test -s NAME for each of MOLECULE_SCENARIOS (podman, images)
	$(call say,molecule: scenarios [$(MOLECULE_SCENARIOS)])
	@[ -n "$(strip $(MOLECULE_SCENARIOS))" ] || { echo "no scenarios listed in MOLECULE_SCENARIOS"; exit 0; }; \
	export MOLECULE_GLOB='molecule/*/molecule.yml'; \
	guard() { for f in $(HOST_GUARD_FILES); do [ -r "$$f" ] && printf '%s = %s\n' "$$f" "$$(cat "$$f")"; done; true; }; \
	before=$$(guard); current=""; \
	destroy() { if [ -n "$$current" ]; then echo "--- molecule destroy -s $$current"; molecule destroy -s "$$current" || true; fi; }; \
	trap 'destroy; exit 130' INT TERM; \
	for s in $(MOLECULE_SCENARIOS); do \
	    current=$$s; echo "--- molecule test -s $$s"; \
	    start=$$SECONDS; \
	    lock=""; [ "$$s" != host ] || lock="flock $(GLOBAL_LOCK)"; \
	    if ! $$lock molecule test -s "$$s"; then echo "ERROR: scenario $$s failed" >&2; destroy; exit 1; fi; \
	    echo "--- scenario $$s passed in $$((SECONDS - start)) s"; current=""; \
	done; \
	after=$$(guard); \
	if [ "$$before" != "$$after" ]; then \
	    echo "WARNING: host-global values changed during the scenarios (ours or other work on this machine):"; \
	    diff <(echo "$$before") <(echo "$$after") || true; \
	fi

# The safety proofs on Podman containers of the Molecule image (docs/safety.md): check mode
# writes nothing, SIGKILL at every step boundary and at random times, environment faults,
# five role runs at once; the audit of a fleet from the installed tarball (docs/audit.md) and
# its HTML report in headless Chromium (apt package chromium). Every container is removed by
# the tests.
# `make containers` runs all of them; make test runs the fleet tests (CONTAINERS_FLEET: the rollout on
# 12 containers, the audit and the rollout under ansible-runner in slices) as `containers-fleet` in
# the VM's lane after the VM scenario, the others (`containers-rest`) in lane 1. Both lanes' tests
# that write, fill against or compare the initial namespace's global values hold one lock
# (tests/netns/nsfill.py host_global_lock; the Molecule `host` scenario takes it with flock).
# containers-fleet builds its tarball from a staged copy of its own (lane 1's sanity and docsite
# read .cache/sanity meanwhile).
CONTAINERS_FLEET := tests/containers/test_rollout_fleet.py tests/containers/test_runner_slices.py
GLOBAL_LOCK      := /run/nfct-tuning-tests-global.lock
containers: setup images build $(PROMTOOL) ## Container tests (tests/containers, root): safety, the installed audit, Chromium, users, metrics, rollout fleet
	$(call say,containers: pytest tests/containers)
	@$(call containers_pytest,tests/containers)

containers-rest: setup images build $(PROMTOOL) ## tests/containers without the fleet tests (make test's lane 1)
	$(call say,containers-rest: pytest tests/containers without $(notdir $(CONTAINERS_FLEET)))
	@$(call containers_pytest,$(addprefix --ignore=,$(CONTAINERS_FLEET)) tests/containers)

containers-fleet: STAGE := $(ROOT)/$(CACHE)/fleet-stage/ansible_collections/$(NAMESPACE)/$(NAME)
containers-fleet: DIST := $(ROOT)/$(CACHE)/fleet-dist
containers-fleet: setup images build $(PROMTOOL) ## The fleet tests of tests/containers: rollout on 12 containers, runner slices (make test's lane 2)
	$(call say,containers-fleet: pytest $(CONTAINERS_FLEET))
	@$(call containers_pytest,$(CONTAINERS_FLEET))

define containers_pytest
	if [ "$$(id -u)" != 0 ]; then echo "WARNING: not root: skipping tests/containers"; exit 0; fi; \
	export NFCT_REQUIRE_CHROMIUM=1 NFCT_DIST=$(DIST) NFCT_PROMTOOL=$(abspath $(PROMTOOL)); \
	$(call pytest,$(VENV)/bin/python,$(1))
endef

# The qemu VM scenario (docs/vm.md): Debian 12 with Debian's kernel (nf_conntrack a module),
# real reboots. The image is cached in ~/.cache/nfct-tuning/vm (VM_CACHE; shared by every clone),
# keyed on scripts/build-vm-image.sh's hash.
vm-image: apt ## VM image of the `vm` scenario (debootstrap + linux-image-amd64; cached, rebuilt when the script changes)
	$(call say,vm-image: scripts/build-vm-image.sh)
	@$(call locked,$(VM_CACHE)/.lock,scripts/build-vm-image.sh)

# destroy (scripts/vm.sh stop: monitor, then the PID) also runs when the scenario is interrupted.
molecule-vm: setup vm-image ## molecule test -s vm (qemu VM, real reboots; ~5 min under emulation)
	$(call say,molecule-vm: molecule test -s vm)
	@export MOLECULE_GLOB='molecule/*/molecule.yml'; \
	accel=$$(scripts/vm.sh accel); echo "--- VM accelerator: $$accel"; \
	trap 'echo "--- molecule destroy -s vm"; molecule destroy -s vm || true; exit 130' INT TERM; \
	start=$$SECONDS; \
	if ! molecule test -s vm; then echo "ERROR: scenario vm failed" >&2; molecule destroy -s vm || true; exit 1; fi; \
	echo "--- scenario vm passed in $$((SECONDS - start)) s (accelerator: $$accel)"; \
	mkdir -p $(STAGE_LOGS); echo "molecule-vm: accelerator $$accel; scenario $$((SECONDS - start)) s" > $(STAGE_LOGS)/vm.note

# ---------------------------------------------------------------------------------------------
# Benchmarks (not part of `make test`): benchmarks/bench.py, method in docs/benchmarks.md

# BENCH_FLEET=0 skips the fleet part (and the image it needs); BENCH_ARGS go to bench.py,
# e.g. BENCH_ARGS='--sizes 100000 --runs 3'.
BENCH_FLEET        ?= 1
BENCH_ARGS         ?=

# The fleet part uses only the bookworm image.
bench: IMAGE_SUITES := bookworm
bench: setup $(PROMTOOL) $(PROMETHEUS) $(if $(filter 1,$(BENCH_FLEET)),images) ## Benchmarks: facts on 100k and 1M-entry tables, fleet run cost (root; report in benchmarks/results)
	$(call say,bench: benchmarks/bench.py $(BENCH_ARGS) (report: benchmarks/results/latest.md))
	@if [ "$$(id -u)" != 0 ]; then echo "ERROR: make bench needs root (network namespaces, nf_conntrack_max, podman)" >&2; exit 1; fi
	$(VENV)/bin/python benchmarks/bench.py $(if $(filter 1,$(BENCH_FLEET)),,--no-fleet) $(BENCH_ARGS)

# ---------------------------------------------------------------------------------------------

clean: ## Remove the sanity copy and built tarballs
	$(call say,clean)
	rm -rf $(CACHE)/sanity $(CACHE)/dist tests/output

distclean: clean ## Also remove the venvs' links and the checkout's caches (not NFCT_CACHE, ~/.cache/nfct-tuning, where the venvs are)
	rm -rf $(VENV) $(VENV_MIN) $(CACHE) .ansible
