"""CloudFront policies: HTTPS only, modern TLS, OAC, WAF and logging, each refused when weakened."""

import pytest

from .compliant_stack import compliant_stack
from .harness import Resource, policy, run_policy
from .weakening import DELETE, Weakening, assert_fires_naming_resource_property_and_fix

CDN = "relay-cdn"
CASES = [
    Weakening(
        "cloudfront-signed-urls",
        CDN,
        "defaultCacheBehavior.trustedKeyGroups",
        DELETE,
        "defaultCacheBehavior.trustedKeyGroups",
    ),
    Weakening(
        "cloudfront-signed-urls",
        CDN,
        "orderedCacheBehaviors.0.trustedKeyGroups",
        [],
        "orderedCacheBehaviors[0].trustedKeyGroups",
    ),
    Weakening(
        "cloudfront-https-only",
        CDN,
        "defaultCacheBehavior.viewerProtocolPolicy",
        "allow-all",
        "defaultCacheBehavior.viewerProtocolPolicy",
    ),
    Weakening(
        "cloudfront-https-only",
        CDN,
        "orderedCacheBehaviors.0.viewerProtocolPolicy",
        "allow-all",
        "orderedCacheBehaviors[0].viewerProtocolPolicy",
    ),
    Weakening(
        "cloudfront-tls-policy",
        CDN,
        "viewerCertificate.minimumProtocolVersion",
        "TLSv1.1_2016",
        "minimumProtocolVersion",
    ),
    Weakening(
        "cloudfront-tls-policy",
        CDN,
        "viewerCertificate",
        {"cloudfrontDefaultCertificate": True},
        "minimumProtocolVersion",
    ),
    Weakening(
        "cloudfront-origin-access-control",
        CDN,
        "origins.0.originAccessControlId",
        DELETE,
        "origins[0].originAccessControlId",
    ),
    Weakening(
        "cloudfront-origin-access-control",
        CDN,
        "origins.0.s3OriginConfig",
        {"originAccessIdentity": "origin-access-identity/cloudfront/E1"},
        "originAccessControlId",
    ),
    Weakening("cloudfront-waf", CDN, "webAclId", DELETE, "webAclId"),
    Weakening("cloudfront-logging", CDN, "loggingConfig", DELETE, "loggingConfig"),
    Weakening("waf-attached", CDN, "webAclId", DELETE, "webAclId"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_weakened_distribution_setting_is_refused(case):
    assert_fires_naming_resource_property_and_fix(case)


def test_cloudfront_waf_must_be_a_global_acl_of_the_stack():
    """A regional ACL cannot protect CloudFront; pointing the distribution at it is refused."""
    case = Weakening("waf-attached", "relay-cdn-waf", "scope", "REGIONAL", "webAclId", blamed=CDN)
    assert_fires_naming_resource_property_and_fix(case)


def test_cloudfront_logging_v2_is_an_accepted_alternative():
    stack = Weakening("cloudfront-logging", CDN, "loggingConfig", DELETE, "loggingConfig").apply(
        compliant_stack()
    )
    source = Resource(
        "aws:cloudwatch/logDeliverySource:LogDeliverySource",
        "relay-cdn-access-logs",
        {"logType": "ACCESS_LOGS", "resourceArn": "arn:cdn"},
        {"resourceArn": [CDN]},
    )
    assert run_policy(policy("cloudfront-logging"), [*stack, source], "prod") == []
