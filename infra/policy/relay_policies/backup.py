"""Backup coverage of every stateful resource, as DESIGN.md §5 defines it.

RDS: automated backups and an AWS Backup selection whose plan copies to another region.
Redis: snapshot retention of at least a day (AWS Backup does not cover ElastiCache).
S3 data buckets: versioning and replication. Checklist: "Database backup solution",
"File storage backup", "Disaster recovery plan".
"""

from collections.abc import Iterator

from pulumi_policy import PolicyResource, StackValidationArgs

from .builders import stack_policy
from .graph import StackGraph
from .props import get, items, shown, violation
from .s3_buckets import REPLICATION, VERSIONING, Buckets

RDS_INSTANCE = "aws:rds/instance:Instance"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
BACKUP_PLAN = "aws:backup/plan:Plan"
BACKUP_SELECTION = "aws:backup/selection:Selection"
Finding = tuple[str, str]


def copies_cross_region(plan: PolicyResource) -> bool:
    return any(
        get(action, "destinationVaultArn")
        for rule in items(plan.props.get("rules"))
        for action in items(get(rule, "copyActions"))
    )


def selects(graph: StackGraph, selection: PolicyResource, instance: PolicyResource) -> bool:
    if any(r.urn == instance.urn for r in graph.referenced(selection, "resources", RDS_INSTANCE)):
        return True
    tags = instance.props.get("tags") or {}
    wanted = [t for t in items(selection.props.get("selectionTags")) if get(t, "type") == "STRINGEQUALS"]
    return bool(wanted) and all(tags.get(get(t, "key")) == get(t, "value") for t in wanted)


def check_rds(graph: StackGraph) -> Iterator[Finding]:
    for instance in graph.of_type(RDS_INSTANCE):
        retention = instance.props.get("backupRetentionPeriod")
        if retention is not None and retention < 1:  # unset is AWS's default of 1 day
            yield (
                instance.urn,
                violation(
                    instance.urn,
                    "backupRetentionPeriod",
                    shown(retention),
                    "automated backups must stay on",
                    "set backup_retention_period >= 1",
                ),
            )
        plans = [
            p
            for s in graph.of_type(BACKUP_SELECTION)
            if selects(graph, s, instance)
            for p in graph.referenced(s, "planId", BACKUP_PLAN)
        ]
        if not any(copies_cross_region(p) for p in plans):
            yield (
                instance.urn,
                violation(
                    instance.urn,
                    "aws.backup.Selection",
                    "missing" if not plans else "without a copy",
                    "the database must be in an AWS Backup plan that copies to the backup region",
                    "add aws.backup.Selection(resources=[db.arn]) on a Plan whose rule has "
                    "copy_actions=[{destination_vault_arn: <vault in the backup region>}]",
                ),
            )


def check_redis(graph: StackGraph) -> Iterator[Finding]:
    for group in graph.of_type(REPLICATION_GROUP):
        if (group.props.get("snapshotRetentionLimit") or 0) < 1:
            yield (
                group.urn,
                violation(
                    group.urn,
                    "snapshotRetentionLimit",
                    shown(group.props.get("snapshotRetentionLimit"), 0),
                    "Redis must keep daily snapshots",
                    "set snapshot_retention_limit >= 1",
                ),
            )


def check_buckets(graph: StackGraph) -> Iterator[Finding]:
    buckets = Buckets(graph)
    for bucket in buckets.primary_data_buckets():
        versioned = any(
            get(v.props, "versioningConfiguration.status") == "Enabled"
            for v in buckets.companions(bucket, VERSIONING)
        )
        if not versioned:
            yield (
                bucket.urn,
                violation(
                    bucket.urn,
                    "BucketVersioning",
                    "not Enabled",
                    "data buckets must keep previous versions",
                    'add BucketVersioning status="Enabled"',
                ),
            )
        if not buckets.companions(bucket, REPLICATION):
            yield (
                bucket.urn,
                violation(
                    bucket.urn,
                    "BucketReplicationConfig",
                    "missing",
                    "data buckets must replicate to the backup region",
                    "add aws.s3.BucketReplicationConfig to the replica bucket in the backup region",
                ),
            )


def check_backup_coverage(args: StackValidationArgs) -> Iterator[Finding]:
    graph = StackGraph(args.resources)
    yield from check_rds(graph)
    yield from check_redis(graph)
    yield from check_buckets(graph)


POLICIES = [
    stack_policy(
        "backup-coverage",
        "RDS.26/ElastiCache.1/S3.7: every stateful resource must be backed up (RDS in an AWS Backup plan "
        "with a cross-region copy, Redis snapshots, S3 data buckets versioned and replicated).",
        check_backup_coverage,
    ),
]
