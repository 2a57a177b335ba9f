"""Kubernetes NetworkPolicies for the app namespace, enforced by the VPC CNI's network policy agent.

Everything is denied, then the relay pods (Deployment and Jobs) get what they use:
- in: the app port from the ALB (its nodes live in the public subnets) and from the metrics
  scraper; with the native socket server, its socket port from the ALB only. The scraper (the
  CloudWatch agent of the observability add-on) runs on the host network, so it arrives from a
  node address in the private subnets; pod and node addresses share those subnets, so this rule
  cannot tell them apart, and it opens the app port only.
- out: DNS to CoreDNS; Postgres and Redis in the database subnets; HTTPS.

HTTPS goes to any address on purpose: the pods call the auth provider's JWKS URL and Sentry, whose
addresses are CDN-fronted and change without notice, and a NetworkPolicy matches addresses, not
names. Interface endpoints keep the AWS APIs inside the VPC either way. An egress proxy with a
host allow-list is the stricter alternative, at the price of one more service to run.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.workload import PORT

POSTGRES_PORT = 5432
REDIS_PORT = 6379
HTTPS_PORT = 443
DNS_PORT = 53
ANYWHERE = "0.0.0.0/0"
# Instance metadata is for the node alone (hop limit 1 already keeps pods out).
METADATA = "169.254.169.254/32"


@dataclass(frozen=True)
class NetworkPeers:
    load_balancer_cidrs: tuple[str, ...]  # public subnets: the ALB's nodes
    scraper_cidrs: tuple[str, ...]  # private subnets: node addresses of the host-network scraper
    data_cidrs: tuple[str, ...]  # database subnets: Postgres and Redis


def network_policies(
    name: str,
    namespace: str,
    labels: dict[str, str],
    peers: NetworkPeers,
    parent: pulumi.Resource,
    namespace_resource: pulumi.Resource,
    socket_port: int | None = None,
) -> list[k8s.networking.v1.NetworkPolicy]:
    opts = pulumi.ResourceOptions(parent=parent, depends_on=[namespace_resource])
    pods = {"match_labels": {"app.kubernetes.io/name": labels["app.kubernetes.io/name"]}}

    def blocks(cidrs: tuple[str, ...]) -> list[dict]:
        return [{"ip_block": {"cidr": cidr}} for cidr in cidrs]

    ingress = [
        {
            "from": blocks(peers.load_balancer_cidrs + peers.scraper_cidrs),
            "ports": [{"protocol": "TCP", "port": PORT}],
        }
    ]
    if socket_port is not None:
        ingress.append(
            {"from": blocks(peers.load_balancer_cidrs), "ports": [{"protocol": "TCP", "port": socket_port}]}
        )

    deny_all = k8s.networking.v1.NetworkPolicy(
        f"{name}-deny-all",
        metadata={"name": "default-deny", "namespace": namespace},
        spec={"pod_selector": {}, "policy_types": ["Ingress", "Egress"]},
        opts=opts,
    )
    relay = k8s.networking.v1.NetworkPolicy(
        f"{name}-relay-traffic",
        metadata={"name": "relay", "namespace": namespace, "labels": labels},
        spec={
            "pod_selector": pods,
            "policy_types": ["Ingress", "Egress"],
            "ingress": ingress,
            "egress": [
                {
                    "to": [
                        {
                            "namespace_selector": {
                                "match_labels": {"kubernetes.io/metadata.name": "kube-system"}
                            },
                            "pod_selector": {"match_labels": {"k8s-app": "kube-dns"}},
                        }
                    ],
                    "ports": [{"protocol": p, "port": DNS_PORT} for p in ("UDP", "TCP")],
                },
                {
                    "to": blocks(peers.data_cidrs),
                    "ports": [{"protocol": "TCP", "port": p} for p in (POSTGRES_PORT, REDIS_PORT)],
                },
                {
                    "to": [{"ip_block": {"cidr": ANYWHERE, "except": [METADATA]}}],
                    "ports": [{"protocol": "TCP", "port": HTTPS_PORT}],
                },
            ],
        },
        opts=opts,
    )
    return [deny_all, relay]
