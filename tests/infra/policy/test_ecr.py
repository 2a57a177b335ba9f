"""ECR policies: each weakened repository setting is refused with the resource, property and fix."""

import pytest

from .weakening import DELETE, REMOVE, Weakening, assert_fires_naming_resource_property_and_fix

REPOSITORY = "relay-registry"
CASES = [
    Weakening("ecr-scan-on-push", REPOSITORY, "imageScanningConfiguration", DELETE, "scanOnPush"),
    Weakening("ecr-tag-immutability", REPOSITORY, "imageTagMutability", "MUTABLE", "imageTagMutability"),
    Weakening("ecr-tag-immutability", REPOSITORY, "imageTagMutability", DELETE, "imageTagMutability"),
    Weakening(
        "ecr-lifecycle-policy", "relay-registry-lifecycle", None, REMOVE, "LifecyclePolicy", blamed=REPOSITORY
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_weakened_repository_setting_is_refused(case):
    assert_fires_naming_resource_property_and_fix(case)
