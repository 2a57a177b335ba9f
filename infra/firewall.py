"""Firewall: WAFv2 web ACLs for the ALB (regional) and CloudFront (global, in us-east-1).

Both run the AWS managed IP-reputation, Common, KnownBadInputs and SQLi rule groups and a
per-IP rate limit, and log to CloudWatch Logs groups named `aws-waf-logs-*` (WAF refuses other
names). Associations live with the protected resource (Edge, Cdn), which is created later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

US_EAST_1 = "us-east-1"

# Regional ACL only: the ALB carries chat traffic. Socket.IO polling POSTs and JSON bodies exceed
# the Common set's 8 KB body rule, and users paste code, which the XSS/SQLi *body* rules mistake
# for attacks. Those rules count instead of block; the app bounds bodies (64 KiB), escapes output
# and binds every SQL parameter.
REGIONAL_COUNT_ONLY = {
    "AWSManagedRulesCommonRuleSet": ("SizeRestrictions_BODY", "CrossSiteScripting_BODY"),
    "AWSManagedRulesSQLiRuleSet": ("SQLi_BODY",),
}
MANAGED_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
)


@dataclass(frozen=True)
class FirewallArgs:
    rate_limit_per_5min: int  # requests per client IP per 5 minutes before WAF blocks it
    log_retention_days: int
    shield_advanced: bool  # subscribes the account (USD 3,000/month, one-year term)


class Firewall(pulumi.ComponentResource):
    def __init__(self, name: str, args: FirewallArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("relay:firewall:Firewall", name, None, opts)
        self.regional_acl = self._web_acl(f"{name}-regional", "REGIONAL", None, args, REGIONAL_COUNT_ONLY)
        self.global_acl = self._web_acl(f"{name}-global", "CLOUDFRONT", US_EAST_1, args, {})
        if args.shield_advanced:
            aws.shield.Subscription(
                f"{name}-shield",
                auto_renew="ENABLED",
                skip_destroy=True,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.regional_acl_name = f"{name}-regional"
        self.global_acl_name = f"{name}-global"
        self.regional_acl_arn = self.regional_acl.arn
        self.global_acl_arn = self.global_acl.arn
        self.register_outputs(
            {"regional_acl_arn": self.regional_acl_arn, "global_acl_arn": self.global_acl_arn}
        )

    def _web_acl(
        self,
        name: str,
        scope: str,
        region: str | None,
        args: FirewallArgs,
        count_only: dict[str, tuple[str, ...]],
    ) -> aws.wafv2.WebAcl:
        child = pulumi.ResourceOptions(parent=self)
        where = {"region": region} if region else {}
        rules = [
            _managed_rule(group, priority, count_only.get(group, ()))
            for priority, group in enumerate(MANAGED_GROUPS)
        ]
        rules.append(
            {
                "name": "per-ip-rate-limit",
                "priority": len(rules),
                "action": {"block": {}},
                "statement": {
                    "rate_based_statement": {
                        "limit": args.rate_limit_per_5min,
                        "aggregate_key_type": "IP",
                        "evaluation_window_sec": 300,
                    }
                },
                "visibility_config": _visibility("per-ip-rate-limit"),
            }
        )
        acl = aws.wafv2.WebAcl(
            f"{name}-acl",
            name=name,
            scope=scope,
            default_action={"allow": {}},
            rules=rules,
            visibility_config=_visibility(name),
            **where,
            opts=child,
        )
        group = aws.cloudwatch.LogGroup(
            f"{name}-waf-logs",
            name=f"aws-waf-logs-{name}",
            retention_in_days=args.log_retention_days,
            **where,
            opts=child,
        )
        aws.wafv2.WebAclLoggingConfiguration(
            f"{name}-logging",
            resource_arn=acl.arn,
            log_destination_configs=[group.arn],
            # Session tokens travel in these; logs must not hold credentials.
            redacted_fields=[
                {"single_header": {"name": "authorization"}},
                {"single_header": {"name": "cookie"}},
            ],
            **where,
            opts=child,
        )
        return acl


def _managed_rule(group: str, priority: int, count_only: tuple[str, ...]) -> dict[str, Any]:
    statement: dict[str, Any] = {"name": group, "vendor_name": "AWS"}
    if count_only:
        statement["rule_action_overrides"] = [
            {"name": rule, "action_to_use": {"count": {}}} for rule in count_only
        ]
    return {
        "name": group,
        "priority": priority,
        "override_action": {"none": {}},
        "statement": {"managed_rule_group_statement": statement},
        "visibility_config": _visibility(group),
    }


def _visibility(metric: str) -> dict[str, Any]:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric, "sampled_requests_enabled": True}
