"""ClusterAutoscaler: adds nodes when pods cannot be placed, removes idle ones, within the node
group's bounds from config.

Cluster Autoscaler rather than Karpenter: this program pins one managed node group (instance
types, AMI type from their architecture, a launch template with IMDSv2 and hop limit 1, sizes in
config), and Cluster Autoscaler scales exactly that group between relay:eksNodeMinSize and
relay:eksNodeMaxSize. Managed node groups tag their Auto Scaling groups for its auto-discovery.
Karpenter would launch instances outside the group from NodePools and EC2NodeClasses of its own (a
second copy of the launch settings, its own node role and interruption queue) and leave the
pinned group idle. Auto Mode would replace the group and the pinned add-ons altogether.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.irsa import irsa_role

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "cluster-autoscaler"
IMAGE = "registry.k8s.io/autoscaling/cluster-autoscaler"


@dataclass(frozen=True)
class ClusterAutoscalerArgs:
    cluster_name: str
    region: str
    chart_version: str
    image_tag: str  # the release of the control plane's minor version (infra/eks_versions.py)
    oidc_provider: aws.iam.OpenIdConnectProvider
    node_group: aws.eks.NodeGroup


class ClusterAutoscaler(pulumi.ComponentResource):
    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("relay:autoscaler:ClusterAutoscaler", name, None, opts)
        irsa = irsa_role(
            name,
            args.oidc_provider,
            NAMESPACE,
            SERVICE_ACCOUNT,
            parent=self,
            policy=_policy(args.cluster_name),
        )
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            chart="cluster-autoscaler",
            version=args.chart_version,
            repository_opts={"repo": "https://kubernetes.github.io/autoscaler"},
            namespace=NAMESPACE,
            values={
                "cloudProvider": "aws",
                "awsRegion": args.region,
                "autoDiscovery": {"clusterName": args.cluster_name},
                "image": {"repository": IMAGE, "tag": args.image_tag},
                "rbac": {
                    "serviceAccount": {
                        "create": True,
                        "name": SERVICE_ACCOUNT,
                        "annotations": {"eks.amazonaws.com/role-arn": irsa.role.arn},
                    }
                },
                "extraArgs": {
                    # Spread over zones: the app's topology spread needs a node in each.
                    "balance-similar-node-groups": True,
                    "expander": "least-waste",
                    # Scale in slowly: a removed node drops its pods' sockets.
                    "scale-down-unneeded-time": "10m",
                },
                # Counted in infra/capacity.py SYSTEM_PODS.
                "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.node_group, *irsa.grants]),
        )
        self.register_outputs({"release": self.release.name})


def _policy(cluster_name: str) -> str:
    """Change only the Auto Scaling groups EKS tagged as this cluster's (the managed node group)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Discover",
                    "Effect": "Allow",
                    "Action": [
                        "autoscaling:DescribeAutoScalingGroups",
                        "autoscaling:DescribeAutoScalingInstances",
                        "autoscaling:DescribeLaunchConfigurations",
                        "autoscaling:DescribeScalingActivities",
                        "autoscaling:DescribeTags",
                        "ec2:DescribeImages",
                        "ec2:DescribeInstanceTypes",
                        "ec2:DescribeLaunchTemplateVersions",
                        "ec2:GetInstanceTypesFromInstanceRequirements",
                        "eks:DescribeNodegroup",
                    ],
                    "Resource": "*",
                },
                {
                    "Sid": "ScaleThisClustersGroups",
                    "Effect": "Allow",
                    "Action": [
                        "autoscaling:SetDesiredCapacity",
                        "autoscaling:TerminateInstanceInAutoScalingGroup",
                    ],
                    "Resource": "*",
                    "Condition": {
                        "StringEquals": {f"aws:ResourceTag/k8s.io/cluster-autoscaler/{cluster_name}": "owned"}
                    },
                },
            ],
        }
    )
