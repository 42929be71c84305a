# Entry points. The README's two commands are `make deploy-local` and `make test`.
PY := .venv/bin/python

.PHONY: venv test-env deploy-local test unit contract e2e toolchain cluster-up cluster-down cluster-status schema plan-examples benchmark

venv:
	@scripts/bootstrap.sh

## The main job: deploy the `local` stack (KUBE_CONTEXT=name to use your own cluster).
deploy-local:
	@scripts/deploy-local.sh

## Every test: unit (mocks), contract (real ZenML server + MariaDB), e2e (real engine + local cluster).
test: unit contract e2e

## MariaDB, zenml[server] venvs per deployed version, kube-score: what contract and security tests run against.
test-env: venv
	bash tests/contract/contract-env.sh

unit: test-env
	$(PY) -m pytest tests

contract: test-env
	$(PY) -m pytest -m contract -p no:cacheprovider tests

e2e: venv toolchain
	$(PY) -m pytest -m e2e -p no:cacheprovider tests

toolchain:
	@toolchain/build.sh >&2

cluster-up: venv toolchain
	$(PY) -m toolchain.localcluster up --dir .zenml-platform/cluster

cluster-down:
	$(PY) -m toolchain.localcluster down --dir .zenml-platform/cluster

cluster-status:
	$(PY) -m toolchain.localcluster status --dir .zenml-platform/cluster

## Regenerate schema/stack-config.schema.json and docs/configuration.md from the config model.
schema: venv
	$(PY) cli.py schema

plan-examples: venv
	@for f in stacks/Pulumi.*.yaml; do echo "== $$f"; $(PY) cli.py plan --config-file $$f | tail -1; done

## Offline plans and start-up against floors measured in the same run; then the real engine (needs the toolchain).
benchmark: venv
	$(PY) benchmarks/plan_benchmark.py
	$(PY) benchmarks/cli_startup.py
	-$(PY) benchmarks/engine_benchmark.py
