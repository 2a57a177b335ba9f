"""Kubernetes policies: each weakened pod setting is refused with the workload, container path and fix."""

import pytest

from .compliant_stack import compliant_stack
from .harness import policy, run_policy
from .weakening import DELETE, Weakening, assert_fires_naming_resource_property_and_fix

APP = "relay-app"
POD = "spec.template.spec"
CONTAINER = f"{POD}.containers.0"
CASES = [
    Weakening(
        "kubernetes-no-privileged",
        APP,
        f"{CONTAINER}.securityContext.privileged",
        True,
        "containers[relay].securityContext.privileged",
    ),
    Weakening(
        "kubernetes-run-as-non-root",
        APP,
        f"{CONTAINER}.securityContext.runAsNonRoot",
        False,
        "containers[relay].securityContext.runAsNonRoot",
    ),
    Weakening(
        "kubernetes-run-as-non-root",
        "relay-migrate",
        f"{CONTAINER}.securityContext.runAsNonRoot",
        DELETE,
        "containers[migrate].securityContext.runAsNonRoot",
    ),
    Weakening(
        "kubernetes-read-only-root-filesystem",
        APP,
        f"{CONTAINER}.securityContext.readOnlyRootFilesystem",
        DELETE,
        "readOnlyRootFilesystem",
    ),
    Weakening(
        "kubernetes-resource-limits", APP, f"{CONTAINER}.resources.limits", {}, "containers[relay].resources"
    ),
    Weakening(
        "kubernetes-resource-limits",
        "relay-migrate",
        f"{CONTAINER}.resources",
        DELETE,
        "containers[migrate].resources",
    ),
    Weakening("kubernetes-probes", APP, f"{CONTAINER}.readinessProbe", DELETE, "readinessProbe"),
    Weakening("kubernetes-probes", APP, f"{CONTAINER}.livenessProbe", DELETE, "livenessProbe"),
    Weakening(
        "kubernetes-image-digest", APP, f"{CONTAINER}.image", "relay:latest", "containers[relay].image"
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_weakened_workload_setting_is_refused(case):
    assert_fires_naming_resource_property_and_fix(case)


def test_pod_level_run_as_non_root_covers_its_containers():
    stack = Weakening(
        "kubernetes-run-as-non-root", APP, f"{CONTAINER}.securityContext.runAsNonRoot", DELETE, "x"
    )
    assert run_policy(policy("kubernetes-run-as-non-root"), stack.apply(compliant_stack()), "prod") == []


def test_staging_must_pin_images_too():
    """Only reliability settings are relaxable; staging rehearses the exact image prod will run."""
    tagged = Weakening("kubernetes-image-digest", APP, f"{CONTAINER}.image", "relay:1.4.2", "x")
    assert run_policy(policy("kubernetes-image-digest"), tagged.apply(compliant_stack()), "staging")
