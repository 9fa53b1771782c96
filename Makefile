# idc-guard: the same commands locally and in CI (.ci/run calls `make test`).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
# The instance and identity store the fixtures in events/ belong to.
DEMO_INSTANCE := arn:aws:sso:::instance/ssoins-7223b1c4d5e6f708
DEMO_STORE := d-9067a1b2c3
# The roles the demo deployment runs as (the template passes its own as IDC_GUARD_OWN_ROLES).
DEMO_OWN_ROLES := arn:aws:iam::222222222222:role/idc-guard-assignment-guard,arn:aws:iam::222222222222:role/idc-guard-identity-guard
# The Python environment of the AWS emulator the integration tests start (tests/emulator/).
PYTHON ?= python3
VENV := .venv
EMULATOR_REQUIREMENTS := tests/emulator/requirements.txt
# Named after the requirements' content: a changed pin reinstalls, an unchanged one is a no-op.
EMULATOR_CONSTRAINTS := tests/emulator/constraints.txt
VENV_STAMP := $(VENV)/.installed-$(shell cat $(EMULATOR_REQUIREMENTS) $(EMULATOR_CONSTRAINTS) | sha256sum | cut -c1-16)



.PHONY: browser
.PHONY: help demo check-events test fmt-check clippy doc deny unit venv build bench clean validate-template bench-functions bench-burst bench-usage bench-report

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## Build every crate (debug)
	$(CARGO) build --workspace --locked

demo: venv build ## The main job: seed the AWS emulator, make violating changes, let the guard revert and verify them
	./target/debug/idc-guard validate policy/guardrail.toml
	$(CARGO) run -q --locked -p idc-guard-tests --bin demo

check-events: build ## Check every event in events/ offline with the shipped policy
	./target/debug/idc-guard check --instance-arn $(DEMO_INSTANCE) --identity-store-id $(DEMO_STORE) --own-role $(DEMO_OWN_ROLES) events/*.json \
	  || [ $$? -eq 1 ]  # exit 1 means violations were found, which is the point
	@echo
	@echo "== verdicts =="
	./target/debug/idc-guard check --format json --instance-arn $(DEMO_INSTANCE) --identity-store-id $(DEMO_STORE) --own-role $(DEMO_OWN_ROLES) events/*.json \
	  | sed -E 's/.*"verdict":"([a-z]+)".*/\1/' | sort | uniq -c || true

fmt-check: ## cargo fmt --all --check
	$(CARGO) fmt --all --check

clippy: ## Clippy on every target, warnings are errors
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

doc: ## The library's documentation, warnings (broken links, missing docs) are errors
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --locked

# cargo-deny from crates.io into a project-local root, built once (a debug build takes about a
# minute; its checks of bans, licences and sources need no network).
TOOLS := .tools
CARGO_DENY_VERSION := 0.20.2
CARGO_DENY := $(TOOLS)/bin/cargo-deny

$(CARGO_DENY):
	$(CARGO) install cargo-deny --version $(CARGO_DENY_VERSION) --locked --debug --no-default-features --root $(TOOLS)

deny: $(CARGO_DENY) ## cargo deny check bans licenses sources (deny.toml)
	$(CARGO_DENY) check bans licenses sources

venv: $(VENV_STAMP) ## Python venv (.venv) with the pinned AWS emulator for the integration tests

$(VENV_STAMP):
	$(VENV)/bin/python -c '' 2>/dev/null || $(PYTHON) -m venv --clear $(VENV)
	rm -f $(VENV)/.installed-*
	$(VENV)/bin/python -m pip install --disable-pip-version-check -q -r $(EMULATOR_REQUIREMENTS) -c $(EMULATOR_CONSTRAINTS)
	touch $@

# Debian's headless Chromium, for the access-review page's test (issue #18): installed from the
# Debian archive when missing (as root, or through passwordless sudo). Where it cannot be, the
# test says so and skips; where it is installed, IDC_GUARD_REQUIRE_BROWSER=1 makes its absence a
# failure rather than a skip.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo -n)
browser: ## Debian's chromium for the access-review page's test (skipped, with a message, where it cannot be installed)
	@command -v chromium >/dev/null 2>&1 \
	  || { command -v apt-get >/dev/null 2>&1 \
	       && { $(SUDO) apt-get install -y -q chromium >/dev/null 2>&1 \
	            || { $(SUDO) apt-get update -q >/dev/null 2>&1 && $(SUDO) apt-get install -y -q chromium >/dev/null; }; }; } \
	  || echo "make browser: chromium could not be installed; the access-review page's browser test will be skipped"

unit: venv browser ## Every test in the workspace
	IDC_GUARD_REQUIRE_BROWSER=$$(command -v chromium >/dev/null 2>&1 && echo 1 || echo 0) $(CARGO) test --workspace --locked

# cfn-lint runs the SAM transform and the resource specs; `sam validate` (without --lint, which
# would only run cfn-lint again) runs SAM's own translator, which catches other mistakes.
TEMPLATES := template.yaml deploy/management-forwarder.yaml
validate-template: venv ## cfn-lint and sam validate on template.yaml and the management-account forwarder
	$(VENV)/bin/cfn-lint $(TEMPLATES)
	for t in $(TEMPLATES); do SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=eu-west-1 $(VENV)/bin/sam validate -t $$t; done

test: fmt-check clippy doc deny validate-template unit ## The gates CI runs: format, lints, docs, dependencies, template validation, all tests

bench: ## Benchmarks recorded in BENCHMARKS.md
	$(CARGO) bench -p idc-guard --bench throughput --locked
	$(CARGO) bench -p idc-guard --bench hygiene --locked
	./scripts/bench-check.sh
	./scripts/bench-guard.sh
	./scripts/bench-export.sh
	./scripts/bench-functions.sh

bench-functions: ## Zipped arm64 bootstrap size and init time of every function (BENCHMARKS.md section 5)
	./scripts/bench-functions.sh

bench-usage: ## idc-guard usage over 1,000,000 CloudTrail records, plain and gzipped, against a Python baseline (issue #17)
	./scripts/bench-usage.sh

bench-report: ## The access-review page at 1,000 accounts x 50 sets: render time, page size, headless Chromium's first view (BENCHMARKS.md section 10)
	./scripts/bench-report.sh

bench-burst: ## Bulk change: a Terraform-like apply against the throttling emulator, without and with idc-guard (BENCHMARKS.md section 7)
	./scripts/bench-burst.sh

clean: ## Remove build output and benchmark data
	$(CARGO) clean
	rm -rf bench-data $(TOOLS)
