"""Class 2: patterns are full matches. `^...$` with `re.match` accepts a value ending in a newline (what a YAML
block scalar `|` writes), and `\\d` accepts any Unicode digit where ASCII digits are meant."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from tests.input_hardening.helpers import base, validate_accepts, validate_refuses

ROOT = Path(__file__).resolve().parents[2]
ARABIC = "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661\u0662"  # ١٢٣٤٥٦٧٨٩٠١٢
FULLWIDTH = "\uff11\uff12\uff13"  # １２３


def example(stack: str) -> dict:
    return copy.deepcopy(yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text())["config"])


def set_path(config: dict, path: str, value) -> dict:
    """`aws.region` -> config['zenml-platform:aws']['region'] = value; `workspaces[0].name` indexes lists."""
    parts = []
    for dotted in path.split("."):
        name, *idx = dotted.split("[")
        parts.append(name)
        parts.extend(int(i.rstrip("]")) for i in idx)
    parts[0] = f"zenml-platform:{parts[0]}"
    node = config
    for part in parts[:-1]:
        node = node.setdefault(part, {}) if isinstance(node, dict) else node[part]
    node[parts[-1]] = value
    return config


def refuses(tmp_path, stack: str, path: str, value, *needles: str):
    """The example stack with `path` set to `value` is refused by a problem at `path` (or an index below it)."""
    cfg = set_path(example(stack), path, value)
    lines = validate_refuses(tmp_path, yaml.safe_dump({"config": cfg}), *needles)
    assert any(line.startswith((f"{path}: ", f"{path}[")) for line in lines[1:]), lines
    return lines


# (stack, key path, a valid value): each gets a trailing newline, and a block scalar written by hand.
NEWLINE_CASES = [
    ("local", "domain", "zenml.example.com"),
    ("local", "workspaces[0].name", "alpha"),
    ("local", "workspaces[0].host", "alpha.zenml.example.com"),
    ("local", "zenmlVersion", "0.98.0"),
    ("local", "workspaces[0].zenmlVersion", "0.98.0"),
    ("local", "registryMirror.registry", "registry.corp.internal:5000"),
    ("local", "kubernetes.namespacePrefix", "zenml"),
    ("local", "controlPlane.version", "0.13.0"),
    ("local", "images.server", "zenmldocker/zenml-server"),
    ("local", "workspaces[0].database.inCluster.storageSize", "10Gi"),
    ("local", "workspaces[0].resources.limits.cpu", "2"),
    ("local", "workspaces[0].resources.limits.memory", "2Gi"),
    ("local", "workspaces[0].runner.quota.memory", "8Gi"),
    ("local", "kubernetes.ingressControllerNamespace", "ingress-nginx"),
    ("local", "kubernetes.storageClassName", "standard"),
    ("hybrid-aws", "aws.region", "eu-central-1"),
    ("hybrid-aws", "aws.accountId", "123456789012"),
    ("hybrid-aws", "aws.namePrefix", "zenml"),
    ("hybrid-aws", "aws.vpcCidr", "10.0.0.0/16"),
    ("hybrid-gcp", "gcp.project", "zenml-project-1"),
    ("hybrid-gcp", "gcp.region", "europe-west3"),
    ("hybrid-gcp", "gcp.projectNumber", "123456789012"),
]


@pytest.mark.parametrize("stack, path, good", NEWLINE_CASES, ids=[c[1] for c in NEWLINE_CASES])
def test_trailing_newline_is_refused(tmp_path, stack, path, good):
    refuses(tmp_path, stack, path, good + "\n")


@pytest.mark.parametrize("stack, path, good", NEWLINE_CASES[:4], ids=[c[1] for c in NEWLINE_CASES[:4]])
def test_block_scalar_as_written_by_hand_is_refused(tmp_path, stack, path, good):
    cfg = set_path(example(stack), path, "PLACEHOLDER")
    text = yaml.safe_dump({"config": cfg}).replace("PLACEHOLDER", f"|\n{' ' * 8}{good}")
    assert yaml.safe_load(text)  # it is valid YAML, and the value ends in "\n"
    validate_refuses(tmp_path, text, f"{path}: ")


def test_the_unchanged_examples_still_validate(tmp_path):
    for stack in ("local", "hybrid-aws", "hybrid-gcp"):
        validate_accepts(tmp_path, yaml.safe_dump({"config": example(stack)}))


@pytest.mark.parametrize(
    "stack, path, value",
    [
        ("hybrid-aws", "aws.accountId", ARABIC),
        ("hybrid-aws", "aws.accountId", "12345678901" + "\u0662"),
        ("hybrid-aws", "aws.region", "eu-central-\u0661"),
        ("hybrid-gcp", "gcp.projectNumber", FULLWIDTH),
        ("hybrid-gcp", "gcp.projectNumber", "\u00b2"),  # superscript two: str.isdigit() is True
        ("hybrid-gcp", "gcp.region", "europe-west\u0663"),
        ("local", "zenmlVersion", "\u0660.98.0"),
        ("local", "workspaces[0].database.inCluster.storageSize", "\u0661\u0660Gi"),
    ],
    ids=["account-arabic", "account-one-arabic", "region", "project-fullwidth", "project-superscript",
         "gcp-region", "version", "quantity"],
)
def test_unicode_digits_are_not_ascii_digits(tmp_path, stack, path, value):
    refuses(tmp_path, stack, path, value)


@pytest.mark.parametrize(
    "path, value",
    [
        ("aws.eks.oidcProviderArn", "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-central-1.amazonaws.com/id/ABC\n"),
        ("aws.eks.oidcProviderArn", "arn:aws:iam::" + ARABIC + ":oidc-provider/oidc.eks.eu-central-1.amazonaws.com/id/ABC"),
        ("aws.eks.oidcProviderArn", "arn:aws:iam::123456789012:oidc-provider/oidc.eks\u2028evil"),
    ],
    ids=["arn-newline", "arn-unicode-account", "arn-line-separator"],
)
def test_arn_patterns_are_full_and_ascii(tmp_path, path, value):
    refuses(tmp_path, "hybrid-aws", path, value)


def test_long_dns_label_in_the_domain_is_refused(tmp_path):
    validate_refuses(tmp_path, base(domain="a" * 64 + ".example.com"), "domain: ")
    validate_accepts(tmp_path, base(domain="a" * 63 + ".example.com"))


def test_env_name_with_trailing_newline(tmp_path):
    validate_refuses(tmp_path, base(workspaces=[{"name": "alpha", "env": {"LOG_LEVEL\n": "debug"}}]), "workspaces[0].env: ")


def test_tenant_patterns_are_full_matches():
    from tenant import config as tenant_config

    assert tenant_config.EXTERNAL_ID.fullmatch("a" * 20) and not tenant_config.EXTERNAL_ID.fullmatch("a" * 20 + "\n")
    assert not tenant_config.EXTERNAL_ID.fullmatch("a" * 19 + "\u00e9")
