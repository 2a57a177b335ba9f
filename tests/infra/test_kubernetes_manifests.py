"""Every Kubernetes object the program declares is valid for the cluster it goes to.

Built-in kinds are checked with kubernetes-validate against the schemas of the configured EKS
version (strict: unknown fields fail too); the TargetGroupBinding against the AWS Load Balancer
Controller's CRD schema. Helm release contents cannot be rendered offline and are left out.
"""

import copy
import json
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest

from infra.evaluation.stack_capture import StackRun
from tests.infra.resources import config, plain

TGB_SCHEMA = json.loads(
    (Path(__file__).parent / "data" / "targetgroupbinding-v1beta1.schema.json").read_text()
)
TGB_TYPE = "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"
NOT_RENDERABLE = {"kubernetes:helm.sh/v3:Release"}


def as_json_numbers(value):
    """The engine carries numbers as floats; the API server receives 8000, not 8000.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: as_json_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json_numbers(v) for v in value]
    return value


def manifests(run: StackRun) -> list[tuple[str, dict]]:
    return [
        (r.urn, as_json_numbers(plain(r.inputs)))
        for r in run.resources
        if r.type.startswith("kubernetes:") and r.type not in NOT_RENDERABLE
    ]


def test_the_program_declares_the_expected_kinds(stack_run):
    kinds = {m["kind"] for _, m in manifests(stack_run)}
    assert kinds == {
        "Namespace",
        "ServiceAccount",
        "ConfigMap",
        "Secret",
        "Job",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "TargetGroupBinding",
        "NetworkPolicy",
    }


def test_builtin_objects_validate_against_the_configured_kubernetes_version(stack_run):
    version = config(stack_run, "eksVersion")
    for urn, manifest in manifests(stack_run):
        if manifest["kind"] == "TargetGroupBinding":
            continue
        try:
            checked = kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{urn}: {error.message} at {list(error.path)}")
        assert checked == version, f"{urn}: validated against {checked}, not the cluster's {version}"


def test_target_group_binding_validates_against_the_controller_crd(stack_run):
    bindings = [m for _, m in manifests(stack_run) if m["kind"] == "TargetGroupBinding"]
    assert len(bindings) == 2, "REST's and the socket path's"
    for binding in bindings:
        jsonschema.validate(binding, TGB_SCHEMA)


def test_validation_catches_a_broken_deployment(prod_run):
    """Guards the checks above: a wrong type in a rendered Deployment must be reported."""
    deployment = next(m for _, m in manifests(prod_run) if m["kind"] == "Deployment")
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "eight-thousand"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, config(prod_run, "eksVersion"), strict=True)


def test_validation_catches_a_binding_without_a_target_group(prod_run):
    binding = copy.deepcopy(next(m for _, m in manifests(prod_run) if m["kind"] == "TargetGroupBinding"))
    del binding["spec"]["targetGroupARN"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(binding, TGB_SCHEMA)
