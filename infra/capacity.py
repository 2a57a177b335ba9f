"""Node capacity: what an instance type offers pods, and what the cluster's own pods take from it.

Config uses this to refuse a stack whose HPA ceiling cannot be placed on the most nodes the
autoscaler may add, or whose nodes would run out of pod IP addresses first.

- Allocatable = instance - kube-reserved - the eviction threshold, with the formulas the EKS
  optimized AL2023 AMI applies (kube-reserved CPU: 6% of the first core, 1% of the second, 0.5% of
  cores 3-4, 0.25% above; memory: 11 MiB per pod + 255 MiB; hard eviction at 100 MiB).
- Max pods: the VPC CNI's limit without prefix delegation, ENIs x (IPv4 per ENI - 1) + 2, as in
  the AMI's eni-max-pods.txt.
- Requests of the DaemonSets and system pods: the add-ons' and charts' defaults, rounded up; the
  charts this program installs get the values in `lb_controller.py` and `autoscaler.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GRAVITON = re.compile(r"^[a-z]+\d+g[a-z]*\.")  # m7g, c7gn, r8g, t4g: arm64
KNOWN_FAMILY = re.compile(r"^[a-z]+\d+[a-z-]*\.[0-9a-z]+$")


@dataclass(frozen=True)
class InstanceType:
    vcpus: int
    memory_mib: int
    enis: int
    ipv4_per_eni: int

    @property
    def max_pods(self) -> int:
        return self.enis * (self.ipv4_per_eni - 1) + 2


INSTANCE_TYPES: dict[str, InstanceType] = {
    "t3.large": InstanceType(2, 8192, 3, 12),
    "t3.xlarge": InstanceType(4, 16384, 4, 15),
    "t4g.large": InstanceType(2, 8192, 3, 12),
    "t4g.xlarge": InstanceType(4, 16384, 4, 15),
    "m6i.large": InstanceType(2, 8192, 3, 10),
    "m7i.large": InstanceType(2, 8192, 3, 10),
    "m7i.xlarge": InstanceType(4, 16384, 4, 15),
    "m7g.large": InstanceType(2, 8192, 3, 10),
    "m7g.xlarge": InstanceType(4, 16384, 4, 15),
    "c7g.large": InstanceType(2, 4096, 3, 10),
    "r7g.large": InstanceType(2, 16384, 3, 10),
}


@dataclass(frozen=True)
class Requests:
    cpu_millis: int
    memory_mib: int
    pods: int = 1

    def __add__(self, other: Requests) -> Requests:
        return Requests(
            self.cpu_millis + other.cpu_millis, self.memory_mib + other.memory_mib, self.pods + other.pods
        )

    def times(self, count: int) -> Requests:
        return Requests(self.cpu_millis * count, self.memory_mib * count, self.pods * count)


# One of each on every node.
DAEMONSETS = {
    "aws-node (vpc-cni, with the network policy agent)": Requests(25, 64),
    "kube-proxy": Requests(100, 64),
    "eks-pod-identity-agent": Requests(25, 32),
    "cloudwatch-agent (observability add-on)": Requests(250, 128),
    "fluent-bit (observability add-on)": Requests(50, 25),
}
# Cluster-wide pods, wherever the scheduler puts them.
SYSTEM_PODS = {
    "coredns x2": Requests(100, 70).times(2),
    "metrics-server x2": Requests(100, 200).times(2),
    "aws-load-balancer-controller x2": Requests(100, 128).times(2),
    "cluster-autoscaler": Requests(100, 300),
    "amazon-cloudwatch-observability controller": Requests(100, 64),
    "relay db-roles and migrations Jobs": Requests(500, 512).times(2),
}


def architecture(instance_types: tuple[str, ...]) -> str | None:
    """ "arm64" or "x86_64" when every type shares it; None for a mix no one AMI boots."""
    kinds = {"arm64" if GRAVITON.match(t) else "x86_64" for t in instance_types}
    return kinds.pop() if len(kinds) == 1 else None


def ami_type(instance_types: tuple[str, ...]) -> str:
    return {"arm64": "AL2023_ARM_64_STANDARD", "x86_64": "AL2023_x86_64_STANDARD"}[
        architecture(instance_types) or "x86_64"
    ]


def kube_reserved_cpu_millis(vcpus: int) -> int:
    shares = [60, 10, 5, 5] + [2.5] * max(0, vcpus - 4)
    return int(sum(shares[:vcpus]) + 0.5)


def allocatable(instance: InstanceType) -> Requests:
    reserved_memory = 11 * instance.max_pods + 255 + 100
    return Requests(
        instance.vcpus * 1000 - kube_reserved_cpu_millis(instance.vcpus),
        instance.memory_mib - reserved_memory,
        instance.max_pods,
    )


def daemonsets_per_node() -> Requests:
    total = Requests(0, 0, 0)
    for requests in DAEMONSETS.values():
        total += requests
    return total


def system_pods() -> Requests:
    total = Requests(0, 0, 0)
    for requests in SYSTEM_PODS.values():
        total += requests
    return total


def cpu_millis(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else int(quantity) * 1000


def memory_mib(quantity: str) -> int:
    return int(quantity[:-2]) * (1024 if quantity.endswith("Gi") else 1)


@dataclass(frozen=True)
class Fleet:
    """The smallest node type of the group (the autoscaler may pick any), at the group's maximum."""

    instance: InstanceType
    max_nodes: int

    @classmethod
    def of(cls, instance_types: tuple[str, ...], max_nodes: int) -> Fleet:
        smallest = min((INSTANCE_TYPES[t] for t in instance_types), key=lambda i: (i.vcpus, i.memory_mib))
        return cls(smallest, max_nodes)

    @property
    def allocatable(self) -> Requests:
        return allocatable(self.instance).times(self.max_nodes)

    def needed(self, app_pod: Requests, max_replicas: int) -> Requests:
        return app_pod.times(max_replicas) + daemonsets_per_node().times(self.max_nodes) + system_pods()

    def pods_on_one_node(self, app_pod: Requests, max_replicas: int) -> int:
        """Worst case: every system pod on one node, plus as many app pods as its CPU admits."""
        free = allocatable(self.instance).cpu_millis - daemonsets_per_node().cpu_millis
        app = min(max_replicas, free // app_pod.cpu_millis)
        return daemonsets_per_node().pods + system_pods().pods + app


def capacity_problems(
    instance_types: tuple[str, ...], max_nodes: int, app_pod: Requests, max_replicas: int
) -> list[str]:
    """What does not fit, in words; empty when the HPA ceiling fits the node group's maximum."""
    fleet = Fleet.of(instance_types, max_nodes)
    needed, offered = fleet.needed(app_pod, max_replicas), fleet.allocatable
    problems = []
    if needed.cpu_millis > offered.cpu_millis:
        problems.append(f"CPU: {needed.cpu_millis}m requested, {offered.cpu_millis}m allocatable")
    if needed.memory_mib > offered.memory_mib:
        problems.append(f"memory: {needed.memory_mib}Mi requested, {offered.memory_mib}Mi allocatable")
    if app_pod.cpu_millis + daemonsets_per_node().cpu_millis > allocatable(fleet.instance).cpu_millis:
        problems.append("one app pod and the DaemonSets do not fit on a single node")
    if fleet.pods_on_one_node(app_pod, max_replicas) > fleet.instance.max_pods:
        problems.append(f"more pods per node than the VPC CNI allows ({fleet.instance.max_pods})")
    return problems
