"""Addons: EKS managed add-ons at the builds pinned for the cluster's version (infra/eks_versions.py).

Networking add-ons (vpc-cni with its network policy agent, kube-proxy, the Pod Identity agent)
must be in place before nodes join; the rest need nodes to run on, so the cluster creates one
`Addons` of each kind. Add-ons that call AWS get a role of their own through IRSA: with the node's
IMDS hop limit at 1, pods cannot borrow the node role, and the node role no longer carries the
CNI or CloudWatch permissions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.irsa import irsa_role

APP_METRICS = (
    "relay_socket_delivery_failures_total",
    "relay_messages_delivered_total",
    "relay_rate_limit_hits_total",
)
# CloudWatch namespace the agent writes scraped Prometheus metrics to (embedded metric format).
PROMETHEUS_NAMESPACE = "ContainerInsights/Prometheus"
SCRAPE_JOB = "relay"
METRICS_PORT = "8000"


@dataclass(frozen=True)
class AddonRole:
    namespace: str
    service_account: str
    managed_policies: tuple[str, ...]


ROLES = {
    "vpc-cni": AddonRole("kube-system", "aws-node", ("AmazonEKS_CNI_Policy",)),
    "amazon-cloudwatch-observability": AddonRole(
        "amazon-cloudwatch", "cloudwatch-agent", ("CloudWatchAgentServerPolicy",)
    ),
}


@dataclass(frozen=True)
class AddonsArgs:
    cluster: aws.eks.Cluster
    cluster_name: str
    builds: dict[str, str]  # add-on name -> pinned build, from infra/eks_versions.py
    oidc_provider: aws.iam.OpenIdConnectProvider
    app_namespace: str
    prometheus_log_group: str  # pre-created with retention by the cluster
    depends_on: tuple[pulumi.Resource, ...] = ()  # the node group, for add-ons that need nodes


class Addons(pulumi.ComponentResource):
    def __init__(self, name: str, args: AddonsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("relay:addons:Addons", name, None, opts)
        self.addons: dict[str, aws.eks.Addon] = {}
        for addon, build in args.builds.items():
            grants: tuple[pulumi.Resource, ...] = ()
            role_arn = None
            if addon in ROLES:
                role = ROLES[addon]
                irsa = irsa_role(
                    f"{name}-{addon}",
                    args.oidc_provider,
                    role.namespace,
                    role.service_account,
                    parent=self,
                    managed_policies=role.managed_policies,
                )
                grants, role_arn = irsa.grants, irsa.role.arn
            values = configuration(addon, args)
            self.addons[addon] = aws.eks.Addon(
                f"{name}-{addon}",
                cluster_name=args.cluster.name,
                addon_name=addon,
                addon_version=build,
                service_account_role_arn=role_arn,
                configuration_values=json.dumps(values) if values else None,
                # EKS installs vpc-cni, kube-proxy and coredns itself; the managed add-on adopts them.
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
                opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.depends_on, *grants]),
            )
        self.register_outputs({"addons": {k: v.addon_version for k, v in self.addons.items()}})


def configuration(addon: str, args: AddonsArgs) -> dict | None:
    if addon == "vpc-cni":
        # The network policy agent enforces the app namespace's NetworkPolicies.
        return {"enableNetworkPolicy": "true"}
    if addon == "amazon-cloudwatch-observability":
        return observability_configuration(args.cluster_name, args.app_namespace, args.prometheus_log_group)
    return None


def observability_configuration(cluster_name: str, namespace: str, log_group: str) -> dict:
    """Container Insights as before, plus the relay pods' /metrics scraped by the CloudWatch agent.

    Only the counters the alarms read become CloudWatch metrics (EMF `metric_declaration`); the
    agent reports counters as the delta between scrapes, so a Sum over a period is the increase.
    """
    scrape = {
        "global": {"scrape_interval": "60s", "scrape_timeout": "10s"},
        "scrape_configs": [
            {
                "job_name": SCRAPE_JOB,
                "metrics_path": "/metrics",
                "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [namespace]}}],
                "relabel_configs": [
                    {
                        "source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_component"],
                        "regex": "api",
                        "action": "keep",
                    },
                    {
                        "source_labels": ["__meta_kubernetes_pod_container_port_number"],
                        "regex": METRICS_PORT,
                        "action": "keep",
                    },
                    {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "Namespace"},
                    {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod_name"},
                ],
            }
        ],
    }
    agent = {
        "logs": {
            "metrics_collected": {
                "kubernetes": {"enhanced_container_insights": True},
                "prometheus": {
                    "cluster_name": cluster_name,
                    "log_group_name": log_group,
                    "emf_processor": {
                        "metric_namespace": PROMETHEUS_NAMESPACE,
                        "metric_declaration": [
                            {
                                "source_labels": ["job"],
                                "label_matcher": f"^{SCRAPE_JOB}$",
                                "dimensions": [["ClusterName", "Namespace"]],
                                "metric_selectors": [f"^{m}$" for m in APP_METRICS],
                            }
                        ],
                    },
                },
            }
        }
    }
    return {"agent": {"config": agent, "prometheus": {"config": scrape}}}
