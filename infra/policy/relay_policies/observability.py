"""KMS keys rotate, log groups expire, and every alarm reaches someone.

Checklist: "Set up error logging service", "Configure uptime monitoring", "Set up database
monitoring" (DESIGN.md §5: CloudWatch alarms to SNS, with OK actions, runbook in each).
"""

from collections.abc import Iterator

from pulumi_policy import ResourceValidationArgs, StackValidationArgs

from .builders import resource_policy, stack_policy
from .graph import StackGraph
from .props import items, shown, violation
from .thresholds import minimum_days, minimum_days_schema

KMS_KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ALARMS = ("aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/compositeAlarm:CompositeAlarm")
SNS_TOPIC = "aws:sns/topic:Topic"
SNS_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
PROD_LOG_RETENTION_DAYS = 30


def check_key_rotation(args: ResourceValidationArgs) -> Iterator[str]:
    symmetric = (args.props.get("customerMasterKeySpec") or "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
    value = args.props.get("enableKeyRotation")
    if symmetric and value is not True:
        yield violation(
            args.urn,
            "enableKeyRotation",
            shown(value, False),
            "symmetric KMS keys must rotate yearly",
            "set enable_key_rotation=True",
        )


def check_log_retention(args: ResourceValidationArgs) -> Iterator[str]:
    days = minimum_days("log-group-retention", args.get_config(), PROD_LOG_RETENTION_DAYS)
    value = args.props.get("retentionInDays")
    if not value or value < days:
        yield violation(
            args.urn,
            "retentionInDays",
            shown(value or None, "never expire"),
            f"log groups must set a retention of at least {days} days (unset keeps logs forever)",
            f"set retention_in_days to {days} or more (relay:logRetentionDays)",
        )


def check_alarm_actions(args: StackValidationArgs) -> Iterator[tuple[str, str]]:
    graph = StackGraph(args.resources)
    for alarm in graph.of_type(*ALARMS):
        for prop in ("alarmActions", "okActions"):
            if not items(alarm.props.get(prop)):
                yield (
                    alarm.urn,
                    violation(
                        alarm.urn,
                        prop,
                        "empty",
                        "every alarm must notify on-call when it fires and clears",
                        f"set {prop}=[<SNS topic ARN>] (the topic in the alarm's region)",
                    ),
                )
        if alarm.props.get("actionsEnabled") is False:
            yield (
                alarm.urn,
                violation(
                    alarm.urn,
                    "actionsEnabled",
                    "False",
                    "alarm actions must be active",
                    "set actions_enabled=True (or leave it unset)",
                ),
            )
        topics = graph.referenced(alarm, "alarmActions", SNS_TOPIC)
        arns = [str(a) for a in items(alarm.props.get("alarmActions"))]
        if arns and not topics and not all(a.startswith("arn:aws:sns:") for a in arns):
            yield (
                alarm.urn,
                violation(
                    alarm.urn,
                    "alarmActions",
                    shown(arns),
                    "alarm actions must publish to an SNS topic",
                    "point alarm_actions at the on-call aws.sns.Topic",
                ),
            )


def check_webhook_confirmation(args: ResourceValidationArgs) -> Iterator[str]:
    protocol = args.props.get("protocol")
    if protocol in ("http", "https") and args.props.get("endpointAutoConfirms") is True:
        yield violation(
            args.urn,
            "endpointAutoConfirms",
            "True",
            "chat webhooks never answer SNS's confirmation, so the create waits out its timeout and "
            "fails; the subscription would never deliver anyway",
            "deliver chat alerts through a Lambda subscription (infra/alarm_delivery.py) or AWS "
            "Chatbot; keep endpoint_auto_confirms only for endpoints that confirm themselves",
        )


POLICIES = [
    resource_policy(
        "kms-key-rotation", "KMS.4: AWS KMS key rotation must be enabled.", [KMS_KEY], check_key_rotation
    ),
    resource_policy(
        "log-group-retention",
        "CloudWatch.16: CloudWatch log groups must be retained for a set period.",
        [LOG_GROUP],
        check_log_retention,
        minimum_days_schema(PROD_LOG_RETENTION_DAYS, "log retention"),
    ),
    stack_policy(
        "alarm-has-actions",
        "CloudWatch.15/CloudWatch.17: every CloudWatch alarm must have active SNS actions.",
        check_alarm_actions,
    ),
    resource_policy(
        "sns-webhook-not-self-confirming",
        "Relay (no FSBP control): HTTP(S) alarm subscriptions must not claim to confirm themselves.",
        [SNS_SUBSCRIPTION],
        check_webhook_confirmation,
    ),
]
