"""The layers stay apart: components take typed args (never the stack file's model), type tokens are literal, the
backend interface answers for every target, and the translation (scenarios/args.py) is where config is read."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pulumi
import pytest

from planning.run import run_program
from tests.conftest import config

ROOT = Path(__file__).resolve().parents[2]
COMPONENT_FILES = sorted((ROOT / "components").rglob("*.py"))
TOKEN = re.compile(r"zenml-platform:[a-z]+:[A-Z][A-Za-z]+")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_component_reads_the_stack_file_model():
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in _imports(p) if m.split(".")[0] in ("stack_config", "scenarios"))
                 for p in COMPONENT_FILES}
    assert {k: v for k, v in offenders.items() if v} == {}


def _super_init_first_args(path: Path):
    tree = ast.parse(path.read_text())
    for cls in [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]:
        for call in [n for n in ast.walk(cls) if isinstance(n, ast.Call)]:
            f = call.func
            if (isinstance(f, ast.Attribute) and f.attr == "__init__" and isinstance(f.value, ast.Call)
                    and isinstance(f.value.func, ast.Name) and f.value.func.id == "super" and call.args):
                yield cls, call.args[0]


def test_type_tokens_are_literal_strings():
    """A token built at run time (an f-string, a class name) changes every URN below it when code is renamed."""
    built = []
    literal: list[str] = []
    for path in [*COMPONENT_FILES, ROOT / "tenant" / "program.py"]:
        for cls, first in _super_init_first_args(path):
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                literal.append(first.value)
            elif isinstance(first, (ast.Name, ast.Attribute)):
                continue  # a base class handing on its subclasses' literal token (checked below)
            else:
                built.append(f"{path.relative_to(ROOT)}:{cls.name}")
        # ResourceGroup takes its token from the caller: a literal there too.
        for call in [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Call)]:
            if isinstance(call.func, ast.Name) and call.func.id == "ResourceGroup":
                first = call.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    literal.append(first.value)
                else:
                    built.append(f"{path.relative_to(ROOT)}:ResourceGroup")
    assert built == []
    assert literal and all(TOKEN.fullmatch(t) for t in literal), literal
    assert {"zenml-platform:aws:SharedDatabase", "zenml-platform:gcp:ControlPlaneDatabase"} <= set(literal)


def test_base_classes_hand_on_literal_tokens_of_their_subclasses():
    from components.aws.platform import AwsWorkspaceServices
    from components.gcp.platform import GcpWorkspaceServices
    from components.in_cluster_database import MariaDbDatabase, MySqlDatabase, PostgresDatabase

    tokens = [c.type_token for c in (MySqlDatabase, MariaDbDatabase, PostgresDatabase)]
    assert tokens == ["zenml-platform:database:MySqlDatabase", "zenml-platform:database:MariaDbDatabase",
                      "zenml-platform:database:PostgresDatabase"]
    for cls, token in ((AwsWorkspaceServices, "zenml-platform:aws:WorkspaceServices"),
                       (GcpWorkspaceServices, "zenml-platform:gcp:WorkspaceServices")):
        assert f'"{token}"' in Path(__import__(cls.__module__, fromlist=["x"]).__file__).read_text()


def test_bounded_keeps_short_names_and_distinct_long_ones():
    from components.names import bounded

    assert bounded("zenml-alpha", 63) == "zenml-alpha"
    a, b = bounded("x" * 70 + "-a", 63), bounded("x" * 70 + "-b", 63)
    assert len(a) == len(b) == 63 and a != b and a.startswith("x" * 56 + "-")
    # GCP service account IDs: 30 characters with a 4-character digest.
    sa = bounded("zenml-" + "w" * 30 + "-srv", 30, digest=4)
    assert len(sa) == 30 and re.fullmatch(r"zenml-w+-[0-9a-f]{4}", sa)
    # A prefix ending in '-' loses it, unless strip_dash is off (Cloud SQL instance names were made that way).
    name = "p" * 72 + "-" + "q" * 10
    assert bounded(name, 80)[72] == "-" and len(bounded(name, 80)) == 79
    assert len(bounded(name, 80, strip_dash=False)) == 80


def test_profile_tables_size_managed_instances_per_target():
    from scenarios.args import managed_sizing
    from stack_config.cloud import ManagedInstance

    for target, small, production in (("aws", "db.t4g.small", "db.m7g.large"), ("gcp", "db-custom-1-3840", "db-custom-2-7680")):
        cfg = config(profile="small")
        cfg = cfg.model_copy(update={"target": type(cfg.target)(target)})
        s = managed_sizing(cfg, ManagedInstance())
        assert (s.instance_class, s.high_availability, s.max_storage_gb) == (small, False, s.storage_gb * 4)
        assert s.backup_retention_days == 7
        prod = managed_sizing(cfg.model_copy(update={"profile": type(cfg.profile)("production")}), ManagedInstance(storage_gb=30))
        assert (prod.instance_class, prod.high_availability, prod.storage_gb, prod.max_storage_gb) == (production, True, 30, 120)


def _workspace_on_kubernetes_with(database=None, secret_store="keep"):
    """A Workspace built from translated args, with one part swapped for what only a cloud backend can provide."""
    from dataclasses import replace

    from components.backend import ManagedDatabaseRequest
    from components.database import ManagedSizing
    from components.workspace import Workspace
    from scenarios import args

    def program(cfg):
        ctx = args.context(cfg)
        wa = args.workspace(cfg, 0, ctx, ingress_ca=None, database_ca=None, trusted_ca_pem=None)
        if database == "managed":
            wa = replace(wa, database=ManagedDatabaseRequest(ManagedSizing("db.t4g.small", 20, 80, False, 7)))
        if secret_store is None:
            wa = replace(wa, secret_store=None, backend=replace(wa.backend, secret_store="aws"))
        w = Workspace("alpha", wa, ctx)  # no backend given: target kubernetes
        return {"url": w.url, "secretStore": w.secret_store_kind, "database": w.database.host}

    return program


def test_workspace_on_the_kubernetes_backend_uses_only_the_cluster(preview):
    result = run_program(config(tls={"mode": "disabled"}), preview=preview, program=_workspace_on_kubernetes_with())
    assert result.outputs["secretStore"] == "sql"
    assert result.outputs["database"] == "alpha-mysql.zenml-alpha.svc.cluster.local"
    assert not [r for r in result.registrations if r.type.startswith(("aws:", "gcp:"))]
    [ws] = result.of_type("zenml-platform:platform:Workspace")
    assert ws.name == "alpha"


@pytest.mark.parametrize("swap, message", [
    ({"database": "managed"}, "workspace alpha: database.mode managed needs target aws or gcp"),
    ({"secret_store": None}, "workspace alpha: secretStore.type aws needs its cloud target"),
])
def test_what_only_a_cloud_provides_is_refused_on_kubernetes_by_name(preview, swap, message):
    with pytest.raises(Exception) as err:
        run_program(config(tls={"mode": "disabled"}), preview=preview, program=_workspace_on_kubernetes_with(**swap))
    assert message in str(err.value)


def test_kubernetes_backend_has_no_managed_control_plane_database():
    from components.backend import KubernetesBackend

    with pytest.raises(ValueError, match="controlPlane.database.mode managed needs target aws or gcp"):
        KubernetesBackend().control_plane_database("ns", None, pulumi.ResourceOptions())


def test_config_secrets_reach_components_as_references_or_secret_outputs():
    from components.secret_values import SecretKeyRef
    from scenarios.args import secret
    from stack_config.secrets import SecretRefInput

    ref = SecretRefInput.model_validate({"secretKeyRef": {"name": "vault", "key": "token"}})
    assert secret(ref, "workspaces[0].secretStore.vault.token") == SecretKeyRef("vault", "token")


def test_control_plane_without_its_chart_is_the_same_database_and_namespace(preview):
    """tests/node/control_plane_database_program.py deploys this on the real node (the chart's images are private):
    the same resources, under the same URNs, as the control plane of the layouts, and no Helm release."""
    from scenarios.args import context
    from scenarios.kubernetes_platform import control_plane_namespace_and_database, database_ca_of

    cfg = config(controlPlane={"enabled": True, "chart": {"archive": "charts/zenml-pro-0.13.12.tgz"}}, workspaces=[])

    def program(c):
        ctx = context(c)
        plane = control_plane_namespace_and_database(c, ctx, database_ca_of(c))
        return {"host": plane.database.host, "url": plane.url}

    alone = run_program(cfg, preview=preview, program=program)
    full = run_program(cfg, preview=preview)
    assert not alone.of_type("kubernetes:helm.sh/v3:Release") and full.of_type("kubernetes:helm.sh/v3:Release")
    assert alone.outputs == {"host": "control-plane-postgres.zenml-control-plane.svc.cluster.local", "url": None}
    chart_urns = {r.urn for r in full.registrations if "zenml-platform:kubernetes:ControlPlane" in r.urn or "tls:" in r.type}
    assert {r.urn for r in alone.registrations if "tls:" not in r.type} == {r.urn for r in full.registrations} - chart_urns
