"""Weakened variants of the compliant stack, and the assertion every policy test makes about them."""

from dataclasses import dataclass
from typing import Any

from .compliant_stack import compliant_stack
from .harness import Resource, Violation, policy, run_policy

DELETE = object()  # unset the property: the policy must judge it by its AWS default
REMOVE = object()  # drop the resource itself (a missing companion, association or backup)
# A `Resource` as the value adds that resource to the stack (a public ACL nobody should create).


@dataclass(frozen=True)
class Weakening:
    policy: str
    resource: str
    path: str | None  # dotted, list indexes as numbers: "rules.0.statement"
    value: Any
    prop: str  # the property the violation message must name
    blamed: str | None = None  # the resource the message must name, when not the weakened one

    @property
    def id(self) -> str:
        shown = "removed" if self.value is REMOVE else "unset" if self.value is DELETE else repr(self.value)
        return f"{self.policy}:{self.resource}.{self.path or ''}={shown}"

    def apply(self, stack: list[Resource]) -> list[Resource]:
        if self.value is REMOVE:
            return [r for r in stack if r.name != self.resource]
        if isinstance(self.value, Resource):
            return [*stack, self.value]
        target = next(r for r in stack if r.name == self.resource)
        *parents, last = (self.path or "").split(".")
        node: Any = target.props
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = self.value
        elif self.value is DELETE:
            node.pop(last, None)
            if not parents:
                target.deps.pop(last, None)  # an unset property refers to nothing
        else:
            node[last] = self.value
        return stack


def violations_of(case: Weakening, stack_name: str | None = "prod") -> tuple[list[Violation], str]:
    stack = case.apply(compliant_stack())
    blamed = next(r for r in stack if r.name == (case.blamed or case.resource))
    return run_policy(policy(case.policy), stack, stack_name), blamed.urn


def assert_fires_naming_resource_property_and_fix(case: Weakening) -> None:
    found, urn = violations_of(case)
    assert found, f"{case.policy} did not fire for {case.id}"
    assert any(urn in v.message and case.prop in v.message and "Fix: " in v.message for v in found), (
        f"{case.policy} fired for {case.id} but no message names {urn}, {case.prop!r} and a fix: "
        f"{[v.message for v in found]}"
    )
