"""WAF web ACLs (regional for the ALB, global for CloudFront): managed rules, rate limit, logging,
and attached to both edges.

Checklist: "Configure rate limiting", "Add DDoS protection". The ALB association is its own
resource, so attachment is checked across the stack.
"""

from collections.abc import Iterator

from pulumi_policy import ResourceValidationArgs, StackValidationArgs

from .builders import resource_policy, stack_policy
from .graph import StackGraph
from .props import get, items, violation

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"


def rule_statements(args: ResourceValidationArgs) -> list:
    return [get(rule, "statement") or {} for rule in items(args.props.get("rules"))]


def check_managed_rules(args: ResourceValidationArgs) -> Iterator[str]:
    if not any(get(s, "managedRuleGroupStatement.name") for s in rule_statements(args)):
        yield violation(
            args.urn,
            "rules[].statement.managedRuleGroupStatement",
            "absent",
            "the web ACL must run AWS managed rule groups",
            "add AWSManagedRulesCommonRuleSet and AWSManagedRulesKnownBadInputsRuleSet rules "
            "(exclude SizeRestrictions_BODY for the upload paths)",
        )


def check_rate_rule(args: ResourceValidationArgs) -> Iterator[str]:
    if not any(get(s, "rateBasedStatement.limit") for s in rule_statements(args)):
        yield violation(
            args.urn,
            "rules[].statement.rateBasedStatement",
            "absent",
            "the web ACL must cap requests per client IP",
            'add a rule with rate_based_statement={limit: <relay:wafRateLimit>, aggregate_key_type: "IP"}',
        )


def check_logging(args: StackValidationArgs) -> Iterator[tuple[str, str]]:
    graph = StackGraph(args.resources)
    for acl in graph.of_type(WEB_ACL):
        if not graph.referrers(acl, "resourceArn", LOGGING):
            yield (
                acl.urn,
                violation(
                    acl.urn,
                    "WebAclLoggingConfiguration",
                    "missing",
                    "every web ACL must log its decisions",
                    "add aws.wafv2.WebAclLoggingConfiguration to an aws-waf-logs-* log group",
                ),
            )


def check_attached(args: StackValidationArgs) -> Iterator[tuple[str, str]]:
    graph = StackGraph(args.resources)
    for balancer in graph.of_type(*LOAD_BALANCERS):
        if (balancer.props.get("loadBalancerType") or "application") != "application" or balancer.props.get(
            "internal"
        ):
            continue
        if not graph.referrers(balancer, "resourceArn", ASSOCIATION):
            yield (
                balancer.urn,
                violation(
                    balancer.urn,
                    "WebAclAssociation",
                    "missing",
                    "the internet-facing ALB must sit behind the regional WAF web ACL",
                    "add aws.wafv2.WebAclAssociation(resource_arn=alb.arn, web_acl_arn=acl.arn)",
                ),
            )
    for distribution in graph.of_type(DISTRIBUTION):
        acls = graph.referenced(distribution, "webAclId", WEB_ACL)
        if not any(acl.props.get("scope") == "CLOUDFRONT" for acl in acls):
            yield (
                distribution.urn,
                violation(
                    distribution.urn,
                    "webAclId",
                    "not a CLOUDFRONT-scope web ACL of this stack",
                    "the distribution must sit behind the global WAF web ACL",
                    "set web_acl_id to the ARN of the CLOUDFRONT-scope aws.wafv2.WebAcl (us-east-1)",
                ),
            )


POLICIES = [
    resource_policy(
        "waf-managed-rules",
        "WAF.10: WAF web ACLs must contain AWS managed rule groups.",
        [WEB_ACL],
        check_managed_rules,
    ),
    resource_policy(
        "waf-rate-limit",
        "Relay (no FSBP control): WAF web ACLs must contain a rate-based rule.",
        [WEB_ACL],
        check_rate_rule,
    ),
    stack_policy("waf-logging", "WAF.11: AWS WAF web ACL logging must be enabled.", check_logging),
    stack_policy(
        "waf-attached",
        "ELB.16/CloudFront.6: the ALB and the CloudFront distribution must be behind WAF.",
        check_attached,
    ),
]
