"""Stack config: every required key, every floor, and the settings no stack may change."""

import json
import os
import re
from datetime import date

import pytest

from infra.config import EXAMPLES, OPTIONAL_KEYS, SECRET_KEYS, ConfigError, parse_settings
from infra.eks_versions import EVALUATION_DAY_ENV
from infra.evaluation.stack_capture import REPO_ROOT, capture_run, stack_config

REQUIRED_KEYS = [key for key in EXAMPLES if key not in SECRET_KEYS and key not in OPTIONAL_KEYS]


# Config checks depend on the date (EKS support): the day tests/conftest.py pins for every evaluation.
TODAY = date.fromisoformat(os.environ[EVALUATION_DAY_ENV])


def settings_for(stack: str, today: date = TODAY, **overrides: object):
    """parse_settings over the committed YAML, with keys replaced (None removes a key)."""
    values = {k.split(":", 1)[1]: v for k, v in stack_config(stack).items() if k.startswith("relay:")}
    for key, value in overrides.items():
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value if isinstance(value, str) else json.dumps(value)
    return parse_settings(stack, values.get, present_keys=tuple(values), today=today)


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_committed_stack_config_is_valid(stack):
    settings = settings_for(stack)
    assert settings.environment == stack


@pytest.mark.parametrize("key", REQUIRED_KEYS)
def test_a_missing_required_key_is_named_with_an_example_fix(key):
    with pytest.raises(ConfigError) as error:
        settings_for("prod", **{key: None})
    message = str(error.value)
    assert f"relay:{key} is not set" in message
    assert f"pulumi config set relay:{key} " in message and message.endswith("--stack prod")


@pytest.mark.parametrize(
    ("key", "bad"),
    [
        ("appImage", "111111111111.dkr.ecr.eu-west-1.amazonaws.com/relay:latest"),
        ("vpcCidr", "10.20.0.0/33"),
        ("logRetentionDays", "45"),
        ("dbMonitoringIntervalSeconds", "7"),
        ("availabilityZones", '["eu-west-1a","eu-west-1b"]'),
        ("eksDeployerRoleArn", "relay-deployer"),
        ("natGatewayPerAz", "yes"),
        ("backupRegion", "eu-west-1"),
        ("dbMaxAllocatedStorageGb", "100"),
        ("appDbPoolSize", "50"),
        ("dbBackupRetentionDays", "3"),
        ("cacheSnapshotRetentionDays", "1"),
        ("socketServer", "socket.io"),
    ],
)
def test_an_invalid_value_is_named_with_the_key_the_value_and_the_fix(key, bad):
    with pytest.raises(ConfigError) as error:
        settings_for("prod", **{key: bad})
    message = str(error.value)
    shown = json.loads(bad)[0] if bad.startswith("[") else bad
    assert message.startswith(f"relay:{key} is ") and shown in message, message
    assert f"Fix: pulumi config set relay:{key}" in message


@pytest.mark.parametrize(
    ("key", "below_floor"),
    [
        ("dbMultiAz", "false"),
        ("natGatewayPerAz", "false"),
        ("dbBackupRetentionDays", "10"),
        ("cacheNodeCount", "1"),
        ("appMinReplicas", "1"),
        ("eksPublicAccessCidrs", ["0.0.0.0/0"]),
    ],
)
def test_prod_refuses_settings_below_production_floors(key, below_floor):
    with pytest.raises(ConfigError, match=f"relay:{key} is .*production"):
        settings_for("prod", **{key: below_floor})


def test_staging_may_run_single_az_with_one_nat_and_short_backups():
    settings = settings_for("staging")
    assert not settings.db_multi_az and not settings.nat_gateway_per_az
    assert settings.db_backup_retention_days < 14 and settings.cache_node_count == 1


@pytest.mark.parametrize(
    "switch",
    ["storageEncrypted", "s3Encryption", "blockPublicAccess", "deletionProtection", "dbStorageEncrypted"],
)
def test_staging_cannot_turn_off_encryption_or_public_access_blocks(switch):
    with pytest.raises(ConfigError) as error:
        settings_for("staging", **{switch: "false"})
    message = str(error.value)
    assert f"relay:{switch} is not a setting" in message and "always on" in message
    assert f"pulumi config rm relay:{switch} --stack staging" in message


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_committed_stack_yaml_holds_no_secrets(stack):
    text = (REPO_ROOT / f"Pulumi.{stack}.yaml").read_text()
    assert "secure:" not in text
    assert not any(f"relay:{key}:" in text for key in SECRET_KEYS)


CONFIG_COMMAND = re.compile(r"pulumi config (?P<verb>set|get|rm)(?P<secret> --secret)? relay:(?P<key>\w+)")


def test_the_docs_and_runbooks_name_only_keys_the_program_reads():
    """An operator following a page must not be told to set a key the program refuses (as the
    Clerk secret key was, once it stopped being provisioned), nor to store a secret in plain text."""
    pages = [REPO_ROOT / "README.md", *REPO_ROOT.glob("docs/*.md"), *REPO_ROOT.glob("runbooks/**/*.md")]
    commands = [(page, m) for page in pages for m in CONFIG_COMMAND.finditer(page.read_text())]
    assert len(commands) > 20, "the pattern still finds the pages' config commands"
    for page, command in commands:
        where = f"{page.relative_to(REPO_ROOT)}: {command[0]}"
        assert command["key"] in EXAMPLES, f"{where}: not a setting of this program"
        if command["verb"] == "set":
            assert bool(command["secret"]) is (command["key"] in SECRET_KEYS), where


def test_the_program_stops_on_a_missing_key_before_declaring_anything():
    config = stack_config("prod")
    del config["relay:dbInstanceClass"]
    run = capture_run("prod", config=config)
    assert run.resources == []
    assert "ConfigError: relay:dbInstanceClass is not set" in run.error
    assert "pulumi config set relay:dbInstanceClass db.r6g.large --stack prod" in run.error


def test_the_program_refuses_a_secret_stored_in_plain_text():
    dsn = "https://plain@o0.ingest.sentry.io/1"
    run = capture_run("prod", config={**stack_config("prod"), "relay:sentryDsn": dsn})
    assert "relay:sentryDsn is stored in plain text" in run.error
    assert "pulumi config set --secret relay:sentryDsn" in run.error
    assert dsn not in run.error


def test_a_pinned_minor_engine_version_is_refused():
    with pytest.raises(
        ConfigError, match=r"relay:dbEngineVersion is '16\.6': expected a PostgreSQL major version only"
    ):
        settings_for("prod", dbEngineVersion="16.6")


@pytest.mark.parametrize(
    ("overrides", "key", "other"),
    [
        ({"backupSchedule": "cron(30 3 * * ? *)"}, "backupSchedule", "dbMaintenanceWindow"),
        ({"backupStartWindowMinutes": "120"}, "backupSchedule", "dbMaintenanceWindow"),
        ({"dbBackupWindow": "04:00-04:30"}, "dbBackupWindow", "dbMaintenanceWindow"),
        ({"dbBackupWindow": "02:15-02:45"}, "backupSchedule", "dbBackupWindow"),
        ({"dbMaintenanceWindow": "mon:02:30-mon:03:00"}, "backupSchedule", "dbMaintenanceWindow"),
    ],
)
def test_overlapping_backup_and_maintenance_windows_are_refused_naming_both_keys(overrides, key, other):
    with pytest.raises(ConfigError) as error:
        settings_for("prod", **overrides)
    message = str(error.value)
    assert message.startswith(f"relay:{key} is ") and f"overlaps relay:{other}" in message, message
    assert f"Fix: pulumi config set relay:{key}" in message


def test_a_window_shorter_than_rds_allows_is_refused():
    with pytest.raises(ConfigError, match=r"relay:dbBackupWindow is '01:00-01:15'.*at least 30 minutes"):
        settings_for("prod", dbBackupWindow="01:00-01:15")
