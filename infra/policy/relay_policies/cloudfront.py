"""CloudFront for files.<domain>: HTTPS only, modern TLS, OAC to S3, WAF in front, access logs.

Checklist: "Set up CDN for file delivery", "Configure secure file URLs", "Enable SSL/TLS",
"Add DDoS protection".
"""

from collections.abc import Iterator

from pulumi_policy import ResourceValidationArgs, StackValidationArgs

from .builders import resource_policy, stack_policy
from .graph import StackGraph
from .props import get, items, shown, violation

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
LOG_DELIVERY_SOURCE = "aws:cloudwatch/logDeliverySource:LogDeliverySource"
HTTPS_VIEWER_POLICIES = ("redirect-to-https", "https-only")
# CloudFront.15's recommended viewer policies; anything older still negotiates TLS 1.0/1.1 ciphers.
TLS_POLICIES = ("TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025")


def check_https_only(args: ResourceValidationArgs) -> Iterator[str]:
    behaviors = [("defaultCacheBehavior", args.props.get("defaultCacheBehavior"))]
    behaviors += [
        (f"orderedCacheBehaviors[{i}]", b)
        for i, b in enumerate(items(args.props.get("orderedCacheBehaviors")))
    ]
    for where, behavior in behaviors:
        policy = get(behavior, "viewerProtocolPolicy")
        if policy not in HTTPS_VIEWER_POLICIES:
            yield violation(
                args.urn,
                f"{where}.viewerProtocolPolicy",
                shown(policy),
                "viewers must only reach files over HTTPS",
                'set viewer_protocol_policy="redirect-to-https"',
            )


def check_tls_minimum(args: ResourceValidationArgs) -> Iterator[str]:
    certificate = args.props.get("viewerCertificate") or {}
    version = get(certificate, "minimumProtocolVersion")
    if get(certificate, "cloudfrontDefaultCertificate") is True or version not in TLS_POLICIES:
        yield violation(
            args.urn,
            "viewerCertificate.minimumProtocolVersion",
            shown(version, "TLSv1"),
            f"the distribution must serve an ACM certificate with one of {', '.join(TLS_POLICIES)}",
            'set acm_certificate_arn (us-east-1), ssl_support_method="sni-only", '
            'minimum_protocol_version="TLSv1.2_2021"',
        )


def check_origin_access_control(args: ResourceValidationArgs) -> Iterator[str]:
    for i, origin in enumerate(items(args.props.get("origins"))):
        oai = get(origin, "s3OriginConfig.originAccessIdentity")
        is_s3 = ".s3." in str(get(origin, "domainName", "")) or get(origin, "s3OriginConfig") is not None
        if is_s3 and (oai or not get(origin, "originAccessControlId")):
            yield violation(
                args.urn,
                f"origins[{i}].originAccessControlId",
                shown(get(origin, "originAccessControlId")),
                "S3 origins must be read through Origin Access Control, not a legacy OAI or public reads",
                "create aws.cloudfront.OriginAccessControl (sigv4, always) and set origin_access_control_id",
            )


def check_signed_urls(args: ResourceValidationArgs) -> Iterator[str]:
    behaviors = [("defaultCacheBehavior", args.props.get("defaultCacheBehavior"))]
    behaviors += [
        (f"orderedCacheBehaviors[{i}]", b)
        for i, b in enumerate(items(args.props.get("orderedCacheBehaviors")))
    ]
    for where, behavior in behaviors:
        if not items(get(behavior, "trustedKeyGroups")):
            yield violation(
                args.urn,
                f"{where}.trustedKeyGroups",
                shown(get(behavior, "trustedKeyGroups")),
                "uploaded files must only be served through short-lived signed URLs",
                "set trusted_key_groups to the aws.cloudfront.KeyGroup holding the app's signing public key",
            )


def check_waf(args: ResourceValidationArgs) -> Iterator[str]:
    if not args.props.get("webAclId"):
        yield violation(
            args.urn,
            "webAclId",
            "unset",
            "the distribution must sit behind a global (us-east-1) WAF web ACL",
            "set web_acl_id to the ARN of the CLOUDFRONT-scope aws.wafv2.WebAcl",
        )


def check_logging(args: StackValidationArgs) -> Iterator[tuple[str, str]]:
    graph = StackGraph(args.resources)
    for distribution in graph.of_type(DISTRIBUTION):
        legacy = get(distribution.props, "loggingConfig.bucket")
        v2 = [
            s
            for s in graph.referrers(distribution, "resourceArn", LOG_DELIVERY_SOURCE)
            if s.props.get("logType") == "ACCESS_LOGS"
        ]
        if not legacy and not v2:
            yield (
                distribution.urn,
                violation(
                    distribution.urn,
                    "loggingConfig",
                    "unset",
                    "every request for a file must be logged",
                    "set logging_config.bucket to the logs bucket, "
                    "or add an ACCESS_LOGS aws.cloudwatch.LogDeliverySource",
                ),
            )


POLICIES = [
    resource_policy(
        "cloudfront-https-only",
        "CloudFront.3: CloudFront distributions must require encryption in transit.",
        [DISTRIBUTION],
        check_https_only,
    ),
    resource_policy(
        "cloudfront-tls-policy",
        "CloudFront.15: CloudFront distributions must use a recommended TLS policy.",
        [DISTRIBUTION],
        check_tls_minimum,
    ),
    resource_policy(
        "cloudfront-origin-access-control",
        "CloudFront.13: CloudFront distributions must use origin access control for S3 origins.",
        [DISTRIBUTION],
        check_origin_access_control,
    ),
    resource_policy(
        "cloudfront-signed-urls",
        "Relay (no FSBP control): every CloudFront cache behavior must require URLs signed by a key group.",
        [DISTRIBUTION],
        check_signed_urls,
    ),
    resource_policy(
        "cloudfront-waf",
        "CloudFront.6: CloudFront distributions must have WAF enabled.",
        [DISTRIBUTION],
        check_waf,
    ),
    stack_policy(
        "cloudfront-logging",
        "CloudFront.5: CloudFront distributions must have logging enabled.",
        check_logging,
    ),
]
