"""LoadBalancerController: the AWS Load Balancer Controller, installed by Helm, with its IRSA role.

Relay uses it only to bind pods to the ALB's target group (TargetGroupBinding); the ALB itself,
its listeners and rules stay in Pulumi (Edge). So the controller may register targets in that one
target group and open the cluster security group to the ALB, and create no load balancers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.irsa import irsa_role

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "aws-load-balancer-controller"


@dataclass(frozen=True)
class LoadBalancerControllerArgs:
    cluster_name: str
    region: str
    vpc_id: pulumi.Input[str]
    chart_version: str
    oidc_provider: aws.iam.OpenIdConnectProvider
    target_group_arns: Sequence[pulumi.Input[str]]  # the only target groups it may change
    cluster_security_group_id: pulumi.Input[str]  # the only security group it may open


class LoadBalancerController(pulumi.ComponentResource):
    def __init__(
        self, name: str, args: LoadBalancerControllerArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("relay:lb_controller:LoadBalancerController", name, None, opts)
        irsa = irsa_role(
            name,
            args.oidc_provider,
            NAMESPACE,
            SERVICE_ACCOUNT,
            parent=self,
            policy=pulumi.Output.all(args.cluster_security_group_id, *args.target_group_arns).apply(
                lambda v: _policy(v[0], *v[1:])
            ),
        )
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            chart="aws-load-balancer-controller",
            version=args.chart_version,
            repository_opts={"repo": "https://aws.github.io/eks-charts"},
            namespace=NAMESPACE,
            values={
                "clusterName": args.cluster_name,
                "region": args.region,
                "vpcId": args.vpc_id,
                "replicaCount": 2,
                # Services of type LoadBalancer stay with the in-tree controller; Relay has none.
                "enableServiceMutatorWebhook": False,
                "serviceAccount": {
                    "create": True,
                    "name": SERVICE_ACCOUNT,
                    "annotations": {"eks.amazonaws.com/role-arn": irsa.role.arn},
                },
                # Counted in infra/capacity.py SYSTEM_PODS.
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(irsa.grants)),
        )
        self.register_outputs({"release": self.release.name})


def _policy(cluster_sg_id: str, *arns: str) -> str:
    """`arns`: the target groups whose targets the controller registers."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    # Read-only discovery; the controller's describe calls grow with its versions.
                    "Sid": "Discover",
                    "Effect": "Allow",
                    "Action": ["ec2:Describe*", "elasticloadbalancing:Describe*"],
                    "Resource": "*",
                },
                {
                    "Sid": "BindPodsToRelayTargetGroup",
                    "Effect": "Allow",
                    "Action": [
                        "elasticloadbalancing:RegisterTargets",
                        "elasticloadbalancing:DeregisterTargets",
                    ],
                    # One ARN stays a string, so a stack without a socket route keeps its policy as is.
                    "Resource": list(arns) if len(arns) > 1 else arns[0],
                },
                {
                    "Sid": "OpenClusterSecurityGroupToAlb",
                    "Effect": "Allow",
                    "Action": ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
                    "Resource": f"arn:aws:ec2:*:*:security-group/{cluster_sg_id}",
                },
            ],
        }
    )
