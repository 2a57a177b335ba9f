"""Customer-managed KMS keys: one per concern, rotated yearly, a 30-day deletion window."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws


def account_id(parent: pulumi.Resource) -> pulumi.Output[str]:
    """The account the stack deploys into, looked up through `parent`'s AWS provider: the stack
    YAML disables the default provider, so a lookup without one stops `pulumi preview`."""
    return aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=parent)).account_id


def key_policy(
    account: pulumi.Input[str], service_statements: pulumi.Input[list] | None = None
) -> pulumi.Output[str]:
    """The account root administers the key (AWS's default); services get only what is listed.

    Statements may hold Outputs (an ARN in a condition); they are resolved before rendering.
    """

    def render(values: list) -> str:
        acct, statements = values
        root = {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{acct}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
        return json.dumps({"Version": "2012-10-17", "Statement": [root, *statements]})

    return pulumi.Output.all(account, pulumi.Output.from_input(service_statements or [])).apply(render)


def service_may_use(service: str, actions: list[str], condition: dict | None = None) -> dict:
    statement = {
        "Sid": f"{service.split('.')[0].title()}Uses",
        "Effect": "Allow",
        "Principal": {"Service": service},
        "Action": actions,
        "Resource": "*",
    }
    if condition:
        statement["Condition"] = condition
    return statement


def encryption_key(
    name: str,
    purpose: str,
    parent: pulumi.Resource,
    policy: pulumi.Input[str] | None = None,
    region: str | None = None,
) -> aws.kms.Key:
    # Protected: deleting a key makes every backup and object encrypted with it unreadable.
    return aws.kms.Key(
        name,
        description=f"Relay: {purpose}",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        policy=policy,
        region=region,
        opts=pulumi.ResourceOptions(parent=parent, protect=True),
    )
