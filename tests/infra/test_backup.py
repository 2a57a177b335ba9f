"""Backup: AWS Backup for the database with a cross-region copy and weekly restore tests."""

from infra import maintenance_windows as windows
from infra.backup import COMPLIANCE_GRACE_DAYS
from tests.infra.resources import by_output, config, of_type, region_of, single


def test_daily_backups_are_copied_to_a_vault_in_the_backup_region(stack_run):
    (rule,) = single(stack_run, "aws:backup/plan:Plan").inputs["rules"]
    vault = by_output(stack_run, "name")[rule["targetVaultName"]]
    (copy,) = rule["copyActions"]
    copy_vault = by_output(stack_run, "arn")[copy["destinationVaultArn"]]
    assert region_of(stack_run, vault) == config(stack_run, "region")
    assert region_of(stack_run, copy_vault) == config(stack_run, "backupRegion")
    retention = int(config(stack_run, "backupRetentionDays"))
    assert rule["lifecycle"]["deleteAfter"] == copy["lifecycle"]["deleteAfter"] == retention
    for v in (vault, copy_vault):
        key = by_output(stack_run, "arn")[v.inputs["kmsKeyArn"]]
        assert region_of(stack_run, key) == region_of(stack_run, v) and v.protect


def test_the_backup_plan_selects_the_database(stack_run):
    selection = single(stack_run, "aws:backup/selection:Selection").inputs
    assert selection["resources"] == [single(stack_run, "aws:rds/instance:Instance").outputs["arn"]]


def test_restores_of_the_database_are_tested_weekly_in_private_subnets(stack_run):
    plan = single(stack_run, "aws:backup/restoreTestingPlan:RestoreTestingPlan").inputs
    vault = by_output(stack_run, "name")[
        single(stack_run, "aws:backup/plan:Plan").inputs["rules"][0]["targetVaultName"]
    ]
    assert plan["recoveryPointSelection"]["includeVaults"] == [vault.outputs["arn"]]
    selection = single(stack_run, "aws:backup/restoreTestingSelection:RestoreTestingSelection").inputs
    db = single(stack_run, "aws:rds/instance:Instance")
    assert selection["protectedResourceType"] == "RDS"
    assert selection["protectedResourceArns"] == [db.outputs["arn"]]
    assert selection["restoreTestingPlanName"] == plan["name"]
    assert selection["restoreMetadataOverrides"]["dbsubnetgroupname"] == db.inputs["dbSubnetGroupName"]


def test_backup_jobs_start_clear_of_the_rds_maintenance_and_backup_windows(stack_run):
    """AWS Backup cannot start an RDS snapshot during the maintenance window, in the hour before
    it, or during the automated backup; RDS refuses a backup window inside its maintenance window."""
    (rule,) = single(stack_run, "aws:backup/plan:Plan").inputs["rules"]
    db = single(stack_run, "aws:rds/instance:Instance").inputs
    assert (rule["schedule"], rule["startWindow"]) == (
        config(stack_run, "backupSchedule"),
        int(config(stack_run, "backupStartWindowMinutes")),
    )
    assert (db["backupWindow"], db["maintenanceWindow"]) == (
        config(stack_run, "dbBackupWindow"),
        config(stack_run, "dbMaintenanceWindow"),
    )
    jobs = windows.backup_job_starts(rule["schedule"], rule["startWindow"])
    maintenance = windows.rds_maintenance_window(db["maintenanceWindow"])
    guarded = (maintenance[0] - windows.BEFORE_MAINTENANCE_MINUTES, maintenance[1])
    automated = windows.rds_backup_window(db["backupWindow"])
    assert not any(windows.overlaps(job, guarded) for job in jobs)
    assert not any(windows.overlaps(job, backup) for job in jobs for backup in automated)
    assert not any(windows.overlaps(backup, maintenance) for backup in automated)


def test_window_arithmetic_sees_overlaps_across_midnight_and_the_week():
    sunday_late = windows.rds_maintenance_window("sun:23:30-mon:00:30")
    assert windows.overlaps((0, 10), sunday_late), "Monday 00:00 is inside a window that began Sunday"
    assert not windows.overlaps((60, 120), sunday_late)
    assert windows.overlaps(windows.daily(23 * 60 + 30, 60)[0], (24 * 60, 24 * 60 + 5))


def test_both_vaults_are_locked_in_governance_mode_for_the_retention_period(stack_run):
    locks = of_type(stack_run, "aws:backup/vaultLockConfiguration:VaultLockConfiguration")
    vaults = {v.outputs["name"]: v for v in of_type(stack_run, "aws:backup/vault:Vault")}
    assert {lock.inputs["backupVaultName"] for lock in locks} == set(vaults)
    for lock in locks:
        assert lock.inputs["minRetentionDays"] == int(config(stack_run, "backupRetentionDays"))
        assert "changeableForDays" not in lock.inputs, "governance mode: the lock can be lifted"
        assert region_of(stack_run, lock) == region_of(stack_run, vaults[lock.inputs["backupVaultName"]])


def test_compliance_mode_is_a_config_flag(variant_run):
    for lock in of_type(variant_run, "aws:backup/vaultLockConfiguration:VaultLockConfiguration"):
        assert lock.inputs["changeableForDays"] == COMPLIANCE_GRACE_DAYS, lock.urn
