"""Scaling: the HPA has CPU metrics to act on, nodes are added when pods do not fit, and the most
pods the HPA may ask for fit on the most nodes the autoscaler may add.

The arithmetic reads what the program declared (HPA ceiling, container requests, node group size
and types) and the instance and system-pod figures in infra/capacity.py.
"""

import json

import pytest

from infra import capacity, eks_versions
from infra.config import ConfigError
from tests.infra.resources import by_output, config, of_type, plain, single
from tests.infra.test_config import settings_for


def app_pod(run) -> tuple[capacity.Requests, int]:
    hpa = single(run, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs["spec"]
    (container,) = single(run, "kubernetes:apps/v1:Deployment").inputs["spec"]["template"]["spec"][
        "containers"
    ]
    requests = container["resources"]["requests"]
    pod = capacity.Requests(capacity.cpu_millis(requests["cpu"]), capacity.memory_mib(requests["memory"]))
    return pod, hpa["maxReplicas"]


def test_the_hpa_scales_on_cpu_that_metrics_server_reports(stack_run):
    (metric,) = single(stack_run, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs["spec"][
        "metrics"
    ]
    assert metric["resource"]["name"] == "cpu"
    (server,) = [
        a for a in of_type(stack_run, "aws:eks/addon:Addon") if a.inputs["addonName"] == "metrics-server"
    ]
    assert server.inputs["addonVersion"]


def test_the_cluster_autoscaler_scales_the_pinned_node_group_only(stack_run):
    release = plain(single(stack_run, "kubernetes:helm.sh/v3:Release", "-autoscaler-release").inputs)
    cluster = config(stack_run, "eksVersion")
    values = release["values"]
    assert release["chart"] == "cluster-autoscaler"
    assert release["version"] == config(stack_run, "clusterAutoscalerChartVersion")
    assert values["autoDiscovery"]["clusterName"] == f"relay-{stack_run.stack}"
    assert values["image"]["tag"] == eks_versions.PINS[cluster].cluster_autoscaler_image_tag
    assert values["image"]["tag"].startswith(f"v{cluster}."), (
        "the autoscaler's minor matches the control plane"
    )
    role = by_output(stack_run, "arn")[
        values["rbac"]["serviceAccount"]["annotations"]["eks.amazonaws.com/role-arn"]
    ]
    policy = next(
        p for p in of_type(stack_run, "aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.id
    )
    scale = next(
        s for s in json.loads(policy.inputs["policy"])["Statement"] if s["Sid"] == "ScaleThisClustersGroups"
    )
    assert scale["Condition"]["StringEquals"] == {
        f"aws:ResourceTag/k8s.io/cluster-autoscaler/relay-{stack_run.stack}": "owned"
    }
    nodes = single(stack_run, "aws:eks/nodeGroup:NodeGroup")
    assert nodes.urn in single(stack_run, "kubernetes:helm.sh/v3:Release", "-autoscaler-release").dependencies
    assert "scalingConfig.desiredSize" in nodes.ignore_changes, "the autoscaler owns the live size"


def test_the_hpa_ceiling_fits_the_most_nodes_the_autoscaler_may_add(stack_run):
    pod, max_replicas = app_pod(stack_run)
    nodes = single(stack_run, "aws:eks/nodeGroup:NodeGroup").inputs
    fleet = capacity.Fleet.of(tuple(nodes["instanceTypes"]), nodes["scalingConfig"]["maxSize"])
    needed, offered = fleet.needed(pod, max_replicas), fleet.allocatable
    assert needed.cpu_millis <= offered.cpu_millis, (needed, offered)
    assert needed.memory_mib <= offered.memory_mib, (needed, offered)
    assert fleet.pods_on_one_node(pod, max_replicas) <= fleet.instance.max_pods


def test_allocatable_follows_the_eks_ami_reservations():
    large = capacity.INSTANCE_TYPES["m7i.large"]
    assert large.max_pods == 29 and capacity.INSTANCE_TYPES["t3.large"].max_pods == 35
    assert capacity.allocatable(large).cpu_millis == 2000 - 70
    assert capacity.allocatable(large).memory_mib == 8192 - (11 * 29 + 255) - 100


def test_config_refuses_a_ceiling_the_nodes_cannot_place():
    """prod's ceiling (12 x 500m) does not fit on 3 m7i.large nodes: that was the node group's
    fixed size before anything added nodes."""
    with pytest.raises(ConfigError) as error:
        settings_for("prod", eksNodeMaxSize="3")
    message = str(error.value)
    assert message.startswith("relay:appMaxReplicas is 12") and "eksNodeMaxSize=3" in message
    assert "CPU:" in message


def test_config_refuses_node_types_of_two_architectures_or_unknown_ones():
    with pytest.raises(ConfigError, match="mixes Graviton"):
        settings_for("prod", eksNodeInstanceTypes=["m7g.large", "m7i.large"])
    with pytest.raises(ConfigError, match=r"x9z\.large not in infra/capacity\.py"):
        settings_for("prod", eksNodeInstanceTypes=["x9z.large"])
