"""Runs the pack's validators the way the pulumi-policy SDK's analyzer does.

Properties go through a protobuf Struct and back (numbers become floats, as they do on the wire),
then through the SDK's `deserialize_properties` and `unknown_checking_proxy`; arguments are the
SDK's own `ResourceValidationArgs` / `StackValidationArgs` / `PolicyResource`, with parents and
property dependencies resolved as `AnalyzeStack` resolves them. Per-policy config comes from the
same JSON files `make preview` passes with `--policy-pack-config`.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from google.protobuf import json_format, struct_pb2
from pulumi_policy import (
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import unknown_checking_proxy
from relay_policies import POLICIES

from infra.evaluation.stack_capture import CapturedResource

from .conftest import POLICY_DIR


@dataclass
class Resource:
    """A resource as the engine describes it to an analyzer: type, name, camelCase inputs, references."""

    type: str
    name: str
    props: dict[str, Any]
    deps: dict[str, list[str]] = field(default_factory=dict)  # property -> URNs (or names) it refers to
    parent: str | None = None  # URN (or name) of the parent
    urn: str = ""

    def __post_init__(self) -> None:
        self.urn = self.urn or f"urn:pulumi:prod::relay::{self.type}::{self.name}"


def from_capture(captured: CapturedResource) -> Resource:
    """A resource the real program registered under mocks, with the references the engine records."""
    return Resource(
        captured.type,
        captured.name,
        dict(captured.inputs),
        dict(captured.property_dependencies),
        captured.parent or None,
        captured.urn,
    )


@dataclass(frozen=True)
class Violation:
    policy: str
    urn: str | None
    message: str


def policy(name: str) -> Policy:
    return next(p for p in POLICIES if p.name == name)


@cache
def stack_config(stack: str) -> Mapping[str, Any]:
    return json.loads((POLICY_DIR / "config" / f"{stack}.json").read_text())


def config_for(policy_name: str, stack: str | None) -> dict[str, Any] | None:
    """What the engine's Configure call hands the policy: its properties without enforcementLevel."""
    if stack is None:
        return None
    entry = stack_config(stack).get(policy_name)
    if not isinstance(entry, Mapping):
        return None
    return {k: v for k, v in entry.items() if k != "enforcementLevel"} or None


def wire(props: Mapping[str, Any]) -> Mapping[str, Any]:
    struct = struct_pb2.Struct()
    struct.update(props)
    return unknown_checking_proxy(deserialize_properties(json_format.MessageToDict(struct)))


def options() -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def run_resource(rule: ResourceValidationPolicy, resource: Resource, stack: str | None) -> list[Violation]:
    found: list[Violation] = []
    args = ResourceValidationArgs(
        resource.type,
        wire(resource.props),
        resource.urn,
        resource.name,
        options(),
        None,
        config_for(rule.name, stack),
    )
    rule.validate(args, lambda message, urn=None: found.append(Violation(rule.name, resource.urn, message)))
    return found


def policy_resources(resources: Iterable[Resource]) -> list[PolicyResource]:
    """`PolicyResource`s with parents and property dependencies resolved, as `AnalyzeStack` does."""
    resources = list(resources)
    built = [
        PolicyResource(r.type, wire(r.props), r.urn, r.name, options(), None, None, [], {}) for r in resources
    ]
    by_urn = {b.urn: b for b in built}
    by_name = {b.name: b for b in built}

    def resolve(keys: Iterable[str]) -> list[PolicyResource]:
        return [found for key in keys if (found := by_urn.get(key) or by_name.get(key))]

    for r, target in zip(resources, built, strict=True):
        target.parent = next(iter(resolve([r.parent])), None) if r.parent else None
        for prop, keys in r.deps.items():
            target.property_dependencies[prop] = resolve(keys)
            target.dependencies.extend(resolve(keys))
    return built


def run_stack(
    rule: StackValidationPolicy, resources: Iterable[Resource], stack: str | None
) -> list[Violation]:
    found: list[Violation] = []
    args = StackValidationArgs(policy_resources(resources), config_for(rule.name, stack))
    rule.validate(args, lambda message, urn=None: found.append(Violation(rule.name, urn, message)))
    return found


def run_policy(rule: Policy, resources: list[Resource], stack: str | None) -> list[Violation]:
    if isinstance(rule, StackValidationPolicy):
        return run_stack(rule, resources, stack)
    return [v for r in resources for v in run_resource(rule, r, stack)]


def run_pack(resources: list[Resource], stack: str | None) -> list[Violation]:
    return [v for rule in POLICIES for v in run_policy(rule, resources, stack)]
