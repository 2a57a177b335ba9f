"""WAF policies: managed rules, a rate rule, logging and attachment, each refused when missing."""

import pytest

from .weakening import REMOVE, Weakening, assert_fires_naming_resource_property_and_fix

CASES = [
    Weakening(
        "waf-managed-rules",
        "relay-alb-waf",
        "rules.0",
        {"name": "x", "priority": 1, "statement": {}},
        "managedRuleGroupStatement",
    ),
    Weakening(
        "waf-rate-limit",
        "relay-cdn-waf",
        "rules.1",
        {"name": "x", "priority": 2, "statement": {}},
        "rateBasedStatement",
    ),
    Weakening(
        "waf-logging",
        "relay-alb-waf-logging",
        None,
        REMOVE,
        "WebAclLoggingConfiguration",
        blamed="relay-alb-waf",
    ),
    Weakening(
        "waf-attached", "relay-alb-waf-association", None, REMOVE, "WebAclAssociation", blamed="relay-alb"
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_weakened_waf_setting_is_refused(case):
    assert_fires_naming_resource_property_and_fix(case)
