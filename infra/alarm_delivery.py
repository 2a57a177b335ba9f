"""How alarms reach people besides e-mail, and the failures that have no CloudWatch metric.

Chat webhooks (Slack, Teams, a generic HTTPS hook) never answer SNS's subscription confirmation,
so an HTTPS subscription to one stays pending forever, and marking it `endpoint_auto_confirms`
makes the create wait for a confirmation that never comes. A small Lambda subscribes instead
(SNS confirms Lambda subscriptions itself), reads the webhook URL from Secrets Manager at run time
(it never sits in state or in the function's environment) and posts each notification.

AWS Backup job failures publish no alarm metric worth paging on; an EventBridge rule sends the
failed backup and copy jobs to the alarm topic, with their runbook link.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

FORWARDER_CODE = '''\
"""Posts an SNS notification to the chat webhook whose URL is in Secrets Manager."""
import json
import os
import urllib.request

import boto3

_url = None


def handler(event, _context):
    global _url
    if _url is None:
        _url = boto3.client("secretsmanager", region_name=os.environ["SECRET_REGION"]).get_secret_value(
            SecretId=os.environ["WEBHOOK_SECRET_ARN"]
        )["SecretString"]
    for record in event["Records"]:
        sns = record["Sns"]
        text = f"{sns.get('Subject') or 'Relay alarm'}\\n{sns['Message']}"
        request = urllib.request.Request(
            _url, data=json.dumps({"text": text}).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
'''
BACKUP_FAILURES = {
    "source": ["aws.backup"],
    "detail-type": ["Backup Job State Change", "Copy Job State Change"],
    "detail": {"state": ["FAILED", "ABORTED", "EXPIRED"]},
}
BACKUP_RUNBOOK = "BackupJobFailed"


def _assume(service: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
    )


def webhook_forwarder(
    name: str,
    parent: pulumi.Resource,
    region: str,
    topics: Mapping[str, aws.sns.Topic],
    secret_arn: pulumi.Input[str],
    secret_key_arn: pulumi.Input[str],
    log_retention_days: int,
) -> aws.lambda_.Function:
    """One function in the stack's region, subscribed to every alarm topic (SNS delivers to a
    Lambda in another region)."""
    child = pulumi.ResourceOptions(parent=parent)
    function_name = f"{name}-webhook"
    logs = aws.cloudwatch.LogGroup(
        f"{name}-webhook-logs",
        name=f"/aws/lambda/{function_name}",
        retention_in_days=log_retention_days,
        opts=child,
    )
    role = aws.iam.Role(
        f"{name}-webhook-role", assume_role_policy=_assume("lambda.amazonaws.com"), opts=child
    )
    policy = aws.iam.RolePolicy(
        f"{name}-webhook-policy",
        role=role.id,
        policy=pulumi.Output.all(secret_arn, secret_key_arn, logs.arn).apply(
            lambda v: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": v[0]},
                        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": v[1]},
                        {
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                            "Resource": f"{v[2]}:*",
                        },
                    ],
                }
            )
        ),
        opts=child,
    )
    function = aws.lambda_.Function(
        f"{name}-webhook-function",
        name=function_name,
        runtime="python3.12",
        handler="index.handler",
        role=role.arn,
        timeout=30,
        code=pulumi.AssetArchive({"index.py": pulumi.StringAsset(FORWARDER_CODE)}),
        environment={"variables": {"WEBHOOK_SECRET_ARN": secret_arn, "SECRET_REGION": region}},
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[logs, policy]),
    )
    for topic_region, topic in topics.items():
        label = "regional" if topic_region == region else topic_region
        permission = aws.lambda_.Permission(
            f"{name}-webhook-from-{label}",
            function=function.name,
            action="lambda:InvokeFunction",
            principal="sns.amazonaws.com",
            source_arn=topic.arn,
            opts=child,
        )
        aws.sns.TopicSubscription(
            f"{name}-webhook-{label}",
            topic=topic.arn,
            protocol="lambda",
            endpoint=function.arn,
            region=topic_region,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[permission]),
        )
    return function


def backup_failure_events(
    name: str, parent: pulumi.Resource, name_prefix: str, topic: aws.sns.Topic, runbook_base_url: str
) -> aws.cloudwatch.EventRule:
    """Failed, aborted or expired backup and copy jobs to the on-call topic."""
    child = pulumi.ResourceOptions(parent=parent)
    rule = aws.cloudwatch.EventRule(
        f"{name}-{BACKUP_RUNBOOK}",
        name=f"{name_prefix}-{BACKUP_RUNBOOK}",
        description=f"[critical] An AWS Backup job failed. Runbook: "
        f"{runbook_base_url}/runbooks/alerts/{BACKUP_RUNBOOK}.md",
        event_pattern=json.dumps(BACKUP_FAILURES),
        opts=child,
    )
    aws.sns.TopicPolicy(
        f"{name}-topic-policy",
        arn=topic.arn,
        policy=pulumi.Output.all(topic.arn, rule.arn).apply(lambda v: _topic_policy(*v)),
        opts=child,
    )
    aws.cloudwatch.EventTarget(
        f"{name}-{BACKUP_RUNBOOK}-target",
        rule=rule.name,
        arn=topic.arn,
        input_transformer={
            "input_paths": {
                "kind": "$.detail-type",
                "state": "$.detail.state",
                "resource": "$.detail.resourceArn",
                "message": "$.detail.statusMessage",
            },
            "input_template": json.dumps(
                f"[critical] {name_prefix}: <kind> <state> for <resource>: <message>. Runbook: "
                f"{runbook_base_url}/runbooks/alerts/{BACKUP_RUNBOOK}.md"
            ),
        },
        opts=child,
    )
    return rule


def _topic_policy(topic_arn: str, rule_arn: str) -> str:
    """The default owner statement (alarms publish as the account) plus this one EventBridge rule."""
    account = topic_arn.split(":")[4]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "OwnerAccount",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": ["sns:Publish", "sns:Subscribe", "sns:GetTopicAttributes"],
                    "Resource": topic_arn,
                },
                {
                    "Sid": "CloudWatchAlarms",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                    "Condition": {"StringEquals": {"aws:SourceAccount": account}},
                },
                {
                    "Sid": "BackupJobFailures",
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
                },
            ],
        }
    )
