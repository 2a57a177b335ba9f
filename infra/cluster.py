"""Cluster: EKS with private nodes, KMS-encrypted secrets, audited control plane, IRSA.

The API endpoint is private, plus a public endpoint open only to the CIDRs in config (the
deployer's CI and on-call VPN). Access is granted by EKS access entries, never by the
cluster creator's implicit admin rights, so who can reach the cluster is visible in code.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra import capacity, eks_versions
from infra.addons import Addons, AddonsArgs
from infra.autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
from infra.keys import encryption_key
from infra.lb_controller import LoadBalancerController, LoadBalancerControllerArgs

CONTROL_PLANE_LOGS = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
# The node role is the kubelet's: the VPC CNI and the CloudWatch agent have IRSA roles of their own.
NODE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryReadOnly",
    "AmazonSSMManagedInstanceCore",  # shell access through Session Manager, no SSH keys
)
ACCESS_POLICY = "arn:aws:eks::aws:cluster-access-policy/"
# Container Insights log groups the Observability add-on writes (prometheus: the scraped app
# metrics); pre-created so they get a retention.
INSIGHTS_LOG_GROUPS = ("application", "dataplane", "host", "performance", "prometheus")
# Add-ons the nodes need to join and get pod networking; the others run on the nodes.
NETWORKING_ADDONS = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")
# IMDSv2 answers only the node itself: a pod is one hop further and gets no node credentials.
IMDS_HOP_LIMIT = 1


@dataclass(frozen=True)
class ClusterArgs:
    cluster_name: str
    region: str
    kubernetes_version: str
    vpc_id: pulumi.Input[str]
    private_subnet_ids: Sequence[pulumi.Input[str]]
    public_access_cidrs: tuple[str, ...]
    node_instance_types: tuple[str, ...]
    node_min_size: int
    node_desired_size: int
    node_max_size: int
    deployer_role_arn: str  # cluster admin: what `pulumi up` runs as
    oncall_role_arn: str  # cluster-wide read, edit in the app namespace
    app_namespace: str
    log_retention_days: int
    lb_controller_chart_version: str
    cluster_autoscaler_chart_version: str
    target_group_arns: Sequence[pulumi.Input[str]]  # the only target groups the LB controller may change


def _assume(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


class Cluster(pulumi.ComponentResource):
    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("relay:cluster:Cluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane-logs",
            name=f"/aws/eks/{args.cluster_name}/cluster",
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        secrets_key = encryption_key(f"{name}-secrets-key", "EKS secrets envelope encryption", self)
        role = aws.iam.Role(
            f"{name}-cluster-role", assume_role_policy=_assume("eks.amazonaws.com"), opts=child
        )
        cluster_policy = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy",
            role=role.name,
            policy_arn="arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",
            opts=child,
        )
        self.cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=args.cluster_name,
            version=args.kubernetes_version,
            role_arn=role.arn,
            vpc_config={
                "subnet_ids": list(args.private_subnet_ids),
                "endpoint_private_access": True,
                "endpoint_public_access": True,
                "public_access_cidrs": list(args.public_access_cidrs),
            },
            encryption_config={"provider": {"key_arn": secrets_key.arn}, "resources": ["secrets"]},
            enabled_cluster_log_types=CONTROL_PLANE_LOGS,
            access_config={
                "authentication_mode": "API",
                "bootstrap_cluster_creator_admin_permissions": False,
            },
            deletion_protection=True,
            # Without it EKS moves a version past its standard support into extended support, at
            # six times the control-plane price; STANDARD upgrades the control plane instead.
            upgrade_policy={"support_type": "STANDARD"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_group, cluster_policy], protect=True),
        )
        self.oidc_provider = aws.iam.OpenIdConnectProvider(
            f"{name}-oidc",
            url=self.cluster.identities[0].oidcs[0].issuer,
            client_id_lists=["sts.amazonaws.com"],
            opts=child,
        )
        pins = eks_versions.PINS[args.kubernetes_version]
        networking = Addons(
            f"{name}-networking",
            self._addons_args(args, {a: pins.addons[a] for a in NETWORKING_ADDONS}, ()),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.node_group = self._nodes(name, args, networking)
        admin_access = self._access_entries(name, args)
        insights_groups = [
            aws.cloudwatch.LogGroup(
                f"{name}-insights-{kind}",
                name=f"/aws/containerinsights/{args.cluster_name}/{kind}",
                retention_in_days=args.log_retention_days,
                opts=child,
            )
            for kind in INSIGHTS_LOG_GROUPS
        ]
        self.addons = Addons(
            f"{name}-addons",
            self._addons_args(
                args,
                {a: b for a, b in pins.addons.items() if a not in NETWORKING_ADDONS},
                (self.node_group, *insights_groups),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(self.cluster.endpoint, self.cluster.certificate_authority.data).apply(
                lambda v: _kubeconfig(args.cluster_name, args.region, v[0], v[1])
            )
        )
        self.provider = k8s.Provider(
            f"{name}-k8s",
            kubeconfig=self.kubeconfig,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[admin_access, self.node_group]),
        )
        self.security_group_id = self.cluster.vpc_config.cluster_security_group_id
        self.lb_controller = LoadBalancerController(
            f"{name}-lb-controller",
            LoadBalancerControllerArgs(
                cluster_name=args.cluster_name,
                region=args.region,
                vpc_id=args.vpc_id,
                chart_version=args.lb_controller_chart_version,
                oidc_provider=self.oidc_provider,
                target_group_arns=args.target_group_arns,
                cluster_security_group_id=self.security_group_id,
            ),
            opts=pulumi.ResourceOptions(parent=self, providers={"kubernetes": self.provider}),
        )
        self.autoscaler = ClusterAutoscaler(
            f"{name}-autoscaler",
            ClusterAutoscalerArgs(
                cluster_name=args.cluster_name,
                region=args.region,
                chart_version=args.cluster_autoscaler_chart_version,
                image_tag=pins.cluster_autoscaler_image_tag,
                oidc_provider=self.oidc_provider,
                node_group=self.node_group,
            ),
            opts=pulumi.ResourceOptions(parent=self, providers={"kubernetes": self.provider}),
        )
        self.cluster_name = self.cluster.name
        self.application_log_group = insights_groups[0].name
        self.register_outputs({"cluster_name": self.cluster_name, "kubeconfig": self.kubeconfig})

    def _addons_args(
        self, args: ClusterArgs, builds: dict[str, str], needs: tuple[pulumi.Resource, ...]
    ) -> AddonsArgs:
        return AddonsArgs(
            cluster=self.cluster,
            cluster_name=args.cluster_name,
            builds=builds,
            oidc_provider=self.oidc_provider,
            app_namespace=args.app_namespace,
            prometheus_log_group=f"/aws/containerinsights/{args.cluster_name}/prometheus",
            depends_on=needs,
        )

    def _nodes(self, name: str, args: ClusterArgs, networking: pulumi.Resource) -> aws.eks.NodeGroup:
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(f"{name}-node-role", assume_role_policy=_assume("ec2.amazonaws.com"), opts=child)
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-node-{policy}",
                role=role.name,
                policy_arn=f"arn:aws:iam::aws:policy/{policy}",
                opts=child,
            )
            for policy in NODE_POLICIES
        ]
        # Encrypted root volumes and IMDSv2 only, with hop limit 1: only processes on the node (and
        # host-network pods) reach instance metadata; pods get AWS access through IRSA.
        template = aws.ec2.LaunchTemplate(
            f"{name}-node-template",
            block_device_mappings=[
                {
                    "device_name": "/dev/xvda",
                    "ebs": {
                        "volume_size": 50,
                        "volume_type": "gp3",
                        "encrypted": "true",
                        "delete_on_termination": "true",
                    },
                }
            ],
            metadata_options={
                "http_endpoint": "enabled",
                "http_tokens": "required",
                "http_put_response_hop_limit": IMDS_HOP_LIMIT,
            },
            update_default_version=True,
            opts=child,
        )
        return aws.eks.NodeGroup(
            f"{name}-nodes",
            cluster_name=self.cluster.name,
            node_role_arn=role.arn,
            subnet_ids=list(args.private_subnet_ids),
            instance_types=list(args.node_instance_types),
            # Graviton families boot the arm64 AMI; a mix of architectures is refused by config.
            ami_type=capacity.ami_type(args.node_instance_types),
            capacity_type="ON_DEMAND",
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            scaling_config={
                "min_size": args.node_min_size,
                "desired_size": args.node_desired_size,
                "max_size": args.node_max_size,
            },
            update_config={"max_unavailable": 1},
            # An autoscaler owns the live size; a deploy must not snap it back.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*attachments, networking],
                ignore_changes=["scalingConfig.desiredSize"],
            ),
        )

    def _access_entries(self, name: str, args: ClusterArgs) -> aws.eks.AccessPolicyAssociation:
        child = pulumi.ResourceOptions(parent=self)
        grants = (
            ("deployer", args.deployer_role_arn, "AmazonEKSClusterAdminPolicy", {"type": "cluster"}),
            ("oncall-view", args.oncall_role_arn, "AmazonEKSAdminViewPolicy", {"type": "cluster"}),
            (
                "oncall-edit",
                args.oncall_role_arn,
                "AmazonEKSEditPolicy",
                {"type": "namespace", "namespaces": [args.app_namespace]},
            ),
        )
        entries = {
            who: aws.eks.AccessEntry(
                f"{name}-entry-{who}",
                cluster_name=self.cluster.name,
                principal_arn=arn,
                type="STANDARD",
                opts=child,
            )
            for who, arn in (("deployer", args.deployer_role_arn), ("oncall", args.oncall_role_arn))
        }
        associations = [
            aws.eks.AccessPolicyAssociation(
                f"{name}-grant-{grant}",
                cluster_name=self.cluster.name,
                principal_arn=arn,
                policy_arn=ACCESS_POLICY + policy,
                access_scope=scope,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[entries[grant.split("-")[0]]]),
            )
            for grant, arn, policy, scope in grants
        ]
        return associations[0]


def _kubeconfig(cluster_name: str, region: str, endpoint: str, ca_data: str) -> str:
    """A kubeconfig that gets short-lived tokens from `aws eks get-token`: no static credentials."""
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": cluster_name, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}
            ],
            "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
            "current-context": cluster_name,
            "users": [
                {
                    "name": cluster_name,
                    "user": {
                        "exec": {
                            "apiVersion": "client.authentication.k8s.io/v1beta1",
                            "command": "aws",
                            "args": [
                                "eks",
                                "get-token",
                                "--cluster-name",
                                cluster_name,
                                "--region",
                                region,
                                "--output",
                                "json",
                            ],
                        }
                    },
                }
            ],
        }
    )
