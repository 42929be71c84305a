"""Wire the plain rule functions of zenml_rules.py into pulumi_policy policies (used by __main__.py and tests)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import zenml_rules as rules
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.secret import Secret

PACK_NAME = "zenml-platform"


def plain(value: Any) -> Any:
    """A policy's props as plain data: proxies unwrapped without tripping on unknowns, secrets as "[secret]"."""
    if isinstance(value, Secret):
        return rules.SECRET
    if isinstance(value, Mapping):
        try:
            target = value["__target"]
        except (KeyError, TypeError):
            target = value
        return {k: plain(target[k]) for k in target}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        try:
            target = value["__target"]  # type: ignore[call-overload]
        except (KeyError, TypeError, IndexError):
            target = value
        return [plain(v) for v in target]
    return value


def _resource_from_args(args: ResourceValidationArgs) -> rules.Resource:
    secret_outputs = tuple(getattr(args.opts, "additional_secret_outputs", None) or ())
    return rules.Resource(args.resource_type, plain(args.props), args.urn, args.name, None, secret_outputs)


def _resource_from_policy_resource(r: Any) -> rules.Resource:
    opts = getattr(r, "opts", None)
    secret_outputs = tuple(getattr(opts, "additional_secret_outputs", None) or ())
    parent = getattr(getattr(r, "parent", None), "urn", None)
    return rules.Resource(r.resource_type, plain(r.props), r.urn, r.name, parent, secret_outputs)


def _level(rule: rules.Rule) -> EnforcementLevel:
    return EnforcementLevel.MANDATORY if rule.mandatory else EnforcementLevel.ADVISORY


def _config_schema(rule: rules.Rule):
    return PolicyConfigSchema(properties=dict(rule.config_schema)) if rule.config_schema else None


def _resource_policy(rule: rules.Rule) -> ResourceValidationPolicy:
    check = rule.resource
    assert check is not None

    def validate(args: ResourceValidationArgs, report_violation) -> None:
        for message in check(_resource_from_args(args), dict(args.get_config() or {})):
            report_violation(message)

    return ResourceValidationPolicy(rule.name, rule.description, validate, _level(rule), config_schema=_config_schema(rule))


def _stack_policy(rule: rules.Rule) -> StackValidationPolicy:
    check = rule.stack
    assert check is not None

    def validate(args: StackValidationArgs, report_violation) -> None:
        resources = [_resource_from_policy_resource(r) for r in args.resources]
        for resource, message in check(resources, dict(args.get_config() or {})):
            report_violation(message, resource.urn if resource is not None and resource.urn else None)

    return StackValidationPolicy(rule.name, rule.description, validate, _level(rule), config_schema=_config_schema(rule))


def build_policies() -> list[Policy]:
    policies: list[Policy] = []
    for rule in rules.RULES:
        if rule.resource is not None:
            policies.append(_resource_policy(rule))
        else:
            policies.append(_stack_policy(rule))
    return policies
