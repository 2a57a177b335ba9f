"""ALB and target group policies: each weakened setting is refused with the resource, property and fix."""

import pytest

from .harness import Resource
from .weakening import DELETE, Weakening, assert_fires_naming_resource_property_and_fix

ALB = "relay-alb"
CASES = [
    Weakening(
        "alb-http-redirects-to-https",
        "relay-http-forward",
        None,
        Resource(
            "aws:lb/listenerRule:ListenerRule",
            "relay-http-forward",
            {"listenerArn": "arn:http", "actions": [{"type": "forward", "targetGroupArn": "tg"}]},
            {"listenerArn": ["relay-http"]},
        ),
        "actions",
    ),
    Weakening("alb-tls-policy", "relay-https", "sslPolicy", "ELBSecurityPolicy-2016-08", "sslPolicy"),
    Weakening("alb-tls-policy", "relay-https", "sslPolicy", DELETE, "sslPolicy"),
    Weakening(
        "alb-tls-policy", "relay-https", "sslPolicy", "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06", "sslPolicy"
    ),
    Weakening(
        "alb-http-redirects-to-https",
        "relay-http",
        "defaultActions.0",
        {"type": "forward", "targetGroupArn": "tg"},
        "defaultActions",
    ),
    Weakening("alb-http-redirects-to-https", "relay-https", "protocol", DELETE, "defaultActions"),
    Weakening("alb-drop-invalid-headers", ALB, "dropInvalidHeaderFields", DELETE, "dropInvalidHeaderFields"),
    Weakening("alb-deletion-protection", ALB, "enableDeletionProtection", False, "enableDeletionProtection"),
    Weakening("alb-access-logs", ALB, "accessLogs.enabled", False, "accessLogs"),
    Weakening("alb-access-logs", ALB, "accessLogs", DELETE, "accessLogs"),
    Weakening("target-group-stickiness", "relay-pods", "stickiness.enabled", False, "stickiness"),
    Weakening("target-group-stickiness", "relay-pods", "stickiness.type", "app_cookie", "stickiness"),
    Weakening("target-group-stickiness", "relay-pods", "stickiness", DELETE, "stickiness"),
    Weakening("target-group-ip-targets", "relay-pods", "targetType", DELETE, "targetType"),
    Weakening("target-group-ip-targets", "relay-pods", "targetType", "instance", "targetType"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_weakened_load_balancer_setting_is_refused(case):
    assert_fires_naming_resource_property_and_fix(case)
