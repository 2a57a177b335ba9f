"""Backup: AWS Backup for the database with a cross-region copy and weekly restore tests."""

from tests.infra.resources import by_output, config, region_of, single


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
