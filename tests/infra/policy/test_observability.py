"""KMS rotation, log retention and alarm actions: each weakened setting is refused by name."""

import pytest

from .harness import Resource
from .weakening import DELETE, Weakening, assert_fires_naming_resource_property_and_fix

ALARM = "AlbHigh5xxRate"
CASES = [
    Weakening("kms-key-rotation", "relay-key", "enableKeyRotation", DELETE, "enableKeyRotation"),
    Weakening("log-group-retention", "relay-eks-logs", "retentionInDays", DELETE, "retentionInDays"),
    Weakening("log-group-retention", "relay-eks-logs", "retentionInDays", 14, "retentionInDays"),
    Weakening("alarm-has-actions", ALARM, "alarmActions", [], "alarmActions"),
    Weakening("alarm-has-actions", ALARM, "okActions", DELETE, "okActions"),
    Weakening("alarm-has-actions", ALARM, "actionsEnabled", False, "actionsEnabled"),
    Weakening(
        "sns-webhook-not-self-confirming",
        "relay-oncall-webhook",
        None,
        Resource(
            "aws:sns/topicSubscription:TopicSubscription",
            "relay-oncall-slack",
            {
                "topic": "arn:aws:sns:eu-west-1:1:relay-oncall",
                "protocol": "https",
                "endpointAutoConfirms": True,
            },
        ),
        "endpointAutoConfirms",
        blamed="relay-oncall-slack",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_weakened_observability_setting_is_refused(case):
    assert_fires_naming_resource_property_and_fix(case)
