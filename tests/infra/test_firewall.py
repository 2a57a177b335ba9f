"""Firewall: managed rule groups, a per-IP rate limit and logging on both web ACLs."""

from infra.evaluation.stack_capture import capture_run, stack_config
from tests.infra.resources import by_output, config, of_type, region_of

MANAGED = {
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
}


def acls(run):
    return {acl.inputs["scope"]: acl for acl in of_type(run, "aws:wafv2/webAcl:WebAcl")}


def test_both_acls_run_the_managed_groups_and_a_per_ip_rate_limit(stack_run):
    for scope, acl in acls(stack_run).items():
        rules = acl.inputs["rules"]
        managed = {
            r["statement"]["managedRuleGroupStatement"]["name"]
            for r in rules
            if "managedRuleGroupStatement" in r["statement"]
        }
        assert managed == MANAGED, f"{acl.urn} ({scope})"
        (rate,) = [r for r in rules if "rateBasedStatement" in r["statement"]]
        assert rate["statement"]["rateBasedStatement"]["limit"] == int(
            config(stack_run, "wafRateLimitPer5Min")
        )
        assert (
            rate["statement"]["rateBasedStatement"]["aggregateKeyType"] == "IP" and "block" in rate["action"]
        )
        assert len({r["priority"] for r in rules}) == len(rules), "priorities must be unique"


def test_cloudfront_acl_lives_in_us_east_1(stack_run):
    assert region_of(stack_run, acls(stack_run)["CLOUDFRONT"]) == "us-east-1"
    assert region_of(stack_run, acls(stack_run)["REGIONAL"]) == config(stack_run, "region")


def test_body_size_rules_cannot_block_uploads_or_socket_polling(stack_run):
    common = next(
        r for r in acls(stack_run)["REGIONAL"].inputs["rules"] if r["name"] == "AWSManagedRulesCommonRuleSet"
    )
    overrides = common["statement"]["managedRuleGroupStatement"]["ruleActionOverrides"]
    assert {"name": "SizeRestrictions_BODY", "actionToUse": {"count": {}}} in overrides


def test_each_acl_logs_to_an_aws_waf_logs_group_in_its_region(stack_run):
    configs = of_type(stack_run, "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
    assert len(configs) == 2
    for logging in configs:
        acl = by_output(stack_run, "arn")[logging.inputs["resourceArn"]]
        (destination,) = logging.inputs["logDestinationConfigs"]
        group = by_output(stack_run, "arn")[destination]
        assert group.inputs["name"].startswith("aws-waf-logs-")
        assert region_of(stack_run, group) == region_of(stack_run, acl) == region_of(stack_run, logging)
        redacted = {f["singleHeader"]["name"] for f in logging.inputs["redactedFields"]}
        assert redacted == {"authorization", "cookie"}


def test_shield_advanced_is_off_unless_configured(stack_run):
    assert of_type(stack_run, "aws:shield/subscription:Subscription") == []
    assert of_type(stack_run, "aws:shield/protection:Protection") == []


def test_shield_advanced_by_config_protects_the_alb_and_the_distribution():
    run = capture_run("prod", config={**stack_config("prod"), "relay:shieldAdvanced": "true"})
    assert run.error is None, run.error
    assert len(of_type(run, "aws:shield/subscription:Subscription")) == 1
    protected = {
        by_output(run, "arn")[p.inputs["resourceArn"]].type
        for p in of_type(run, "aws:shield/protection:Protection")
    }
    assert protected == {"aws:lb/loadBalancer:LoadBalancer", "aws:cloudfront/distribution:Distribution"}
