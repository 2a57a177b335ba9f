"""IAM roles for Kubernetes service accounts (IRSA): one role per service account, trusted
only by that account in that namespace through the cluster's OIDC provider."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class IrsaRole:
    role: aws.iam.Role
    # What a workload using the role must wait for: without its permissions the first run fails.
    grants: tuple[pulumi.Resource, ...]


def irsa_role(
    name: str,
    oidc_provider: aws.iam.OpenIdConnectProvider,
    namespace: str,
    service_account: str,
    parent: pulumi.Resource,
    policy: pulumi.Input[str] | None = None,
    managed_policies: tuple[str, ...] = (),
) -> IrsaRole:
    """A role for one service account, with an inline `policy` and/or AWS managed policies."""

    def trust(values: list[str]) -> str:
        provider_arn, issuer_url = values
        issuer = issuer_url.removeprefix("https://")
        return json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Federated": provider_arn},
                        "Action": "sts:AssumeRoleWithWebIdentity",
                        "Condition": {
                            "StringEquals": {
                                f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                                f"{issuer}:aud": "sts.amazonaws.com",
                            }
                        },
                    }
                ],
            }
        )

    child = pulumi.ResourceOptions(parent=parent)
    role = aws.iam.Role(
        f"{name}-role",
        assume_role_policy=pulumi.Output.all(oidc_provider.arn, oidc_provider.url).apply(trust),
        opts=child,
    )
    grants: list[pulumi.Resource] = []
    if policy is not None:
        grants.append(aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=policy, opts=child))
    grants += [
        aws.iam.RolePolicyAttachment(
            f"{name}-{managed}", role=role.name, policy_arn=f"arn:aws:iam::aws:policy/{managed}", opts=child
        )
        for managed in managed_policies
    ]
    return IrsaRole(role, tuple(grants))


def irsa_service_account(
    name: str, role: aws.iam.Role, namespace: str, service_account: str, opts: pulumi.ResourceOptions
) -> k8s.core.v1.ServiceAccount:
    """The Kubernetes half of IRSA: the service account that names its role. Its token is not
    mounted by default; the pods that use the role ask for it."""
    return k8s.core.v1.ServiceAccount(
        f"{name}-service-account",
        metadata={
            "name": service_account,
            "namespace": namespace,
            "annotations": {"eks.amazonaws.com/role-arn": role.arn},
        },
        automount_service_account_token=False,
        opts=opts,
    )
