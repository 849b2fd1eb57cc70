# The two commands of the README: `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
BIN := sagemaker-image-version
EVENT ?= events/create.json

.PHONY: help demo test rust-tests lint check-format templates cdk cdk-framework cargo-lambda-smoke ministack tools watch invoke package bench

help:
	@echo "make demo     Create -> Update -> Delete against the local SageMaker stand-in, printing each answer"
	@echo "make test     every test: Rust suites, cargo lambda smoke test, ministack stacks, template lints, CDK synth"
	@echo "make watch    the function under cargo lambda watch, wired to the local stand-ins"
	@echo "make invoke EVENT=events/create.json   send one event to 'make watch' and print the answer"
	@echo "make package  release build and bootstrap.zip for this machine's architecture"
	@echo "make bench    benchmarks against the Python handler (BUILD=1 also times a clean release build)"

# The events and their order: standins/src/local.rs (`target/debug/standins events`).
# The builds show cargo's progress: the first one takes minutes.
demo: tools
	@echo "make demo: building the function and the stand-ins (debug)"
	cargo build --workspace --bins
	target/debug/standins demo --function target/debug/$(BIN)

test: check-format lint rust-tests cargo-lambda-smoke ministack templates cdk cdk-framework

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

cdk: tools
	scripts/cdk-check.sh

# CDK's own Provider framework runtime driving the binary; its receiver
# listens on 443, as the framework PUTs there (root, or CAP_NET_BIND_SERVICE).
cdk-framework: tools
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
