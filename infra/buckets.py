"""PrivateBucket: an S3 bucket with every guard Relay requires, whatever it holds.

All four public-access blocks, ownership enforced (ACLs off), a TLS-only deny, default
encryption (KMS for data, SSE-S3 where AWS requires it, as for ALB access logs), versioning,
and a lifecycle that bounds old versions and stale multipart uploads. No argument turns any of
these off: staging gets the same bucket as production.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class PrivateBucketArgs:
    bucket_name: pulumi.Input[str]
    noncurrent_version_days: int
    kms_key_arn: pulumi.Input[str] | None = None  # None: SSE-S3 (AES256), for services that cannot use KMS
    region: str | None = None  # None: the provider's region
    expire_after_days: int | None = None  # logs expire; data does not
    access_log_bucket: pulumi.Input[str] | None = None  # where S3 server access logs go
    # Extra bucket-policy statements (the TLS-only deny is always added).
    extra_statements: pulumi.Input[Sequence[Mapping[str, Any]]] = field(default_factory=list)
    protect: bool = True  # data and audit trails survive a stray `pulumi destroy`


class PrivateBucket(pulumi.ComponentResource):
    def __init__(self, name: str, args: PrivateBucketArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("relay:buckets:PrivateBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        where = {"region": args.region} if args.region else {}
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=args.bucket_name,
            force_destroy=False,
            **where,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            **where,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=self.bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            **where,
            opts=child,
        )
        encryption = (
            {"sse_algorithm": "aws:kms", "kms_master_key_id": args.kms_key_arn}
            if args.kms_key_arn is not None
            else {"sse_algorithm": "AES256"}
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=self.bucket.id,
            rules=[{"apply_server_side_encryption_by_default": encryption, "bucket_key_enabled": True}],
            **where,
            opts=child,
        )
        self.versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=self.bucket.id,
            versioning_configuration={"status": "Enabled"},
            **where,
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=self.bucket.id,
            rules=[self._lifecycle_rule(args)],
            **where,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.versioning]),
        )
        if args.access_log_bucket is not None:
            aws.s3.BucketLogging(
                f"{name}-access-logs",
                bucket=self.bucket.id,
                target_bucket=args.access_log_bucket,
                target_prefix=pulumi.Output.concat("s3/", self.bucket.id, "/"),
                **where,
                opts=child,
            )
        # The policy is applied after the public-access block, so it can never be public.
        policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=self.bucket.id,
            policy=pulumi.Output.all(self.bucket.arn, args.extra_statements).apply(
                lambda values: _policy(values[0], values[1])
            ),
            **where,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[block]),
        )
        # Whoever takes the name or ARN from here waits for the policy: an ALB or a log delivery
        # refuses a bucket whose policy does not yet let it write.
        self.id = pulumi.Output.all(self.bucket.id, policy.id).apply(lambda v: v[0])
        self.arn = pulumi.Output.all(self.bucket.arn, policy.id).apply(lambda v: v[0])
        self.register_outputs({"id": self.id, "arn": self.arn})

    @staticmethod
    def _lifecycle_rule(args: PrivateBucketArgs) -> dict[str, Any]:
        rule: dict[str, Any] = {
            "id": "bound-versions-and-uploads",
            "status": "Enabled",
            "filter": {},
            "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
            "noncurrent_version_expiration": {"noncurrent_days": args.noncurrent_version_days},
        }
        if args.expire_after_days is not None:
            rule["expiration"] = {"days": args.expire_after_days}
        return rule


def _policy(bucket_arn: str, extra: Sequence[Mapping[str, Any]]) -> str:
    deny_plain_http = {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [deny_plain_http, *extra]})
