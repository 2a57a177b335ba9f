"""Which buckets a stack has, what role each plays, and the companion resources that configure them.

pulumi-aws 7 configures a bucket through separate resources (public access block, policy,
encryption, versioning, lifecycle, ownership, logging, replication) that point at it through
their `bucket` property. A bucket's role decides what it needs: log buckets (targets of S3 server
access logs, ALB access logs, CloudFront legacy logs) must accept SSE-S3 because those delivery
services do not write to SSE-KMS buckets; every other bucket holds data and needs KMS.
"""

import json
from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource

from .graph import StackGraph

BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
PUBLIC_ACCESS_BLOCK = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)
BUCKET_POLICY = ("aws:s3/bucketPolicy:BucketPolicy",)
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
)
VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
LIFECYCLE = (
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
)
OWNERSHIP = ("aws:s3/bucketOwnershipControls:BucketOwnershipControls",)
LOGGING = ("aws:s3/bucketLogging:BucketLogging", "aws:s3/bucketLoggingV2:BucketLoggingV2")
ACL = ("aws:s3/bucketAcl:BucketAcl", "aws:s3/bucketAclV2:BucketAclV2")
REPLICATION = ("aws:s3/bucketReplicationConfig:BucketReplicationConfig",)
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
DISTRIBUTION = ("aws:cloudfront/distribution:Distribution",)


class Buckets:
    """The buckets of one stack with their roles and companions."""

    def __init__(self, graph: StackGraph) -> None:
        self.graph = graph
        self.all = graph.of_type(*BUCKET_TYPES)

    def companions(self, bucket: PolicyResource, types: tuple[str, ...]) -> list[PolicyResource]:
        return self.graph.referrers(bucket, "bucket", *types)

    def is_server_access_log_target(self, bucket: PolicyResource) -> bool:
        return bool(self.graph.referrers(bucket, "targetBucket", *LOGGING))

    def is_alb_log_target(self, bucket: PolicyResource) -> bool:
        return bool(self.graph.referrers(bucket, "accessLogs", *LOAD_BALANCERS))

    def is_cloudfront_legacy_log_target(self, bucket: PolicyResource) -> bool:
        return bool(self.graph.referrers(bucket, "loggingConfig", *DISTRIBUTION))

    def is_log_bucket(self, bucket: PolicyResource) -> bool:
        return (
            self.is_server_access_log_target(bucket)
            or self.is_alb_log_target(bucket)
            or self.is_cloudfront_legacy_log_target(bucket)
        )

    def is_replica(self, bucket: PolicyResource) -> bool:
        return bool(self.graph.referrers(bucket, "rules", *REPLICATION))

    def data_buckets(self) -> list[PolicyResource]:
        return [b for b in self.all if not self.is_log_bucket(b)]

    def primary_data_buckets(self) -> list[PolicyResource]:
        """Data buckets the app writes to (not replicas): the uploads bucket."""
        return [b for b in self.data_buckets() if not self.is_replica(b)]


def policy_document(value: Any) -> Mapping[str, Any]:
    """A bucket policy as a mapping, whether the program passed JSON text or an object."""
    if isinstance(value, Mapping):
        return value
    if isinstance(value, str) and value.strip():
        return json.loads(value)
    return {}


def statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = document.get("Statement", [])
    return [found] if isinstance(found, Mapping) else list(found)
