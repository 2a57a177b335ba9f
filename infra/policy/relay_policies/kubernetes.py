"""Kubernetes workloads: unprivileged, non-root, read-only, bounded, probed, pinned images.

Checklist: "Implement proper error recovery" (probes let Kubernetes restart and route around a
stuck pod). DESIGN.md §5: probes use /healthz, non-root read-only pods. Images are pinned by
digest in every stack: only reliability settings may be relaxed per stack, and staging must
rehearse exactly what prod will run.
"""

from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from .builders import resource_policy
from .props import get, items, shown, violation

POD_SPEC_PATHS = {
    "kubernetes:core/v1:Pod": "spec",
    "kubernetes:apps/v1:Deployment": "spec.template.spec",
    "kubernetes:apps/v1:StatefulSet": "spec.template.spec",
    "kubernetes:apps/v1:DaemonSet": "spec.template.spec",
    "kubernetes:batch/v1:Job": "spec.template.spec",
    "kubernetes:batch/v1:CronJob": "spec.jobTemplate.spec.template.spec",
}
LONG_RUNNING = (
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:core/v1:Pod",
)


def pod_spec(args: ResourceValidationArgs) -> Mapping[str, Any]:
    return get(args.props, POD_SPEC_PATHS[args.resource_type]) or {}


def containers(args: ResourceValidationArgs, with_init: bool = True) -> list[tuple[str, Mapping[str, Any]]]:
    spec = pod_spec(args)
    found = [(f"containers[{get(c, 'name')}]", c) for c in items(spec.get("containers"))]
    if with_init:
        found += [(f"initContainers[{get(c, 'name')}]", c) for c in items(spec.get("initContainers"))]
    return found


def check_not_privileged(args: ResourceValidationArgs) -> Iterator[str]:
    for where, container in containers(args):
        if get(container, "securityContext.privileged") is True:
            yield violation(
                args.urn,
                f"{where}.securityContext.privileged",
                "True",
                "containers must not be privileged",
                "remove privileged (and set allow_privilege_escalation=False)",
            )


def check_non_root(args: ResourceValidationArgs) -> Iterator[str]:
    pod_level = get(pod_spec(args), "securityContext.runAsNonRoot")
    for where, container in containers(args):
        value = get(container, "securityContext.runAsNonRoot", pod_level)
        if value is not True:
            yield violation(
                args.urn,
                f"{where}.securityContext.runAsNonRoot",
                shown(value, False),
                "containers must run as a non-root user",
                "set run_as_non_root=True (pod or container security context) with a numeric run_as_user",
            )


def check_read_only_root(args: ResourceValidationArgs) -> Iterator[str]:
    for where, container in containers(args):
        value = get(container, "securityContext.readOnlyRootFilesystem")
        if value is not True:
            yield violation(
                args.urn,
                f"{where}.securityContext.readOnlyRootFilesystem",
                shown(value, False),
                "containers must not write to their image",
                "set read_only_root_filesystem=True and mount an emptyDir at /tmp",
            )


def check_resources(args: ResourceValidationArgs) -> Iterator[str]:
    for where, container in containers(args):
        limits = get(container, "resources.limits") or {}
        requests = get(container, "resources.requests") or {}
        # Kubernetes defaults a missing request to the limit, so a CPU limit alone also reserves CPU.
        if not limits.get("memory") or not (requests.get("cpu") or limits.get("cpu")):
            yield violation(
                args.urn,
                f"{where}.resources",
                shown({"limits": limits, "requests": requests}),
                "containers need a memory limit and a CPU request so one pod cannot starve a node",
                'set resources={"requests": {"cpu": ..., "memory": ...}, "limits": {"memory": ...}}',
            )


def check_probes(args: ResourceValidationArgs) -> Iterator[str]:
    if args.resource_type not in LONG_RUNNING:
        return
    for where, container in containers(args, with_init=False):
        for probe in ("readinessProbe", "livenessProbe"):
            if not get(container, probe):
                yield violation(
                    args.urn,
                    f"{where}.{probe}",
                    "unset",
                    "long-running containers must be probed",
                    f"set {probe} to an http_get on /healthz",
                )


def check_image_digest(args: ResourceValidationArgs) -> Iterator[str]:
    for where, container in containers(args):
        image = str(get(container, "image", ""))
        if "@sha256:" not in image:
            yield violation(
                args.urn,
                f"{where}.image",
                shown(image or None),
                "images must be pinned by digest so a re-tag cannot change what runs",
                "deploy <repository>@sha256:<digest> (relay:appImage)",
            )


def governs(name: str, description: str, check):
    return resource_policy(name, description, POD_SPEC_PATHS, check)


POLICIES = [
    governs(
        "kubernetes-no-privileged",
        "Pod Security Standards baseline (no FSBP control): no privileged containers.",
        check_not_privileged,
    ),
    governs(
        "kubernetes-run-as-non-root",
        "Pod Security Standards restricted (no FSBP control): containers run as non-root.",
        check_non_root,
    ),
    governs(
        "kubernetes-read-only-root-filesystem",
        "Relay (no FSBP control): containers have a read-only root filesystem.",
        check_read_only_root,
    ),
    governs(
        "kubernetes-resource-limits",
        "Relay (no FSBP control): containers declare a memory limit and a CPU request.",
        check_resources,
    ),
    governs(
        "kubernetes-probes",
        "Relay (no FSBP control): long-running containers have readiness and liveness probes.",
        check_probes,
    ),
    governs(
        "kubernetes-image-digest",
        "Relay (no FSBP control): container images are pinned by digest.",
        check_image_digest,
    ),
]
