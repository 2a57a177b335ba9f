"""ElastiCache Redis (replication group, cluster mode disabled): encrypted, authenticated, resilient.

Checklist: "Configure Socket.IO for production", "Set up sticky sessions" (the Redis pub/sub,
presence and rate limits live here; DESIGN.md §5: failover, TLS, AUTH, at-rest encryption, snapshots).
"""

from collections.abc import Iterator

from pulumi_policy import ResourceValidationArgs

from .builders import resource_policy
from .props import items, shown, violation
from .thresholds import minimum_days, minimum_days_schema, required_flag, required_flag_schema

REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
PROD_SNAPSHOT_DAYS = 7


def check_at_rest(args: ResourceValidationArgs) -> Iterator[str]:
    value = args.props.get("atRestEncryptionEnabled")
    if value is not True:
        yield violation(
            args.urn,
            "atRestEncryptionEnabled",
            shown(value, False),
            "Redis data must be encrypted at rest",
            "set at_rest_encryption_enabled=True with kms_key_id of the stack's KMS key",
        )


def check_in_transit(args: ResourceValidationArgs) -> Iterator[str]:
    value = args.props.get("transitEncryptionEnabled")
    mode = args.props.get("transitEncryptionMode")
    if value is not True:
        yield violation(
            args.urn,
            "transitEncryptionEnabled",
            shown(value, False),
            "clients must reach Redis over TLS",
            "set transit_encryption_enabled=True and connect with rediss://",
        )
    elif mode == "preferred":
        yield violation(
            args.urn,
            "transitEncryptionMode",
            shown(mode),
            "plaintext connections must be refused",
            'set transit_encryption_mode="required" (or leave it unset)',
        )


def check_auth(args: ResourceValidationArgs) -> Iterator[str]:
    token = args.props.get("authToken") or args.props.get("authTokenWo")
    if not token and not items(args.props.get("userGroupIds")):
        yield violation(
            args.urn,
            "authToken/authTokenWo/userGroupIds",
            "unset",
            "clients must authenticate to Redis",
            "set auth_token from a Secrets Manager random password (or user_group_ids for RBAC)",
        )


def check_failover(args: ResourceValidationArgs) -> Iterator[str]:
    if not required_flag("elasticache-automatic-failover", args.get_config()):
        return
    value = args.props.get("automaticFailoverEnabled")
    if value is not True:
        yield violation(
            args.urn,
            "automaticFailoverEnabled",
            shown(value, False),
            "a replica must take over when the primary fails",
            "set automatic_failover_enabled=True with num_cache_clusters >= 2",
        )


def check_multi_az(args: ResourceValidationArgs) -> Iterator[str]:
    if not required_flag("elasticache-multi-az", args.get_config()):
        return
    value = args.props.get("multiAzEnabled")
    if value is not True:
        yield violation(
            args.urn,
            "multiAzEnabled",
            shown(value, False),
            "replicas must live in another AZ",
            "set multi_az_enabled=True (relax only in staging via elasticache-multi-az.required=false)",
        )


def check_snapshots(args: ResourceValidationArgs) -> Iterator[str]:
    days = minimum_days("elasticache-snapshot-retention", args.get_config(), PROD_SNAPSHOT_DAYS)
    value = args.props.get("snapshotRetentionLimit")
    if (value or 0) < days:
        yield violation(
            args.urn,
            "snapshotRetentionLimit",
            shown(value, 0),
            f"daily snapshots must be kept at least {days} days (AWS Backup does not cover ElastiCache)",
            f"set snapshot_retention_limit to {days} or more and a snapshot_window",
        )


POLICIES = [
    resource_policy(
        "elasticache-at-rest-encryption",
        "ElastiCache.4: ElastiCache replication groups must be encrypted at rest.",
        [REPLICATION_GROUP],
        check_at_rest,
    ),
    resource_policy(
        "elasticache-in-transit-encryption",
        "ElastiCache.5: ElastiCache replication groups must be encrypted in transit.",
        [REPLICATION_GROUP],
        check_in_transit,
    ),
    resource_policy(
        "elasticache-auth",
        "ElastiCache.6: ElastiCache replication groups must require AUTH.",
        [REPLICATION_GROUP],
        check_auth,
    ),
    resource_policy(
        "elasticache-automatic-failover",
        "ElastiCache.3: ElastiCache replication groups must have automatic failover enabled.",
        [REPLICATION_GROUP],
        check_failover,
        required_flag_schema("automatic failover"),
    ),
    resource_policy(
        "elasticache-multi-az",
        "Relay (no FSBP control): ElastiCache replication groups must be Multi-AZ.",
        [REPLICATION_GROUP],
        check_multi_az,
        required_flag_schema("Multi-AZ"),
    ),
    resource_policy(
        "elasticache-snapshot-retention",
        "ElastiCache.1: ElastiCache (Redis OSS) must keep automatic backups for the minimum period.",
        [REPLICATION_GROUP],
        check_snapshots,
        minimum_days_schema(PROD_SNAPSHOT_DAYS, "snapshot retention"),
    ),
]
