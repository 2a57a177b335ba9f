"""Cdn: CloudFront in front of the private uploads bucket, for files.<domain>.

Reads reach S3 only through Origin Access Control, and only with a URL signed by the app's key
(trusted key group), so a leaked object key is not enough to read a file. CloudFront's
certificate and its global WAF live in us-east-1, as AWS requires.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.certificate import ValidatedCertificate, ValidatedCertificateArgs

US_EAST_1 = "us-east-1"
CACHING_OPTIMIZED_POLICY_ID = "658327ea-f89d-4fab-a63d-7e88639e58f6"  # AWS managed cache policy


@dataclass(frozen=True)
class CdnArgs:
    domain_name: str  # files.<domain>
    zone_id: str
    origin_domain_name: pulumi.Input[str]  # the uploads bucket's regional domain name
    signer_public_key_pem: str
    web_acl_arn: pulumi.Input[str]  # global (CLOUDFRONT-scope) WAF
    log_bucket_arn: pulumi.Input[str]
    price_class: str
    shield_advanced: bool


class Cdn(pulumi.ComponentResource):
    def __init__(self, name: str, args: CdnArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("relay:cdn:Cdn", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        certificate = ValidatedCertificate(
            f"{name}-certificate",
            ValidatedCertificateArgs(domain_name=args.domain_name, zone_id=args.zone_id, region=US_EAST_1),
            opts=child,
        )
        access = aws.cloudfront.OriginAccessControl(
            f"{name}-oac",
            name=f"{name}-uploads",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=child,
        )
        public_key = aws.cloudfront.PublicKey(
            f"{name}-signer-key",
            encoded_key=args.signer_public_key_pem,
            comment="Relay app URL signer",
            opts=child,
        )
        key_group = aws.cloudfront.KeyGroup(
            f"{name}-signers", name=f"{name}-signers", items=[public_key.id], opts=child
        )
        headers = aws.cloudfront.ResponseHeadersPolicy(
            f"{name}-security-headers",
            name=f"{name}-security-headers",
            security_headers_config={
                "strict_transport_security": {
                    "access_control_max_age_sec": 31_536_000,
                    "include_subdomains": True,
                    "override": True,
                },
                "content_type_options": {"override": True},
                "frame_options": {"frame_option": "DENY", "override": True},
                "referrer_policy": {"referrer_policy": "strict-origin-when-cross-origin", "override": True},
            },
            opts=child,
        )
        origin_id = "uploads"
        self.distribution = aws.cloudfront.Distribution(
            f"{name}-distribution",
            enabled=True,
            comment=f"Relay files ({args.domain_name})",
            aliases=[args.domain_name],
            is_ipv6_enabled=True,
            http_version="http2and3",
            price_class=args.price_class,
            web_acl_id=args.web_acl_arn,
            origins=[
                {
                    "origin_id": origin_id,
                    "domain_name": args.origin_domain_name,
                    "origin_access_control_id": access.id,
                }
            ],
            default_cache_behavior={
                "target_origin_id": origin_id,
                "viewer_protocol_policy": "https-only",
                "allowed_methods": ["GET", "HEAD"],
                "cached_methods": ["GET", "HEAD"],
                "compress": True,
                "cache_policy_id": CACHING_OPTIMIZED_POLICY_ID,
                "response_headers_policy_id": headers.id,
                "trusted_key_groups": [key_group.id],
            },
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            viewer_certificate={
                "acm_certificate_arn": certificate.arn,
                "ssl_support_method": "sni-only",
                "minimum_protocol_version": "TLSv1.2_2021",
            },
            opts=child,
        )
        self._access_logs(name, args)
        for record_type in ("A", "AAAA"):
            aws.route53.Record(
                f"{name}-alias-{record_type.lower()}",
                zone_id=args.zone_id,
                name=args.domain_name,
                type=record_type,
                aliases=[
                    {
                        "name": self.distribution.domain_name,
                        "zone_id": self.distribution.hosted_zone_id,
                        "evaluate_target_health": False,
                    }
                ],
                opts=child,
            )
        if args.shield_advanced:
            aws.shield.Protection(
                f"{name}-shield", name=f"{name}-distribution", resource_arn=self.distribution.arn, opts=child
            )
        # Per-status error rates (502, 504: the origin failed) for the CloudFrontOriginErrors alarm;
        # without this subscription CloudFront publishes only the 4xx/5xx totals.
        aws.cloudfront.MonitoringSubscription(
            f"{name}-additional-metrics",
            distribution_id=self.distribution.id,
            monitoring_subscription={
                "realtime_metrics_subscription_config": {"realtime_metrics_subscription_status": "Enabled"}
            },
            opts=child,
        )
        self.distribution_id = self.distribution.id
        self.distribution_arn = self.distribution.arn
        self.key_pair_id = public_key.id  # the app signs URLs with the matching private key
        self.register_outputs({"distribution_id": self.distribution_id, "domain_name": args.domain_name})

    def _access_logs(self, name: str, args: CdnArgs) -> None:
        """Standard logging v2 (CloudWatch vended logs) to S3: no ACL-enabled bucket needed."""
        child = pulumi.ResourceOptions(parent=self)
        source = aws.cloudwatch.LogDeliverySource(
            f"{name}-log-source",
            name=f"{name}-cloudfront",
            log_type="ACCESS_LOGS",
            resource_arn=self.distribution.arn,
            region=US_EAST_1,
            opts=child,
        )
        destination = aws.cloudwatch.LogDeliveryDestination(
            f"{name}-log-destination",
            name=f"{name}-cloudfront-s3",
            output_format="json",
            delivery_destination_configuration={"destination_resource_arn": args.log_bucket_arn},
            region=US_EAST_1,
            opts=child,
        )
        aws.cloudwatch.LogDelivery(
            f"{name}-log-delivery",
            delivery_source_name=source.name,
            delivery_destination_arn=destination.arn,
            s3_delivery_configurations=[{"suffix_path": "cloudfront/{yyyy}/{MM}/{dd}/{HH}"}],
            region=US_EAST_1,
            opts=child,
        )
