"""Backup: AWS Backup for the database, copied to the backup region and restore-tested weekly.

RDS automated backups give point-in-time recovery in the region; this plan adds daily
snapshots kept in a vault of their own (its own KMS key), a copy in the backup region that
survives the loss of this one, and a weekly restore test that proves the snapshots restore.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.keys import encryption_key

BACKUP_POLICIES = ("AWSBackupServiceRolePolicyForBackup", "AWSBackupServiceRolePolicyForRestores")
# Compliance mode locks for good after this many days; until then the lock can still be removed.
COMPLIANCE_GRACE_DAYS = 3


@dataclass(frozen=True)
class BackupArgs:
    name_prefix: str
    backup_region: str
    retention_days: int
    schedule: str  # cron(M H * * ? *), UTC; config keeps it clear of the RDS windows
    start_window_minutes: int
    # governance: a recovery point cannot be deleted before its retention ends, except by a
    # principal allowed backup:DeleteBackupVaultLockConfiguration; compliance: by no one, ever,
    # once the grace period (COMPLIANCE_GRACE_DAYS) has passed.
    vault_lock_mode: str
    database_arn: pulumi.Input[str]
    db_subnet_group_name: pulumi.Input[str]  # restore tests land in the private database subnets
    db_security_group_id: pulumi.Input[str]


class Backup(pulumi.ComponentResource):
    def __init__(self, name: str, args: BackupArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("relay:backup:Backup", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        vault = aws.backup.Vault(
            f"{name}-vault",
            name=f"{args.name_prefix}-vault",
            kms_key_arn=encryption_key(f"{name}-vault-key", "backup vault", self).arn,
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        copy_vault = aws.backup.Vault(
            f"{name}-copy-vault",
            name=f"{args.name_prefix}-copy-vault",
            kms_key_arn=encryption_key(
                f"{name}-copy-vault-key", "backup copies", self, region=args.backup_region
            ).arn,
            region=args.backup_region,
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "backup.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            opts=child,
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-{policy}",
                role=role.name,
                policy_arn=f"arn:aws:iam::aws:policy/service-role/{policy}",
                opts=child,
            )
            for policy in BACKUP_POLICIES
        ]
        lifecycle = {"delete_after": args.retention_days}
        plan = aws.backup.Plan(
            f"{name}-plan",
            name=f"{args.name_prefix}-daily",
            rules=[
                {
                    "rule_name": "daily-with-cross-region-copy",
                    "target_vault_name": vault.name,
                    "schedule": args.schedule,
                    "start_window": args.start_window_minutes,
                    "completion_window": 360,
                    "lifecycle": lifecycle,
                    "copy_actions": [{"destination_vault_arn": copy_vault.arn, "lifecycle": lifecycle}],
                }
            ],
            opts=child,
        )
        aws.backup.Selection(
            f"{name}-database",
            name=f"{args.name_prefix}-database",
            plan_id=plan.id,
            iam_role_arn=role.arn,
            resources=[args.database_arn],
            opts=pulumi.ResourceOptions(parent=self, depends_on=attachments),
        )
        # Restore-testing names allow only letters, digits and underscores.
        test_name = args.name_prefix.replace("-", "_")
        restore_plan = aws.backup.RestoreTestingPlan(
            f"{name}-restore-testing",
            name=f"{test_name}_weekly_restore",
            schedule_expression="cron(0 5 ? * SAT *)",
            start_window_hours=8,
            recovery_point_selection={
                "algorithm": "LATEST_WITHIN_WINDOW",
                "include_vaults": [vault.arn],
                "recovery_point_types": ["SNAPSHOT"],
                "selection_window_days": 7,
            },
            opts=child,
        )
        aws.backup.RestoreTestingSelection(
            f"{name}-restore-testing-database",
            name=f"{test_name}_database",
            restore_testing_plan_name=restore_plan.name,
            protected_resource_type="RDS",
            protected_resource_arns=[args.database_arn],
            iam_role_arn=role.arn,
            validation_window_hours=4,
            restore_metadata_overrides={
                "dbsubnetgroupname": args.db_subnet_group_name,
                "vpcsecuritygroupids": pulumi.Output.json_dumps([args.db_security_group_id]),
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=attachments),
        )
        for label, locked, region in (
            (f"{name}-vault", vault, None),
            (f"{name}-copy-vault", copy_vault, args.backup_region),
        ):
            aws.backup.VaultLockConfiguration(
                f"{label}-lock",
                backup_vault_name=locked.name,
                min_retention_days=args.retention_days,
                changeable_for_days=COMPLIANCE_GRACE_DAYS if args.vault_lock_mode == "compliance" else None,
                region=region,
                opts=child,
            )
        self.vault_arn = vault.arn
        self.copy_vault_arn = copy_vault.arn
        self.register_outputs({"vault_arn": self.vault_arn, "copy_vault_arn": self.copy_vault_arn})
