# The two commands of the README: `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
BIN := sagemaker-image-version
EVENT ?= events/create.json
DEMO_EVENTS := events/create.json events/update-in-place.json events/update-replacement.json \
	events/delete-replaced.json events/delete.json events/create-bad-input.json

.PHONY: help demo test rust-tests lint check-format templates cdk cargo-lambda-smoke tools watch invoke package bench

help:
	@echo "make demo     Create -> Update -> Delete against the local SageMaker stand-in, printing each answer"
	@echo "make test     every test: Rust suites, cargo lambda smoke test, template lints, CDK synth"
	@echo "make watch    the function under cargo lambda watch, wired to the local stand-ins"
	@echo "make invoke EVENT=events/create.json   send one event to 'make watch' and print the answer"
	@echo "make package  release build and bootstrap.zip for this machine's architecture"
	@echo "make bench    benchmarks against the Python handler (BUILD=1 also times a clean release build)"

demo:
	cargo build --quiet --bin $(BIN) -p sagemaker-image-version
	cargo run --quiet -p standins -- demo --function target/debug/$(BIN) $(DEMO_EVENTS)

test: check-format lint rust-tests cargo-lambda-smoke templates cdk

check-format:
	cargo fmt --all -- --check

lint:
	cargo clippy --workspace --all-targets -- -D warnings

rust-tests:
	cargo test --workspace

tools:
	scripts/python-tools.sh

templates: tools
	scripts/lint-templates.sh

cdk: tools
	scripts/cdk-check.sh

cargo-lambda-smoke: tools
	scripts/cargo-lambda-smoke.sh

watch: tools
	scripts/watch.sh

invoke: tools
	scripts/invoke.sh $(EVENT)

package: tools
	scripts/package.sh

bench: tools
	scripts/bench.sh
