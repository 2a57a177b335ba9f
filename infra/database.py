"""Database: RDS PostgreSQL for Relay's messages, channels and users.

Encrypted with its own KMS key, TLS forced (`rds.force_ssl`), reachable only from the
cluster's security group, deletion-protected, with a final snapshot, point-in-time recovery
from automated backups, Performance Insights, enhanced monitoring and log exports. The master
password is generated, stored and rotated by RDS in Secrets Manager: it never passes through
Pulumi state.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.keys import encryption_key

PORT = 5432
LOG_EXPORTS = ["postgresql", "upgrade"]


@dataclass(frozen=True)
class DatabaseArgs:
    identifier: str  # the RDS instance name; log group names derive from it
    vpc_id: pulumi.Input[str]
    subnet_ids: Sequence[pulumi.Input[str]]  # database subnets: no route to the internet
    client_security_group_id: pulumi.Input[str]  # the EKS cluster security group (pods and nodes)
    instance_class: str
    engine_version: str  # major only ("17"): RDS picks and upgrades the minor; the parameter group follows
    allocated_storage_gb: int
    max_allocated_storage_gb: int  # storage autoscaling ceiling
    multi_az: bool
    backup_retention_days: int
    max_connections: int
    performance_insights_retention_days: int
    monitoring_interval_seconds: int
    log_retention_days: int
    backup_window: str  # hh:mm-hh:mm UTC; config keeps it clear of the maintenance window
    maintenance_window: str  # ddd:hh:mm-ddd:hh:mm UTC
    # The identifier names an instance a point-in-time restore created outside Pulumi: import it
    # into this resource (the old one must be gone from state first; database-restore.md).
    adopt_existing: bool = False


class Database(pulumi.ComponentResource):
    def __init__(self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("relay:database:Database", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        key = encryption_key(f"{name}-key", "RDS storage, snapshots, Performance Insights", self)
        subnets = aws.rds.SubnetGroup(f"{name}-subnets", subnet_ids=list(args.subnet_ids), opts=child)
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description="Relay PostgreSQL: from the EKS cluster only",
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
        major = args.engine_version
        # The family is in the logical name: a major upgrade creates the new group beside the old
        # one, the instance moves to it, and only then is the old group deleted.
        parameters = aws.rds.ParameterGroup(
            f"{name}-params-postgres{major}",
            family=f"postgres{major}",
            description=f"Relay PostgreSQL {major}",
            parameters=[
                {"name": "rds.force_ssl", "value": "1"},
                {
                    "name": "max_connections",
                    "value": str(args.max_connections),
                    "apply_method": "pending-reboot",
                },
                {"name": "log_min_duration_statement", "value": "500"},
                {"name": "log_lock_waits", "value": "1"},
                {
                    "name": "shared_preload_libraries",
                    "value": "pg_stat_statements",
                    "apply_method": "pending-reboot",
                },
            ],
            opts=child,
        )
        # RDS creates these on first export with no retention; ours exist first, with one.
        log_groups = [
            aws.cloudwatch.LogGroup(
                f"{name}-logs-{kind}",
                name=f"/aws/rds/instance/{args.identifier}/{kind}",
                retention_in_days=args.log_retention_days,
                opts=child,
            )
            for kind in LOG_EXPORTS
        ]
        monitoring_role = aws.iam.Role(
            f"{name}-monitoring-role",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "monitoring.rds.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            opts=child,
        )
        monitoring_policy = aws.iam.RolePolicyAttachment(
            f"{name}-monitoring-policy",
            role=monitoring_role.name,
            policy_arn="arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
            opts=child,
        )
        self.instance = aws.rds.Instance(
            f"{name}-postgres",
            identifier=args.identifier,
            engine="postgres",
            engine_version=args.engine_version,
            instance_class=args.instance_class,
            db_name="relay",
            username="relay_admin",
            manage_master_user_password=True,
            master_user_secret_kms_key_id=key.arn,
            port=PORT,
            allocated_storage=args.allocated_storage_gb,
            max_allocated_storage=args.max_allocated_storage_gb,
            storage_type="gp3",
            storage_encrypted=True,
            kms_key_id=key.arn,
            multi_az=args.multi_az,
            db_subnet_group_name=subnets.name,
            vpc_security_group_ids=[self.security_group.id],
            publicly_accessible=False,
            parameter_group_name=parameters.name,
            ca_cert_identifier="rds-ca-rsa2048-g1",
            iam_database_authentication_enabled=True,
            backup_retention_period=args.backup_retention_days,
            backup_window=args.backup_window,
            maintenance_window=args.maintenance_window,
            copy_tags_to_snapshot=True,
            delete_automated_backups=False,
            deletion_protection=True,
            skip_final_snapshot=False,
            final_snapshot_identifier=f"{args.identifier}-final",
            performance_insights_enabled=True,
            performance_insights_kms_key_id=key.arn,
            performance_insights_retention_period=args.performance_insights_retention_days,
            monitoring_interval=args.monitoring_interval_seconds,
            monitoring_role_arn=monitoring_role.arn,
            enabled_cloudwatch_logs_exports=LOG_EXPORTS,
            # With a major-only engine_version, minors move forward without a diff: the running
            # minor is engine_version_actual.
            auto_minor_version_upgrade=True,
            # Major upgrades are a planned change: raise this for that one deploy (runbook).
            allow_major_version_upgrade=False,
            apply_immediately=False,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*log_groups, monitoring_policy],
                protect=True,
                import_=args.identifier if args.adopt_existing else None,
            ),
        )
        self.identifier = args.identifier
        self.arn = self.instance.arn
        self.address = self.instance.address
        self.endpoint = self.instance.endpoint
        self.engine_version_actual = self.instance.engine_version_actual
        self.port = PORT
        self.key_arn = key.arn
        self.master_secret_arn = self.instance.master_user_secrets[0].secret_arn
        self.subnet_group_name = subnets.name
        self.security_group_id = self.security_group.id
        self.register_outputs({"endpoint": self.endpoint, "arn": self.arn})
