"""Cache: ElastiCache Redis for Socket.IO fan-out, presence and rate limits.

A replication group with cluster mode disabled: python-socketio's AsyncRedisManager is not
cluster-aware. TLS is required in transit, clients authenticate with an AUTH token, data at
rest uses our KMS key, and daily snapshots are kept (AWS Backup does not cover ElastiCache).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from infra.keys import encryption_key

PORT = 6379


@dataclass(frozen=True)
class CacheArgs:
    replication_group_id: str
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]
    client_security_group_id: pulumi.Input[str]
    node_type: str
    engine_version: str
    node_count: int  # 1 primary + (n - 1) replicas; >= 2 turns on failover and Multi-AZ
    snapshot_retention_days: int
    log_retention_days: int


class Cache(pulumi.ComponentResource):
    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("relay:cache:Cache", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        key = encryption_key(f"{name}-key", "ElastiCache data at rest and snapshots", self)
        subnets = aws.elasticache.SubnetGroup(
            f"{name}-subnets",
            name=f"{args.replication_group_id}-subnets",
            subnet_ids=list(args.subnet_ids),
            opts=child,
        )
        security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="Relay Redis: from the EKS cluster only",
            ingress=[
                {
                    "protocol": "tcp",
                    "from_port": PORT,
                    "to_port": PORT,
                    "security_groups": [args.client_security_group_id],
                    "description": "relay pods",
                }
            ],
            opts=child,
        )
        # AUTH token: ElastiCache accepts 16-128 printable characters without @, " or /.
        self.auth_token = random.RandomPassword(f"{name}-auth-token", length=64, special=False, opts=child)
        slow_log = aws.cloudwatch.LogGroup(
            f"{name}-slow-log",
            name=f"/aws/elasticache/{args.replication_group_id}/slow-log",
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        with_replicas = args.node_count >= 2
        self.replication_group = aws.elasticache.ReplicationGroup(
            f"{name}-redis",
            replication_group_id=args.replication_group_id,
            description="Relay Socket.IO fan-out, presence and rate limits",
            engine="redis",
            engine_version=args.engine_version,
            node_type=args.node_type,
            port=PORT,
            cluster_mode="disabled",
            num_cache_clusters=args.node_count,
            automatic_failover_enabled=with_replicas,
            multi_az_enabled=with_replicas,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=self.auth_token.result,
            at_rest_encryption_enabled=True,
            kms_key_id=key.arn,
            subnet_group_name=subnets.name,
            security_group_ids=[security_group.id],
            snapshot_retention_limit=args.snapshot_retention_days,
            # Deleting the group (deliberately: it is protected) still leaves its data behind.
            final_snapshot_identifier=f"{args.replication_group_id}-final",
            snapshot_window="01:00-02:00",
            maintenance_window="sun:04:30-sun:05:30",
            auto_minor_version_upgrade=True,
            apply_immediately=False,
            log_delivery_configurations=[
                {
                    "destination": slow_log.name,
                    "destination_type": "cloudwatch-logs",
                    "log_format": "json",
                    "log_type": "slow-log",
                }
            ],
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        self.primary_endpoint = self.replication_group.primary_endpoint_address
        self.port = PORT
        # Member ids follow from the group id and count, so alarms need no lookup.
        self.member_ids = tuple(f"{args.replication_group_id}-{i:03d}" for i in range(1, args.node_count + 1))
        self.register_outputs({"primary_endpoint": self.primary_endpoint})
