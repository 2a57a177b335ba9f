"""Pod templates for the relay Deployment, its migrations Job and the db-roles Job.

All run the same image with the same locked-down security context: the db-roles Job sets up
the database roles, the migrations Job runs `relay migrate`, the Deployment `relay serve` on
port 8000.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

PORT = 8000
# With relay:socketServer=native, the app's own /api/socketio listener (RELAY_SOCKET_PORT), which the
# ALB reaches through a target group of its own (infra/socket_route.py).
SOCKET_PORT = 8100
# Shutdown, from the one constant set that every timer derives from (Edge reads them too):
PRESTOP_SLEEP_SECONDS = 15  # the ALB needs a few health-check rounds to stop routing to the pod
DRAIN_SECONDS = 60  # RELAY_DRAIN_SECONDS: /healthz answers 503 while sockets move to other pods
SHUTDOWN_SECONDS = 15  # then uvicorn closes what is left and the process exits
# Kubernetes kills the pod after this; the ALB holds a deregistering target's connections as long,
# so neither cuts a socket the service is still draining.
TERMINATION_GRACE_SECONDS = PRESTOP_SLEEP_SECONDS + DRAIN_SECONDS + SHUTDOWN_SECONDS
DEREGISTRATION_DELAY_SECONDS = TERMINATION_GRACE_SECONDS
JOB_SCRIPTS = "/opt/relay-jobs"


@dataclass(frozen=True)
class WorkloadSpec:
    image: pulumi.Input[str]
    labels: dict[str, str]
    service_account: str
    config_map: pulumi.Input[str]
    secret: pulumi.Input[str]
    cpu_request: str
    memory_request: str
    memory_limit: str


def _container(spec: WorkloadSpec, name: str, command: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "image": spec.image,
        "command": command,
        "env_from": [{"config_map_ref": {"name": spec.config_map}}, {"secret_ref": {"name": spec.secret}}],
        "resources": {
            "requests": {"cpu": spec.cpu_request, "memory": spec.memory_request},
            "limits": {"memory": spec.memory_limit},
        },
        "security_context": {
            "allow_privilege_escalation": False,
            "read_only_root_filesystem": True,
            "run_as_non_root": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volume_mounts": [{"name": "tmp", "mount_path": "/tmp"}],  # noqa: S108 (a private emptyDir)
    }


def _pod(spec: WorkloadSpec, containers: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "service_account_name": spec.service_account,
        "automount_service_account_token": False,
        "security_context": {
            "run_as_non_root": True,
            "run_as_user": 10001,
            "run_as_group": 10001,
            "fs_group": 10001,
            "seccomp_profile": {"type": "RuntimeDefault"},
        },
        "containers": containers,
        "volumes": [{"name": "tmp", "empty_dir": {"medium": "Memory", "size_limit": "64Mi"}}],
        **extra,
    }


def db_roles_job_spec(
    spec: WorkloadSpec, script_config_map: pulumi.Input[str], script: str
) -> dict[str, Any]:
    """Runs `script` (mounted from `script_config_map`) with the image's Python."""
    container = _container(spec, "db-roles", ["python", f"{JOB_SCRIPTS}/{script}"])
    container["volume_mounts"].append({"name": "scripts", "mount_path": JOB_SCRIPTS, "read_only": True})
    pod = _pod(spec, [container], restart_policy="Never")
    pod["volumes"].append({"name": "scripts", "config_map": {"name": script_config_map}})
    return {
        "backoff_limit": 3,
        "active_deadline_seconds": 300,
        "template": {
            "metadata": {"labels": {**spec.labels, "app.kubernetes.io/component": "db-roles"}},
            "spec": pod,
        },
    }


def migration_job_spec(spec: WorkloadSpec) -> dict[str, Any]:
    return {
        "backoff_limit": 2,
        "active_deadline_seconds": 900,
        "template": {
            "metadata": {"labels": {**spec.labels, "app.kubernetes.io/component": "migrations"}},
            "spec": _pod(spec, [_container(spec, "migrate", ["relay", "migrate"])], restart_policy="Never"),
        },
    }


def deployment_spec(
    spec: WorkloadSpec, settings_checksum: pulumi.Input[str], *, socket_port: int | None = None
) -> dict[str, Any]:
    """`settings_checksum` changes with the ConfigMap or Secret, so new settings roll the pods.
    `socket_port`: the native socket listener's port, exposed beside the app port."""
    serve = _container(spec, "relay", ["relay", "serve"])
    probe = {"http_get": {"path": "/healthz", "port": "http"}, "timeout_seconds": 2}
    ports = [{"name": "http", "container_port": PORT, "protocol": "TCP"}]
    if socket_port is not None:
        ports.append({"name": "socket", "container_port": socket_port, "protocol": "TCP"})
    serve.update(
        ports=ports,
        startup_probe={**probe, "period_seconds": 2, "failure_threshold": 30},
        readiness_probe={**probe, "period_seconds": 5, "failure_threshold": 2},
        liveness_probe={**probe, "period_seconds": 10, "failure_threshold": 3},
        lifecycle={"pre_stop": {"sleep": {"seconds": PRESTOP_SLEEP_SECONDS}}},
    )
    spread = [
        {
            "max_skew": 1,
            "topology_key": key,
            "when_unsatisfiable": when,
            "label_selector": {"match_labels": spec.labels},
        }
        for key, when in (
            ("topology.kubernetes.io/zone", "DoNotSchedule"),
            ("kubernetes.io/hostname", "ScheduleAnyway"),
        )
    ]
    return {
        "selector": {"match_labels": spec.labels},
        # No replica count: the HPA owns it, and a deploy must not reset a scaled-out fleet.
        "strategy": {"type": "RollingUpdate", "rolling_update": {"max_unavailable": 0, "max_surge": "25%"}},
        "min_ready_seconds": 10,
        "revision_history_limit": 10,
        "template": {
            "metadata": {
                "labels": spec.labels,
                "annotations": {"relay/settings-checksum": settings_checksum},
            },
            "spec": _pod(
                spec,
                [serve],
                termination_grace_period_seconds=TERMINATION_GRACE_SECONDS,
                topology_spread_constraints=spread,
            ),
        },
    }
