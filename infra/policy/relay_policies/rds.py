"""RDS PostgreSQL: encrypted, private, Multi-AZ, backed up, protected, TLS-only, patched, logged.

Checklist: "Set up production database URL", "Database backup solution" (DESIGN.md §5: RDS
Multi-AZ, KMS, rds.force_ssl, backups >= 14 days, deletion protection).
"""

from collections.abc import Iterator

from pulumi_policy import ResourceValidationArgs

from .builders import resource_policy
from .props import get, items, plain, shown, violation
from .thresholds import minimum_days, minimum_days_schema, required_flag, required_flag_schema

INSTANCE = "aws:rds/instance:Instance"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
PROD_BACKUP_DAYS = 14
# PostgreSQL 15 and later ship rds.force_ssl=1 in the default parameter group; earlier families 0.
FORCE_SSL_DEFAULT_FROM_MAJOR = 15


def check_storage_encrypted(args: ResourceValidationArgs) -> Iterator[str]:
    value = args.props.get("storageEncrypted")
    if value is not True:
        yield violation(
            args.urn,
            "storageEncrypted",
            shown(value, False),
            "the database must be encrypted at rest",
            "set storage_encrypted=True with kms_key_id of the stack's KMS key",
        )


def check_not_public(args: ResourceValidationArgs) -> Iterator[str]:
    value = args.props.get("publiclyAccessible")
    if value is True:
        yield violation(
            args.urn,
            "publiclyAccessible",
            shown(value),
            "the database must not be reachable from the internet",
            "set publicly_accessible=False and keep it in the private subnets",
        )


def check_multi_az(args: ResourceValidationArgs) -> Iterator[str]:
    if not required_flag("rds-multi-az", args.get_config()):
        return
    value = args.props.get("multiAz")
    if value is not True:
        yield violation(
            args.urn,
            "multiAz",
            shown(value, False),
            "production databases run a standby in a second AZ",
            "set multi_az=True (relax only in staging via rds-multi-az.required=false)",
        )


def check_backup_retention(args: ResourceValidationArgs) -> Iterator[str]:
    days = minimum_days("rds-backup-retention", args.get_config(), PROD_BACKUP_DAYS)
    value = args.props.get("backupRetentionPeriod")
    effective = 1 if value is None else value
    if effective < days:
        yield violation(
            args.urn,
            "backupRetentionPeriod",
            shown(value, 1),
            f"automated backups must be kept at least {days} days",
            f"set backup_retention_period to {days} or more (relay:dbBackupRetentionDays)",
        )


def check_deletion_protection(args: ResourceValidationArgs) -> Iterator[str]:
    if not required_flag("rds-deletion-protection", args.get_config()):
        return
    value = args.props.get("deletionProtection")
    if value is not True:
        yield violation(
            args.urn,
            "deletionProtection",
            shown(value, False),
            "the database must refuse deletion",
            "set deletion_protection=True (relax only in staging via rds-deletion-protection.required=false)",
        )


def check_force_ssl(args: ResourceValidationArgs) -> Iterator[str]:
    family = str(args.props.get("family") or "")
    if not family.startswith("postgres"):
        return
    major = int("".join(ch for ch in family.removeprefix("postgres") if ch.isdigit()) or 0)
    default = "1" if major >= FORCE_SSL_DEFAULT_FROM_MAJOR else "0"
    values = [
        str(plain(get(p, "value")))
        for p in items(args.props.get("parameters"))
        if get(p, "name") == "rds.force_ssl"
    ]
    value = values[-1] if values else None
    if (value or default) != "1":
        yield violation(
            args.urn,
            "parameters[rds.force_ssl]",
            shown(value, default),
            "PostgreSQL must refuse connections without TLS",
            'add {"name": "rds.force_ssl", "value": "1"} to the parameter group',
        )


def check_minor_upgrades(args: ResourceValidationArgs) -> Iterator[str]:
    value = args.props.get("autoMinorVersionUpgrade")
    if value is False:
        yield violation(
            args.urn,
            "autoMinorVersionUpgrade",
            shown(value),
            "security patches must apply automatically",
            "set auto_minor_version_upgrade=True (or leave it unset)",
        )


def check_log_exports(args: ResourceValidationArgs) -> Iterator[str]:
    exports = [str(e) for e in items(args.props.get("enabledCloudwatchLogsExports"))]
    engine = str(args.props.get("engine") or "")
    needed = "postgresql" if engine.startswith("postgres") else None
    if not exports or (needed and needed not in exports):
        yield violation(
            args.urn,
            "enabledCloudwatchLogsExports",
            shown(exports or None),
            "database logs must reach CloudWatch Logs" + (f" (including {needed!r})" if needed else ""),
            'set enabled_cloudwatch_logs_exports=["postgresql", "upgrade"] with a pre-created log group',
        )


def check_iam_auth_or_managed_secret(args: ResourceValidationArgs) -> Iterator[str]:
    iam = args.props.get("iamDatabaseAuthenticationEnabled") is True
    managed = args.props.get("manageMasterUserPassword") is True
    if not (iam or managed):
        yield violation(
            args.urn,
            "iamDatabaseAuthenticationEnabled/manageMasterUserPassword",
            "false/false",
            "credentials must come from IAM or a Secrets Manager secret RDS rotates, never a plain password",
            "set manage_master_user_password=True (and drop password) "
            "or iam_database_authentication_enabled=True",
        )


def check_major_only_version(args: ResourceValidationArgs) -> Iterator[str]:
    version = str(args.props.get("engineVersion") or "")
    if "." in version and args.props.get("autoMinorVersionUpgrade") is not False:
        yield violation(
            args.urn,
            "engineVersion",
            shown(version),
            "with automatic minor upgrades, a pinned minor fails the next deploy once RDS has moved "
            "past it (no upgrade path back), and AWS stops creating old minors",
            f'set engine_version to the major only ("{version.split(".")[0]}") and read '
            "engine_version_actual where the running version is needed",
        )


POLICIES = [
    resource_policy(
        "rds-storage-encrypted",
        "RDS.3: RDS DB instances must be encrypted at rest.",
        [INSTANCE],
        check_storage_encrypted,
    ),
    resource_policy(
        "rds-no-public-access",
        "RDS.2: RDS DB instances must not be publicly accessible.",
        [INSTANCE],
        check_not_public,
    ),
    resource_policy(
        "rds-multi-az",
        "RDS.5: RDS DB instances must be configured with multiple Availability Zones.",
        [INSTANCE],
        check_multi_az,
        required_flag_schema("Multi-AZ"),
    ),
    resource_policy(
        "rds-backup-retention",
        "RDS.11: RDS DB instances must keep automated backups for the minimum period.",
        [INSTANCE],
        check_backup_retention,
        minimum_days_schema(PROD_BACKUP_DAYS, "backup retention"),
    ),
    resource_policy(
        "rds-deletion-protection",
        "RDS.8: RDS DB instances must have deletion protection enabled.",
        [INSTANCE],
        check_deletion_protection,
        required_flag_schema("deletion protection"),
    ),
    resource_policy(
        "rds-force-ssl",
        "Relay (no FSBP control): RDS PostgreSQL parameter groups must set rds.force_ssl=1.",
        [PARAMETER_GROUP],
        check_force_ssl,
    ),
    resource_policy(
        "rds-auto-minor-version-upgrade",
        "RDS.13: RDS automatic minor version upgrades must be enabled.",
        [INSTANCE],
        check_minor_upgrades,
    ),
    resource_policy(
        "rds-log-exports",
        "RDS.9: RDS DB instances must publish logs to CloudWatch Logs.",
        [INSTANCE],
        check_log_exports,
    ),
    resource_policy(
        "rds-iam-auth-or-managed-secret",
        "RDS.10: RDS DB instances must use IAM authentication or a Secrets Manager-managed master password.",
        [INSTANCE],
        check_iam_auth_or_managed_secret,
    ),
    resource_policy(
        "rds-engine-version-major-only",
        "Relay (no FSBP control): RDS engine versions name the major only when minors upgrade automatically.",
        [INSTANCE],
        check_major_only_version,
    ),
]
