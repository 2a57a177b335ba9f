"""Small constructors so each policy module states only what it checks.

A check is a generator of violation messages. Resource checks receive the SDK's
`ResourceValidationArgs` and run only for the listed resource types; stack checks receive
`StackValidationArgs` and yield `(urn, message)` pairs so the engine pins each violation to the
resource at fault. Every policy is mandatory unless its module says otherwise.
"""

from collections.abc import Callable, Iterable

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

ResourceCheck = Callable[[ResourceValidationArgs], Iterable[str]]
StackCheck = Callable[[StackValidationArgs], Iterable[tuple[str, str]]]


class TypedResourcePolicy(ResourceValidationPolicy):
    """A resource policy that records the resource types it governs, so a test can show that the
    program declares at least one of them (a policy that never meets its type passes vacuously)."""

    def __init__(self, *, resource_types: frozenset[str], **kwargs) -> None:
        super().__init__(**kwargs)
        self.resource_types = resource_types


def resource_policy(
    name: str,
    description: str,
    types: Iterable[str],
    check: ResourceCheck,
    config_schema: PolicyConfigSchema | None = None,
) -> TypedResourcePolicy:
    governed = frozenset(types)

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type in governed:
            for message in check(args):
                report_violation(message, None)

    return TypedResourcePolicy(
        resource_types=governed,
        name=name,
        description=description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=config_schema,
    )


def stack_policy(
    name: str,
    description: str,
    check: StackCheck,
    config_schema: PolicyConfigSchema | None = None,
) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        for urn, message in check(args):
            report_violation(message, urn)

    return StackValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=config_schema,
    )
