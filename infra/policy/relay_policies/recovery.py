"""Database and cache survive their own deletion and are watched: final snapshots, tagged
snapshots, Performance Insights, storage that grows before it fills.

DESIGN.md §5 (RDS final snapshot, Performance Insights, storage autoscaling); checklist
"Disaster recovery plan", "Set up database monitoring".
"""

from collections.abc import Iterator

from pulumi_policy import ResourceValidationArgs

from .builders import resource_policy
from .props import shown, violation

RDS_INSTANCE = "aws:rds/instance:Instance"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"


def check_final_snapshot(args: ResourceValidationArgs) -> Iterator[str]:
    skip = args.props.get("skipFinalSnapshot") if args.resource_type == RDS_INSTANCE else None
    identifier = args.props.get("finalSnapshotIdentifier")
    if skip is True or not identifier:
        yield violation(
            args.urn,
            "skipFinalSnapshot/finalSnapshotIdentifier",
            f"{shown(skip, False)}/{shown(identifier)}",
            "deleting the database or cache must leave a final snapshot behind",
            'set final_snapshot_identifier=f"{name}-final" (and skip_final_snapshot=False for RDS)',
        )


def check_copy_tags(args: ResourceValidationArgs) -> Iterator[str]:
    value = args.props.get("copyTagsToSnapshot")
    if value is not True:
        yield violation(
            args.urn,
            "copyTagsToSnapshot",
            shown(value, False),
            "snapshots must carry the instance's tags (owner, environment, backup selection)",
            "set copy_tags_to_snapshot=True",
        )


def check_performance_insights(args: ResourceValidationArgs) -> Iterator[str]:
    value = args.props.get("performanceInsightsEnabled")
    if value is not True:
        yield violation(
            args.urn,
            "performanceInsightsEnabled",
            shown(value, False),
            "slow queries must be diagnosable from Performance Insights",
            "set performance_insights_enabled=True with performance_insights_kms_key_id",
        )


def check_storage_autoscaling(args: ResourceValidationArgs) -> Iterator[str]:
    allocated = args.props.get("allocatedStorage") or 0
    ceiling = args.props.get("maxAllocatedStorage")
    if not ceiling or ceiling <= allocated:
        yield violation(
            args.urn,
            "maxAllocatedStorage",
            shown(ceiling, "autoscaling off"),
            f"storage must grow on its own above the allocated {shown(allocated)} GiB before it fills",
            "set max_allocated_storage above allocated_storage (relay:dbMaxAllocatedStorageGb)",
        )


POLICIES = [
    resource_policy(
        "final-snapshot",
        "Relay (no FSBP control): RDS instances and Redis replication groups keep a final snapshot.",
        [RDS_INSTANCE, REPLICATION_GROUP],
        check_final_snapshot,
    ),
    resource_policy(
        "rds-copy-tags-to-snapshot",
        "RDS.17: RDS DB instances must copy tags to snapshots.",
        [RDS_INSTANCE],
        check_copy_tags,
    ),
    resource_policy(
        "rds-performance-insights",
        "Relay (no FSBP control): RDS DB instances must have Performance Insights enabled.",
        [RDS_INSTANCE],
        check_performance_insights,
    ),
    resource_policy(
        "rds-storage-autoscaling",
        "Relay (no FSBP control): RDS DB instances must have storage autoscaling.",
        [RDS_INSTANCE],
        check_storage_autoscaling,
    ),
]
