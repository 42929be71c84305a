"""Configuration of the tenant program (namespace `zenml-tenant:`), validated like the platform's stacks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Optional

from pydantic import Field, ValidationError, field_validator, model_validator

from stack_config.base import Section
from stack_config.cloud import BUCKET, IAM_ROLE_ARN, AwsAccountId, AwsRegion, GcpProjectId
from stack_config.errors import ConfigError, Problem, format_loc

NAMESPACE = "zenml-tenant"
EXTERNAL_ID = re.compile(r"^[A-Za-z0-9_+=,.@:/-]{2,1224}$")


class TenantAws(Section):
    region: AwsRegion
    account_id: AwsAccountId = Field(description="The tenant's account (the provider refuses any other).")
    operator_role_arn: str = Field(description="The operator's workspace server role (its stack output serverRoleArn).")
    operator_runner_role_arn: Optional[str] = Field(None, description="The operator's runner role, trusted only when runs are enabled.")
    external_id: str = Field(
        description="Agreed with the operator, unique per tenant. AWS treats it as an identifier against the confused-deputy "
        "problem, not as a secret, so it is plain config (and visible in the trust policy)."
    )
    role_name: str = "zenml-saas-artifacts"
    kms_key_arn: Optional[str] = None

    @field_validator("operator_role_arn", "operator_runner_role_arn")
    @classmethod
    def _arn(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not IAM_ROLE_ARN.fullmatch(v):
            raise ValueError("must be an IAM role ARN")
        return v

    @field_validator("external_id")
    @classmethod
    def _external(cls, v: str) -> str:
        if not EXTERNAL_ID.fullmatch(v) or len(v) < 16:
            raise ValueError("must be at least 16 characters of [A-Za-z0-9+=,.@:/-_] (the operator generates it per tenant)")
        return v


class TenantGcp(Section):
    project: GcpProjectId
    region: str
    operator_service_account: str = Field(description="The workspace server's Google service account (operator's stack output).")
    operator_runner_service_account: Optional[str] = None
    kms_key_name: Optional[str] = None

    @field_validator("operator_service_account", "operator_runner_service_account")
    @classmethod
    def _email(cls, v: Optional[str]) -> Optional[str]:
        if v is not None and not v.endswith(".iam.gserviceaccount.com"):
            raise ValueError("must be a Google service account email")
        return v


class TenantConfig(Section):
    target: Literal["aws", "gcp"]
    tenant: str = Field(description="Tenant name, as the operator's workspace (tenant-acme).")
    bucket_name: str
    enable_runs: bool = Field(False, description="Let the operator's runners write artifacts; default: the workspace only reads.")
    protect: bool = Field(True, description="Protect and retain the bucket (it holds the tenant's artifacts).")
    noncurrent_version_days: int = Field(30, ge=1)
    aws: Optional[TenantAws] = None
    gcp: Optional[TenantGcp] = None

    @field_validator("bucket_name")
    @classmethod
    def _bucket(cls, v: str) -> str:
        if not BUCKET.fullmatch(v):
            raise ValueError("must be a valid bucket name")
        return v

    @model_validator(mode="after")
    def _target(self) -> TenantConfig:
        if self.target == "aws" and self.aws is None:
            raise ValueError("target aws needs aws (region, accountId, operatorRoleArn, externalId)")
        if self.target == "gcp" and self.gcp is None:
            raise ValueError("target gcp needs gcp (project, region, operatorServiceAccount)")
        return self


def load_tenant_mapping(config: Mapping[str, Any]) -> TenantConfig:
    data: dict[str, Any] = {}
    problems: list[Problem] = []
    for key, value in config.items():
        ns, sep, name = str(key).partition(":")
        if ns == NAMESPACE:
            data[name] = value
        elif ns not in ("aws", "gcp", "pulumi"):
            problems.append(Problem(str(key), f"unknown namespace {ns!r} (use {NAMESPACE}:)"))
    try:
        cfg = TenantConfig.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors(include_input=False, include_url=False):
            reason = "is required" if err["type"] == "missing" else err["msg"].removeprefix("Value error, ")
            problems.append(Problem(format_loc(err["loc"]), reason))
        raise ConfigError(problems) from None
    if problems:
        raise ConfigError(problems)
    return cfg


def load_tenant_file(path: Path | str) -> TenantConfig:
    from stack_config.loader import read_stack_document

    doc = read_stack_document(Path(path))  # bounded, duplicate keys refused, like the platform's stack files
    if not isinstance(doc, dict) or not isinstance(doc.get("config") or {}, dict):
        raise ConfigError([Problem("config", "a tenant stack file is a mapping with a `config:` mapping")])
    return load_tenant_mapping(doc.get("config") or {})
