"""ValidatedCertificate: an ACM certificate proven through a DNS record in our Route 53 zone."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class ValidatedCertificateArgs:
    domain_name: str
    zone_id: str
    region: str | None = None  # CloudFront certificates must live in us-east-1


class ValidatedCertificate(pulumi.ComponentResource):
    def __init__(self, name: str, args: ValidatedCertificateArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("relay:certificate:ValidatedCertificate", name, None, opts)
        where = {"region": args.region} if args.region else {}
        # Created before the old one is deleted, so a listener is never without a certificate.
        certificate = aws.acm.Certificate(
            f"{name}-cert",
            domain_name=args.domain_name,
            validation_method="DNS",
            key_algorithm="EC_prime256v1",
            **where,
            opts=pulumi.ResourceOptions(parent=self),
        )
        option = certificate.domain_validation_options.apply(
            lambda options: next(o for o in options if o.domain_name == args.domain_name)
        )
        # One known domain, so one record: built from outputs, not inside an apply.
        record = aws.route53.Record(
            f"{name}-validation",
            zone_id=args.zone_id,
            name=option.resource_record_name,
            type=option.resource_record_type,
            records=[option.resource_record_value],
            ttl=300,
            allow_overwrite=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        validation = aws.acm.CertificateValidation(
            f"{name}-validation-wait",
            certificate_arn=certificate.arn,
            validation_record_fqdns=[record.fqdn],
            **where,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.arn = validation.certificate_arn
        self.register_outputs({"arn": self.arn})
