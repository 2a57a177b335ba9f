"""Storage: the uploads bucket, its replica in the backup region, the log bucket, and the CDN.

Browsers upload straight to the uploads bucket with presigned POSTs (hence CORS for the app
origin) and read through CloudFront signed URLs. Objects replicate to a bucket in the backup
region, encrypted with a key that lives there, so a regional loss or a deleted key here does
not take the files with it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.buckets import PrivateBucket, PrivateBucketArgs
from infra.cdn import Cdn, CdnArgs
from infra.keys import account_id, encryption_key, key_policy, service_may_use

REPLICATION_RULE = "all-objects-to-backup-region"


@dataclass(frozen=True)
class StorageArgs:
    name_prefix: str  # relay-<environment>; bucket names add the account id to be globally unique
    region: str
    backup_region: str
    app_origin: str  # https://<domain>: the only origin allowed to POST uploads
    files_domain: str
    zone_id: str
    cdn_signer_public_key_pem: str
    cdn_web_acl_arn: pulumi.Input[str]
    cdn_price_class: str
    shield_advanced: bool
    noncurrent_version_days: int
    access_log_retention_days: int


class Storage(pulumi.ComponentResource):
    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("relay:storage:Storage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        account = account_id(self)
        names = {
            role: pulumi.Output.concat(args.name_prefix, f"-{role}-", account)
            for role in ("uploads", "replica", "logs")
        }
        uploads_arn = pulumi.Output.concat("arn:aws:s3:::", names["uploads"])

        # SSE-S3, not KMS: ALB access logs can only be written to SSE-S3 buckets.
        self.logs = PrivateBucket(
            f"{name}-logs",
            PrivateBucketArgs(
                bucket_name=names["logs"],
                noncurrent_version_days=30,
                expire_after_days=args.access_log_retention_days,
                extra_statements=_log_delivery_statements(names["logs"], account, args.region, self),
            ),
            opts=child,
        )
        self.cdn = Cdn(
            f"{name}-cdn",
            CdnArgs(
                domain_name=args.files_domain,
                zone_id=args.zone_id,
                origin_domain_name=pulumi.Output.concat(names["uploads"], f".s3.{args.region}.amazonaws.com"),
                signer_public_key_pem=args.cdn_signer_public_key_pem,
                web_acl_arn=args.cdn_web_acl_arn,
                log_bucket_arn=self.logs.arn,
                price_class=args.cdn_price_class,
                shield_advanced=args.shield_advanced,
            ),
            opts=child,
        )
        # OAC reads decrypt with this key, and only for our distribution.
        cloudfront_reads = {"StringEquals": {"AWS:SourceArn": self.cdn.distribution_arn}}
        self.key = encryption_key(
            f"{name}-uploads-key",
            "uploads bucket",
            self,
            policy=key_policy(
                account,
                [service_may_use("cloudfront.amazonaws.com", ["kms:Decrypt"], cloudfront_reads)],
            ),
        )
        self.uploads = PrivateBucket(
            f"{name}-uploads",
            PrivateBucketArgs(
                bucket_name=names["uploads"],
                kms_key_arn=self.key.arn,
                noncurrent_version_days=args.noncurrent_version_days,
                access_log_bucket=self.logs.id,
                extra_statements=pulumi.Output.all(uploads_arn, self.cdn.distribution_arn).apply(
                    lambda v: [
                        {
                            "Sid": "CloudFrontReadsThroughOac",
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudfront.amazonaws.com"},
                            "Action": "s3:GetObject",
                            "Resource": f"{v[0]}/*",
                            "Condition": {"StringEquals": {"AWS:SourceArn": v[1]}},
                        }
                    ]
                ),
            ),
            opts=child,
        )
        aws.s3.BucketCorsConfiguration(
            f"{name}-uploads-cors",
            bucket=self.uploads.id,
            cors_rules=[
                {
                    "allowed_origins": [args.app_origin],
                    "allowed_methods": ["POST", "GET", "HEAD"],
                    "allowed_headers": ["*"],
                    "expose_headers": ["ETag"],
                    "max_age_seconds": 3600,
                }
            ],
            opts=child,
        )
        self.replica_bucket_name = self._replicate(name, args, names["replica"])
        self.uploads_bucket_name = self.uploads.id
        self.uploads_bucket_arn = self.uploads.arn
        self.uploads_key_arn = self.key.arn
        self.logs_bucket_name = self.logs.id
        self.distribution_id = self.cdn.distribution_id
        self.cdn_key_pair_id = self.cdn.key_pair_id
        self.register_outputs({"uploads_bucket": self.uploads_bucket_name, "files_domain": args.files_domain})

    def _replicate(
        self, name: str, args: StorageArgs, replica_name: pulumi.Output[str]
    ) -> pulumi.Output[str]:
        replica_key = encryption_key(
            f"{name}-replica-key", "uploads replica", self, region=args.backup_region
        )
        replica = PrivateBucket(
            f"{name}-replica",
            PrivateBucketArgs(
                bucket_name=replica_name,
                kms_key_arn=replica_key.arn,
                region=args.backup_region,
                noncurrent_version_days=args.noncurrent_version_days,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        role = aws.iam.Role(
            f"{name}-replication-role",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "s3.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.RolePolicy(
            f"{name}-replication-policy",
            role=role.id,
            policy=pulumi.Output.all(self.uploads.arn, replica.arn, self.key.arn, replica_key.arn).apply(
                lambda v: _replication_policy(*v)
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.s3.BucketReplicationConfig(
            f"{name}-replication",
            bucket=self.uploads.id,
            role=role.arn,
            rules=[
                {
                    "id": REPLICATION_RULE,
                    "status": "Enabled",
                    "filter": {},
                    "delete_marker_replication": {"status": "Enabled"},
                    "source_selection_criteria": {"sse_kms_encrypted_objects": {"status": "Enabled"}},
                    "destination": {
                        "bucket": replica.arn,
                        "storage_class": "STANDARD_IA",
                        "encryption_configuration": {"replica_kms_key_id": replica_key.arn},
                        # Publishes OperationsFailedReplication, which the S3ReplicationFailures alarm
                        # watches: a failed copy is otherwise silent.
                        "metrics": {"status": "Enabled"},
                    },
                }
            ],
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.uploads.versioning, replica.versioning]
            ),
        )
        return replica.id


def _log_delivery_statements(
    bucket_name: pulumi.Output[str], account: pulumi.Output[str], region: str, parent: pulumi.Resource
) -> pulumi.Output[list[dict]]:
    """Who may write into the log bucket: the ALB, S3 server access logging, CloudFront logging v2."""
    # Through the parent's (explicit) AWS provider: the stack disables the default one.
    elb_account = aws.elb.get_service_account_output(
        region=region, opts=pulumi.InvokeOutputOptions(parent=parent)
    ).arn

    def render(values: list[str]) -> list[dict]:
        bucket, acct, elb = values
        same_account = {"StringEquals": {"aws:SourceAccount": acct}}
        return [
            {
                "Sid": "AlbAccessLogs",
                "Effect": "Allow",
                "Principal": {"AWS": elb},
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/alb/AWSLogs/{acct}/*",
            },
            {
                "Sid": "AlbAccessLogsDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/alb/AWSLogs/{acct}/*",
            },
            {
                "Sid": "S3ServerAccessLogs",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/s3/*",
                "Condition": same_account,
            },
            {
                "Sid": "CloudFrontStandardLogsV2",
                "Effect": "Allow",
                "Principal": {"Service": "delivery.logs.amazonaws.com"},
                "Action": "s3:PutObject",
                # Vended logs choose the key (AWSLogs/<account>/CloudFront/...<suffix>); the
                # account condition keeps every other account's deliveries out.
                "Resource": f"arn:aws:s3:::{bucket}/*",
                "Condition": same_account,
            },
        ]

    return pulumi.Output.all(bucket_name, account, elb_account).apply(render)


def _replication_policy(source: str, replica: str, source_key: str, replica_key: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                    "Resource": source,
                },
                {
                    "Effect": "Allow",
                    "Action": [
                        "s3:GetObjectVersionForReplication",
                        "s3:GetObjectVersionAcl",
                        "s3:GetObjectVersionTagging",
                    ],
                    "Resource": f"{source}/*",
                },
                {
                    "Effect": "Allow",
                    "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                    "Resource": f"{replica}/*",
                },
                {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": source_key},
                {
                    "Effect": "Allow",
                    "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
                    "Resource": replica_key,
                },
            ],
        }
    )
