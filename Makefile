# Entry points. The README's two commands are `make deploy-local` and `make test`.
PY := .venv/bin/python

.PHONY: lint venv test-env deploy-local test unit contract e2e toolchain cluster-up cluster-down cluster-status schema plan-examples benchmark images-tools images images-push images-test

venv:
	@scripts/bootstrap.sh

## The main job: deploy the `local` stack (KUBE_CONTEXT=name to use your own cluster).
deploy-local:
	@scripts/deploy-local.sh

## Every test: unit (mocks), contract (real ZenML server + MariaDB), e2e (real engine on the simulated cluster
## and on the real local node: pods run, traffic flows; needs root).
test: lint unit contract e2e

## MariaDB, zenml[server] venvs per deployed version, kube-score: what contract and security tests run against.
test-env: venv
	bash tests/contract/contract-env.sh

## ruff (bugs, imports) and mypy (types), configured in pyproject.toml.
lint: venv
	$(PY) -m ruff check .
	$(PY) -m mypy

unit: test-env
	$(PY) -m pytest tests

contract: test-env
	$(PY) -m pytest -m contract -p no:cacheprovider tests

e2e: test-env toolchain images
	$(PY) -m pytest -m "e2e or images" -p no:cacheprovider tests

toolchain:
	@toolchain/build.sh >&2

## Container images built from images/ (Debian + PyPI) into ~/.cache/zenml-platform/images; root needed.
images-tools:
	@images/install-tools.sh

# postgres:15: the control plane's database for tests/images/test_postgres_run.py and tests/node/test_control_plane_backup.py.
images: venv images-tools
	$(PY) -m images.build --stack local --node-images
	$(PY) -m images.build postgres:15

## Push them into the local mirror (REGISTRY=host:port, default the local stack's 127.0.0.1:5000).
images-push: images
	$(PY) -m images.push --registry $${REGISTRY:-127.0.0.1:5000} --stack local --node-images

## Run the built images with runc (server + MariaDB + migration, PostgreSQL) and push into a throwaway registry.
images-test: images
	$(PY) -m pytest -m images -p no:cacheprovider tests/images

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
