"""Config rules for the cluster: a Kubernetes version in EKS standard support, a Load Balancer
Controller chart that supports it, node types of one architecture, and room on the nodes for the
HPA's ceiling (infra/capacity.py)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from infra import capacity, eks_versions
from infra.config_reader import ConfigReader

if TYPE_CHECKING:
    from infra.config import Settings


def check_cluster(read: ConfigReader, s: Settings, today: date) -> None:
    """The Kubernetes version, the node types and what the nodes can hold."""
    problem = eks_versions.support_problem(s.eks_version, today)
    if problem:
        raise read.fail("eksVersion", s.eks_version, problem)
    pins = eks_versions.PINS[s.eks_version]
    if eks_versions.parse(s.lb_controller_chart_version) < pins.minimum_lb_controller_chart:
        oldest = ".".join(map(str, pins.minimum_lb_controller_chart))
        raise read.fail(
            "lbControllerChartVersion",
            s.lb_controller_chart_version,
            f"Kubernetes {s.eks_version} needs the AWS Load Balancer Controller chart {oldest} or later",
        )
    unknown = [t for t in s.eks_node_instance_types if t not in capacity.INSTANCE_TYPES]
    if unknown:
        raise read.fail(
            "eksNodeInstanceTypes",
            list(s.eks_node_instance_types),
            f"{', '.join(unknown)} not in infra/capacity.py INSTANCE_TYPES (add it with its vCPUs, memory "
            "and ENI limits, so capacity can be checked)",
        )
    if capacity.architecture(s.eks_node_instance_types) is None:
        raise read.fail(
            "eksNodeInstanceTypes",
            list(s.eks_node_instance_types),
            "mixes Graviton (arm64) and x86_64 types; one node group boots one AMI architecture",
        )
    app_pod = capacity.Requests(
        capacity.cpu_millis(s.app_cpu_request), capacity.memory_mib(s.app_memory_request)
    )
    problems = capacity.capacity_problems(
        s.eks_node_instance_types, s.eks_node_max_size, app_pod, s.app_max_replicas
    )
    if problems:
        raise read.fail(
            "appMaxReplicas",
            s.app_max_replicas,
            f"{s.app_max_replicas} pods of {s.app_cpu_request}/{s.app_memory_request} with the system pods "
            f"do not fit on relay:eksNodeMaxSize={s.eks_node_max_size} x {s.eks_node_instance_types[0]}: "
            f"{'; '.join(problems)}. Raise eksNodeMaxSize or pick larger eksNodeInstanceTypes, or lower this",
        )
