"""Pulumi mocks that record every registration, answer with plausible outputs, and keep secrets marked.

Secret inputs reach the mock monitor wrapped in Pulumi's secret signature; `mask` replaces them with `[secret]`
before anything is stored, so neither plan files nor tests ever see a secret value in clear.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
from google.protobuf import struct_pb2
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from stack_config.secrets import SECRET_PLACEHOLDER

SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"


def is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG


def unwrap(value: Any) -> Any:
    if is_secret(value):
        return unwrap(value.get("value"))
    if isinstance(value, dict):
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [unwrap(v) for v in value]
    return value


UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
UNKNOWN_PLACEHOLDER = "[unknown]"


def mask(value: Any) -> Any:
    if is_secret(value):
        return SECRET_PLACEHOLDER
    if isinstance(value, dict):
        return {k: mask(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask(v) for v in value]
    if isinstance(value, Unknown) or value == UNKNOWN:
        # A preview deserializes unknowns as `pulumi.output.Unknown` objects; nothing may write their repr.
        return UNKNOWN_PLACEHOLDER
    return value


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    parent: Optional[str]
    inputs: dict[str, Any]  # secrets masked, unknowns as [unknown]
    custom: bool
    protect: bool = False
    retain_on_delete: bool = False
    secret_outputs: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    delete_before_replace: bool = False
    replace_on_changes: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()  # the URNs this resource was known by (its own `aliases` option, resolved)
    custom_timeouts: dict[str, str] = field(default_factory=dict)  # create/update/delete, as set (e.g. "3720s")


# What the mocks answer for a registration.
#   "read": only the outputs our components read (see ANSWERED_OUTPUTS); the SDK resolves every other output
#           as unknown in a preview and falls back to the input in an update, as it does for any provider.
#   "echo": every input back as an output (the SDK's stock behaviour); tests compare the two on every example
#           stack, so a component that starts reading an output "read" drops makes that test fail.
ANSWER_READ = "read"
ANSWER_ECHO = "echo"

# Inputs echoed back as outputs per type prefix (first match wins); generated outputs (passwords, keys,
# certificates, Kubernetes names) come on top. Components read `metadata` of Kubernetes objects (`.metadata.name`)
# and nothing else of theirs; cloud resources are few per stack and read in many ways, so they echo everything.
ANSWERED_OUTPUTS: tuple[tuple[str, Optional[frozenset[str]]], ...] = (
    ("kubernetes:", frozenset({"metadata"})),
    ("", None),  # None: every input
)


def answered_inputs(type_token: str) -> Optional[frozenset[str]]:
    for prefix, keys in ANSWERED_OUTPUTS:
        if type_token.startswith(prefix):
            return keys
    return None


class _NotPlain(Exception):
    pass


def _wire(value: Any) -> Any:
    """A deserialized property value as plain Struct-able data (unknowns as the wire sentinel), or _NotPlain."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_wire(v) for v in value]
    if isinstance(value, Unknown):
        return UNKNOWN
    raise _NotPlain(type(value).__name__)


def urn_of(stack: str, project: str, parent: str, type_: str, name: str) -> str:
    """URNs as the engine forms them: the parent's full type chain, without the root Stack type."""
    qualified = type_
    if parent:
        parent_type = parent.split("::")[2]
        if parent_type != "pulumi:pulumi:Stack":
            qualified = f"{parent_type}${type_}"
    return f"urn:pulumi:{stack}::{project}::{qualified}::{name}"


class RecordingMonitor(MockMonitor):
    """Records what the program registers, with URN, parent and resource options the mocks API does not show.

    Each request is deserialized once (the stock monitor's `RegisterResource` would do it a second time) and the
    answer is built as a protobuf Struct directly, without the SDK's async serializer, unless it holds something
    other than plain data (a resource reference, an asset), which goes through the SDK as usual.
    """

    def __init__(self, mocks: RecordingMocks, project: str = "project", stack: str = "stack"):
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.project = project
        self.stack = stack

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        return urn_of(self.stack, self.project, parent, type_, name)

    def _aliases(self, request) -> tuple[str, ...]:
        """Alias specs as the engine resolves them: unset parts are the resource's own; `noParent` is the root."""
        urns = [*request.aliasURNs]
        for alias in request.aliases:
            if alias.urn:
                urns.append(alias.urn)
                continue
            spec = alias.spec
            parent = "" if spec.noParent else (spec.parentUrn or request.parent)
            urns.append(self.make_urn(parent, spec.type or request.type, spec.name or request.name))
        return tuple(urns)

    def RegisterResource(self, request):
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        _ensure_event_loop()  # deserializing resource references needs a loop on this thread
        inputs = rpc.deserialize_properties(request.object)
        self.registrations.append(
            Registration(
                urn=urn,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                inputs=mask(dict(inputs)),
                custom=bool(request.custom),
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                secret_outputs=tuple(request.additionalSecretOutputs),
                dependencies=tuple(request.dependencies),
                delete_before_replace=bool(request.deleteBeforeReplace),
                replace_on_changes=tuple(request.replaceOnChanges),
                aliases=self._aliases(request),
                custom_timeouts={k: v for k in ("create", "update", "delete")
                                 if (v := getattr(request.customTimeouts, k, ""))},
            )
        )
        args = pulumi.runtime.MockResourceArgs(
            typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
            resource_id=request.importId, custom=request.custom or False,
        )
        id_, state = self.mocks.new_resource(args)
        try:
            obj = struct_pb2.Struct()
            obj.update(_wire(state))
        except _NotPlain:
            obj = _sync_await(rpc.serialize_properties(state, {}))
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, id_ or "", state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_ or "", object=obj)


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    """Strict about invokes: an unexpected one fails the plan rather than silently returning nothing."""

    allowed_invokes: dict[str, Any] = field(default_factory=dict)
    answer: str = ANSWER_READ

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        inputs = args.inputs
        keys = None if self.answer == ANSWER_ECHO else answered_inputs(args.typ)
        state = dict(inputs) if keys is None else {k: v for k, v in inputs.items() if k in keys}
        fake = hashlib.sha256(f"{args.typ}/{args.name}".encode()).hexdigest()[:16]
        if args.typ == "random:index/randomPassword:RandomPassword":
            state["result"] = {SECRET_SIG_KEY: SECRET_SIG, "value": f"generated-{fake}"}
        elif args.typ == "tls:index/privateKey:PrivateKey":
            state["privateKeyPem"] = {SECRET_SIG_KEY: SECRET_SIG, "value": f"-----BEGIN PRIVATE KEY-----{fake}"}
            state["publicKeyPem"] = f"-----BEGIN PUBLIC KEY-----{fake}"
        elif args.typ in ("tls:index/selfSignedCert:SelfSignedCert", "tls:index/locallySignedCert:LocallySignedCert"):
            state["certPem"] = f"-----BEGIN CERTIFICATE-----{fake}-----END CERTIFICATE-----"
        elif args.typ == "tls:index/certRequest:CertRequest":
            state["certRequestPem"] = f"-----BEGIN CERTIFICATE REQUEST-----{fake}"
        elif args.typ.startswith("kubernetes:") and isinstance(inputs.get("metadata"), dict):
            meta = dict(inputs["metadata"])
            meta.setdefault("name", f"{args.name}-{fake[:8]}")
            state["metadata"] = meta
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token in self.allowed_invokes:
            return self.allowed_invokes[args.token]
        raise NotImplementedError(f"unexpected invoke {args.token} in an offline plan")
