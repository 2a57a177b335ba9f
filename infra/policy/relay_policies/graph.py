"""Following references between resources in a stack validation.

The engine tells a stack policy which resources each property depends on
(`PolicyResource.property_dependencies`), which is known even in a preview where ids and ARNs are
not. When a property dependency is absent, a reference is matched by value against the target's
id, ARN or physical name, which is how the engine presents already-deployed resources.
"""

from collections.abc import Iterable

from pulumi_policy import PolicyResource
from pulumi_policy.proxy import UnknownValueError

from .props import get, strings

IDENTITY_PROPS = ("id", "arn", "bucket", "name", "bucketDomainName", "bucketRegionalDomainName")


class StackGraph:
    def __init__(self, resources: Iterable[PolicyResource]) -> None:
        self.resources = list(resources)

    def of_type(self, *types: str) -> list[PolicyResource]:
        return [r for r in self.resources if r.resource_type in types]

    def referenced(self, source: PolicyResource, prop: str, *types: str) -> list[PolicyResource]:
        """Resources of `types` that `source`'s property `prop` refers to."""
        found = [r for r in source.property_dependencies.get(prop, []) if r.resource_type in types]
        if found:
            return found
        values = set(strings(get(source.props, prop)))
        return [t for t in self.of_type(*types) if values & identities(t)]

    def referrers(self, target: PolicyResource, prop: str, *types: str) -> list[PolicyResource]:
        """Resources of `types` whose property `prop` refers to `target`."""
        return [
            r
            for r in self.of_type(*types)
            if any(t.urn == target.urn for t in self.referenced(r, prop, target.resource_type))
        ]


def identities(resource: PolicyResource) -> set[str]:
    """The values other resources may use to name `resource`; ones not known yet (preview) are skipped."""
    names: set[str] = set()
    for key in IDENTITY_PROPS:
        try:
            value = resource.props.get(key)
        except UnknownValueError:
            continue
        if isinstance(value, str) and value:
            names |= {value, f"arn:aws:s3:::{value}"}
    return names
