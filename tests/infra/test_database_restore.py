"""After a point-in-time restore the stack adopts the restored instance (`relay:dbRestoredInstanceId`).

runbooks/procedures/database-restore.md relies on this: with the key set, the program imports the
restored instance into the same resource, and everything that names the database follows it,
so the next `pulumi up` keeps the cut-over instead of recreating the old instance.
"""

import pytest

from infra.config import parse_settings
from infra.config_reader import ConfigError
from infra.evaluation.stack_capture import capture_run, stack_config
from tests.infra.resources import of_type, single

INSTANCE = "aws:rds/instance:Instance"
RESTORED = "relay-prod-pitr-202612010300"


@pytest.fixture(scope="module")
def restored_run():
    run = capture_run("prod", config={**stack_config("prod"), "relay:dbRestoredInstanceId": RESTORED})
    assert run.error is None, run.error
    return run


def test_the_program_imports_the_restored_instance_into_the_same_resource(restored_run, prod_run):
    db, original = single(restored_run, INSTANCE), single(prod_run, INSTANCE)
    assert db.urn == original.urn, "same URN: the state entry moves to the restored instance"
    assert db.inputs["identifier"] == RESTORED and db.import_id == RESTORED
    assert db.protect and db.inputs["deletionProtection"] is True
    assert original.import_id == "", "without the key nothing is imported"


def test_naming_the_original_again_adopts_it_back():
    """The rollback of a cut-over: the key names the original instance, which is imported back."""
    config = {**stack_config("prod"), "relay:dbRestoredInstanceId": "relay-prod"}
    settings = parse_settings("prod", lambda key: config.get(f"relay:{key}"))
    assert settings.db_identifier == "relay-prod" and settings.db_restored_instance_id == "relay-prod"


def test_alarms_logs_and_snapshots_follow_the_restored_instance(restored_run):
    db = single(restored_run, INSTANCE)
    assert db.inputs["finalSnapshotIdentifier"] == f"{RESTORED}-final"
    groups = {g.inputs["name"] for g in of_type(restored_run, "aws:cloudwatch/logGroup:LogGroup")}
    assert f"/aws/rds/instance/{RESTORED}/postgresql" in groups
    rds_alarms = [
        a
        for a in of_type(restored_run, "aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.inputs.get("namespace") == "AWS/RDS"
    ]
    assert rds_alarms and all(
        a.inputs["dimensions"] == {"DBInstanceIdentifier": RESTORED} for a in rds_alarms
    )


@pytest.mark.parametrize("value", ["Relay_Prod", "relay--prod", "relay-prod-"])
def test_a_wrong_restored_id_names_the_key_and_the_fix(value):
    config = {**stack_config("prod"), "relay:dbRestoredInstanceId": value}
    with pytest.raises(ConfigError) as error:
        parse_settings("prod", lambda key: config.get(f"relay:{key}"))
    assert f"relay:dbRestoredInstanceId is '{value}'" in str(error.value)
    assert "Fix: pulumi config set relay:dbRestoredInstanceId" in str(error.value)
