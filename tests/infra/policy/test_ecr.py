"""ECR policies: each weakened repository setting is refused with the resource, property and fix."""

import pytest

from .compliant_stack import compliant_stack
from .harness import policy, run_policy
from .weakening import DELETE, REMOVE, Weakening, assert_fires_naming_resource_property_and_fix

REPOSITORY = "relay-registry"
CASES = [
    Weakening("ecr-scan-on-push", REPOSITORY, "imageScanningConfiguration", DELETE, "scanOnPush"),
    Weakening("ecr-tag-immutability", REPOSITORY, "imageTagMutability", "MUTABLE", "imageTagMutability"),
    Weakening("ecr-tag-immutability", REPOSITORY, "imageTagMutability", DELETE, "imageTagMutability"),
    Weakening(
        "ecr-lifecycle-policy", "relay-registry-lifecycle", None, REMOVE, "LifecyclePolicy", blamed=REPOSITORY
    ),
    Weakening(
        "ecr-tag-immutability",
        REPOSITORY,
        "imageTagMutability",
        "IMMUTABLE_WITH_EXCLUSION",
        "imageTagMutability",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_weakened_repository_setting_is_refused(case):
    assert_fires_naming_resource_property_and_fix(case)


def test_only_the_build_cache_may_move():
    cache_only = {"filter": "cache-*", "filterType": "WILDCARD"}
    for filters, fires in (
        ([cache_only], False),
        ([{"filter": "*", "filterType": "WILDCARD"}], True),
        ([], True),
    ):
        stack = compliant_stack()
        repository = next(r for r in stack if r.name == REPOSITORY)
        repository.props.update(
            imageTagMutability="IMMUTABLE_WITH_EXCLUSION", imageTagMutabilityExclusionFilters=filters
        )
        assert bool(run_policy(policy("ecr-tag-immutability"), stack, "prod")) is fires, filters
