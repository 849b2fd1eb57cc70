# The two commands of the README: `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
BIN := sagemaker-image-version
EVENT ?= events/create.json

.PHONY: help demo test rust-tests lint check-format templates release release-test construct construct-test cdk cdk-framework cargo-lambda-smoke ministack tools watch invoke package bench mutants

help:
	@echo "make demo     Create -> Update -> Delete against the local SageMaker stand-in, printing each answer"
	@echo "make test     every test: Rust suites, cargo lambda smoke test, ministack stacks, template lints, CDK synth"
	@echo "make watch    the function under cargo lambda watch, wired to the local stand-ins"
	@echo "make invoke EVENT=events/create.json   send one event to 'make watch' and print the answer"
	@echo "make package  release build and bootstrap.zip for this machine's architecture"
	@echo "make release  dist/: the function's zip per architecture, its template, SHA256SUMS"
	@echo "make construct  the CDK construct library from dist/: npm tarball and Python wheel"
	@echo "make bench    benchmarks against the Python handler (BUILD=1 also times a clean release build)"
	@echo "make mutants  cargo mutants over src/lifecycle and src/properties with the in-process tests (not in CI)"

# The events and their order: standins/src/local.rs (`target/debug/standins events`).
# The builds show cargo's progress: the first one takes minutes.
demo: tools
	@echo "make demo: building the function and the stand-ins (debug)"
	cargo build --workspace --bins
	target/debug/standins demo --function target/debug/$(BIN)

# The release is built once (7-10 minutes on 2 cores): its zip is what the
# construct library bundles, and what the CDK checks and CDK's framework suite run.
test: check-format lint rust-tests cargo-lambda-smoke ministack templates release-test construct-test cdk cdk-framework

check-format:
	cargo fmt --all -- --check

lint:
	cargo clippy --workspace --all-targets -- -D warnings

rust-tests: tools
	cargo test --workspace

tools:
	scripts/python-tools.sh

templates: tools
	scripts/lint-templates.sh

# dist/: the release artifacts, and their tests (the sums, the templates, the
# unpacked bootstrap through a Create and a Delete against the stand-ins).
release: tools
	scripts/release.sh

release-test: release
	scripts/release-test.sh

# The CDK construct library (construct/), from dist/'s zip: npm tarball and
# Python wheel; then the README's TypeScript and Python apps installing them.
construct: release
	scripts/construct-build.sh

construct-test: construct
	scripts/construct-test.sh

cdk: construct
	scripts/cdk-check.sh

# CDK's own Provider framework runtime driving the binary; its receiver
# listens on 443, as the framework PUTs there (root, or CAP_NET_BIND_SERVICE).
cdk-framework: construct
	scripts/cdk-framework-test.sh

cargo-lambda-smoke: tools
	scripts/cargo-lambda-smoke.sh

# The function under a CloudFormation engine nobody here wrote: stacks of
# tests/ministack/template.yaml deployed through ministack (PyPI) against the
# SageMaker stand-in; its own venv, .venv-ministack.
ministack: tools
	scripts/ministack-test.sh

watch: tools
	scripts/watch.sh

invoke: tools
	scripts/invoke.sh $(EVENT)

package: tools
	scripts/package.sh

bench: tools
	scripts/bench.sh

# Not part of make test: a mutation run takes a while (docs/testing.md).
mutants:
	scripts/mutants.sh
