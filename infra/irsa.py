"""IAM roles for Kubernetes service accounts (IRSA): one role per service account, trusted
only by that account in that namespace through the cluster's OIDC provider."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws


def irsa_role(
    name: str,
    oidc_provider: aws.iam.OpenIdConnectProvider,
    namespace: str,
    service_account: str,
    policy: pulumi.Input[str],
    parent: pulumi.Resource,
) -> aws.iam.Role:
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
    aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=policy, opts=child)
    return role
