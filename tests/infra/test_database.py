"""Database: RDS PostgreSQL with the production settings of DESIGN §5."""

from tests.infra.resources import by_output, config, of_type, single

INSTANCE = "aws:rds/instance:Instance"


def test_database_is_encrypted_private_and_protected(stack_run):
    db = single(stack_run, INSTANCE)
    i = db.inputs
    assert i["storageEncrypted"] is True and i["kmsKeyId"], db.urn
    assert by_output(stack_run, "arn")[i["kmsKeyId"]].type == "aws:kms/key:Key"
    assert i["publiclyAccessible"] is False
    assert i["deletionProtection"] is True and db.protect, (
        f"{db.urn}: deletion-protected and Pulumi-protected"
    )
    assert (
        i["skipFinalSnapshot"] is False and i["finalSnapshotIdentifier"] == f"relay-{stack_run.stack}-final"
    )
    assert i["manageMasterUserPassword"] is True and "password" not in i, "RDS owns the master password"


def test_database_keeps_backups_for_point_in_time_recovery(stack_run):
    i = single(stack_run, INSTANCE).inputs
    assert i["backupRetentionPeriod"] == int(config(stack_run, "dbBackupRetentionDays"))
    assert i["backupRetentionPeriod"] >= 1 and i["deleteAutomatedBackups"] is False
    assert i["copyTagsToSnapshot"] is True


def test_prod_database_is_multi_az_with_two_weeks_of_backups(prod_run):
    i = single(prod_run, INSTANCE).inputs
    assert i["multiAz"] is True
    assert i["backupRetentionPeriod"] >= 14


def test_database_is_observable(stack_run):
    db = single(stack_run, INSTANCE)
    i = db.inputs
    assert i["performanceInsightsEnabled"] is True and i["performanceInsightsKmsKeyId"] == i["kmsKeyId"]
    assert i["monitoringInterval"] > 0
    role = by_output(stack_run, "arn")[i["monitoringRoleArn"]]
    assert "monitoring.rds.amazonaws.com" in role.inputs["assumeRolePolicy"]
    groups = {g.inputs["name"]: g for g in of_type(stack_run, "aws:cloudwatch/logGroup:LogGroup")}
    for export in i["enabledCloudwatchLogsExports"]:
        group = groups[f"/aws/rds/instance/{i['identifier']}/{export}"]
        assert group.inputs["retentionInDays"] > 0
        assert group.urn in db.dependencies, f"{group.urn} must exist before RDS exports into it"


def test_database_storage_autoscales(stack_run):
    i = single(stack_run, INSTANCE).inputs
    assert i["maxAllocatedStorage"] > i["allocatedStorage"]
    assert i["storageType"] == "gp3"


def test_parameter_group_forces_tls_and_follows_the_major_version(stack_run):
    i = single(stack_run, INSTANCE).inputs
    group = by_output(stack_run, "name")[i["parameterGroupName"]]
    major = i["engineVersion"].split(".")[0]
    assert group.inputs["family"] == f"postgres{major}"
    assert group.name.endswith(f"-params-postgres{major}"), (
        "a major upgrade creates a new group beside the old"
    )
    parameters = {p["name"]: p["value"] for p in group.inputs["parameters"]}
    assert parameters["rds.force_ssl"] == "1"
    assert parameters["max_connections"] == config(stack_run, "dbMaxConnections")


def test_database_accepts_connections_only_from_the_cluster(stack_run):
    i = single(stack_run, INSTANCE).inputs
    (group_id,) = i["vpcSecurityGroupIds"]
    group = by_output(stack_run, "id")[group_id]
    (rule,) = group.inputs["ingress"]
    assert rule["fromPort"] == rule["toPort"] == 5432
    assert not rule.get("cidrBlocks") and rule["securityGroups"] == ["sg-0c1u5t3r5ecur1ty"]
    subnet_group = by_output(stack_run, "name")[i["dbSubnetGroupName"]]
    assert all("-database-" in by_output(stack_run, "id")[s].name for s in subnet_group.inputs["subnetIds"])


def test_engine_version_names_the_major_only_so_minor_upgrades_never_break_a_deploy(stack_run):
    """RDS moves minors forward itself (auto_minor_version_upgrade); a pinned minor would be
    behind the running one at the next deploy ("Cannot find upgrade path"), and AWS stops
    creating old minors. The running minor is reported through engine_version_actual."""
    db = single(stack_run, INSTANCE)
    version = db.inputs["engineVersion"]
    assert version.isdigit(), f"{db.urn}: engineVersion {version!r} must be a major version only"
    assert db.inputs["autoMinorVersionUpgrade"] is True
    family = by_output(stack_run, "name")[db.inputs["parameterGroupName"]].inputs["family"]
    assert family == f"postgres{version}"
    assert stack_run.exports["databaseEngineVersion"] == db.outputs["engineVersionActual"]
