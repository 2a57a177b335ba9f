"""Stack settings: every `relay:*` key read once, validated, and frozen.

Components never read config; they get these values through their args. Each error names the
key, the value it had and the command that fixes it. Encryption, public-access blocks and
deletion protection have no key at all: no stack can turn them off.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

import pulumi
from pulumi.runtime import config as runtime_config

from infra import capacity, eks_versions
from infra.cluster_checks import check_cluster
from infra.config_reader import EXAMPLES, OPTIONAL_KEYS, SECRET_KEYS, ConfigError, ConfigReader
from infra.maintenance_windows import check_windows

# CloudWatch Logs accepts only these retention periods.
# fmt: off
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)
# fmt: on
DIGEST_PINNED_IMAGE = re.compile(r"^[a-z0-9.\-]+(:[0-9]+)?/[a-z0-9._/\-]+@sha256:[0-9a-f]{64}$")
ROLE_ARN = re.compile(r"^arn:aws:iam::[0-9]{12}:role/[\w+=,.@/\-]+$")
RDS_IDENTIFIER = re.compile(r"^[a-z](?!.*--)[a-z0-9-]{0,61}[a-z0-9]$")
# relay:socketServer, the app's RELAY_SOCKET_SERVER: the first is the default when the key is unset;
# python-socketio stays selectable as the fallback.
SOCKET_SERVERS = ("native", "python-socketio")


@dataclass(frozen=True)
class Settings:
    stack: str
    environment: Literal["prod", "staging"]
    region: str
    backup_region: str
    domain: str
    hosted_zone_id: str
    vpc_cidr: str
    availability_zones: tuple[str, ...]
    nat_gateway_per_az: bool
    db_instance_class: str
    db_engine_version: str  # major only: RDS applies minors itself (auto_minor_version_upgrade)
    db_allocated_storage_gb: int
    db_max_allocated_storage_gb: int
    db_multi_az: bool
    db_backup_retention_days: int
    db_max_connections: int
    db_performance_insights_retention_days: int
    db_monitoring_interval_seconds: int
    db_backup_window: str  # hh:mm-hh:mm UTC, daily
    db_maintenance_window: str  # ddd:hh:mm-ddd:hh:mm UTC, weekly
    cache_node_type: str
    cache_engine_version: str
    cache_node_count: int
    cache_snapshot_retention_days: int
    eks_version: str
    eks_node_instance_types: tuple[str, ...]
    eks_node_min_size: int
    eks_node_desired_size: int
    eks_node_max_size: int
    eks_public_access_cidrs: tuple[str, ...]
    eks_deployer_role_arn: str
    eks_oncall_role_arn: str
    lb_controller_chart_version: str
    cluster_autoscaler_chart_version: str
    build_on_preview: bool
    app_min_replicas: int
    app_max_replicas: int
    app_cpu_request: str
    app_memory_request: str
    app_memory_limit: str
    app_db_pool_size: int
    auth_issuer: str
    auth_jwks_url: str
    clerk_publishable_key: str
    waf_rate_limit_per_5min: int
    shield_advanced: bool
    alarm_emails: tuple[str, ...]
    runbook_base_url: str
    log_retention_days: int
    cdn_public_key_pem: str
    cdn_price_class: str
    uploads_noncurrent_version_days: int
    access_log_retention_days: int
    backup_retention_days: int
    backup_schedule: str  # cron(M H * * ? *): daily, UTC
    backup_start_window_minutes: int
    backup_vault_lock_mode: Literal["governance", "compliance"]
    # The rollback and promotion lever: when set, this digest is deployed and nothing is built.
    app_image: str | None = None
    # Set only after a point-in-time restore: the stack adopts that instance (database-restore.md);
    # naming the original instance again adopts it back (the restore's rollback).
    db_restored_instance_id: str | None = None
    # `native` (the default): the app's own socket server, with /api/socketio on its own port and
    # target group (issue 13, infra/socket_route.py); `python-socketio` serves it on the app port.
    socket_server: Literal["native", "python-socketio"] = "native"
    # Optional secrets: None when unset (the Secrets Manager secret is then created empty).
    alarm_webhook_url: pulumi.Input[str] | None = None
    cdn_signer_private_key: pulumi.Input[str] | None = None
    sentry_dsn: pulumi.Input[str] | None = None

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    @property
    def native_sockets(self) -> bool:
        return self.socket_server == "native"

    @property
    def app_url(self) -> str:
        return f"https://{self.domain}"

    @property
    def files_domain(self) -> str:
        return f"files.{self.domain}"

    @property
    def node_architecture(self) -> str:
        """arm64 for Graviton families, x86_64 otherwise: the AMI and the app image follow it."""
        return capacity.architecture(self.eks_node_instance_types) or "x86_64"

    @property
    def name_prefix(self) -> str:
        """Prefix of physical names, so prod and staging can share an account without clashing."""
        return f"relay-{self.environment}"

    @property
    def db_identifier(self) -> str:
        """The database instance: the one a restore created once the stack has adopted it."""
        return self.db_restored_instance_id or self.name_prefix


def parse_settings(
    stack: str,
    raw: Callable[[str], str | None],
    secrets: Mapping[str, pulumi.Input[str] | None] | None = None,
    present_keys: tuple[str, ...] = (),
    today: date | None = None,
) -> Settings:
    """Build Settings from raw config strings (as Pulumi stores them, objects as JSON).

    `today` decides which Kubernetes versions are still in EKS standard support (tests pass it).
    """
    read = ConfigReader(stack, raw)
    today = today or eks_versions.judging_day()
    unknown = sorted(set(present_keys) - set(EXAMPLES) - set(OPTIONAL_KEYS))
    if unknown:
        key = unknown[0]
        raise ConfigError(
            f"relay:{key} is not a setting of this program (value {raw(key)!r}); encryption, "
            "public-access blocks and deletion protection are always on and cannot be configured. "
            f"Fix: pulumi config rm relay:{key} --stack {stack}"
        )
    environment = read.choice(
        "environment", ("prod", "staging"), read.text("environment", what="prod or staging")
    )
    secrets = secrets or {}
    settings = Settings(
        stack=stack,
        environment=environment,
        region=read.text("region", re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$"), "an AWS region"),
        backup_region=read.text("backupRegion", re.compile(r"^[a-z]{2}(-[a-z]+)+-\d$"), "an AWS region"),
        domain=read.text("domain", re.compile(r"^([a-z0-9-]+\.)+[a-z]{2,}$"), "a DNS name"),
        hosted_zone_id=read.text("hostedZoneId", re.compile(r"^Z[A-Z0-9]{5,31}$"), "a Route 53 zone id"),
        vpc_cidr=_cidr(read, "vpcCidr"),
        availability_zones=read.strings("availabilityZones", minimum=3),
        nat_gateway_per_az=read.boolean("natGatewayPerAz"),
        db_instance_class=read.text(
            "dbInstanceClass", re.compile(r"^db\.[a-z0-9]+\.[a-z0-9]+$"), "db.<family>.<size>"
        ),
        db_engine_version=read.text(
            "dbEngineVersion",
            re.compile(r"^\d{2}$"),
            "a PostgreSQL major version only, like 17: RDS upgrades minors itself in the maintenance "
            "window, so a pinned minor fails the next deploy (no upgrade path back to it) and old "
            "minors can no longer be created",
        ),
        db_allocated_storage_gb=read.integer("dbAllocatedStorageGb", 20, 65536),
        db_max_allocated_storage_gb=read.integer("dbMaxAllocatedStorageGb", 21, 65536),
        db_multi_az=read.boolean("dbMultiAz"),
        db_backup_retention_days=read.integer("dbBackupRetentionDays", 7, 35),
        db_max_connections=read.integer("dbMaxConnections", 50, 5000),
        db_performance_insights_retention_days=read.integer("dbPerformanceInsightsRetentionDays", 7, 731),
        db_monitoring_interval_seconds=read.choice(
            "dbMonitoringIntervalSeconds",
            (1, 5, 10, 15, 30, 60),
            read.integer("dbMonitoringIntervalSeconds", 1, 60),
        ),
        db_backup_window=read.text(
            "dbBackupWindow",
            re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$"),
            "hh:mm-hh:mm (UTC)",
        ),
        db_maintenance_window=read.text(
            "dbMaintenanceWindow",
            re.compile(
                r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-"
                r"(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$"
            ),
            "ddd:hh:mm-ddd:hh:mm (UTC)",
        ),
        cache_node_type=read.text(
            "cacheNodeType", re.compile(r"^cache\.[a-z0-9]+\.[a-z0-9]+$"), "cache.<family>.<size>"
        ),
        cache_engine_version=read.text(
            "cacheEngineVersion", re.compile(r"^\d+\.\d+$"), "a Redis major.minor"
        ),
        cache_node_count=read.integer("cacheNodeCount", 1, 6),
        cache_snapshot_retention_days=read.integer("cacheSnapshotRetentionDays", 7, 35),
        eks_version=read.text(
            "eksVersion", re.compile(r"^1\.\d{2}$"), "a Kubernetes minor version like 1.36"
        ),
        eks_node_instance_types=read.strings("eksNodeInstanceTypes"),
        eks_node_min_size=read.integer("eksNodeMinSize", 1, 100),
        eks_node_desired_size=read.integer("eksNodeDesiredSize", 1, 100),
        eks_node_max_size=read.integer("eksNodeMaxSize", 1, 100),
        eks_public_access_cidrs=tuple(
            _cidr(read, "eksPublicAccessCidrs", c) for c in read.strings("eksPublicAccessCidrs")
        ),
        eks_deployer_role_arn=read.text("eksDeployerRoleArn", ROLE_ARN, "an IAM role ARN"),
        eks_oncall_role_arn=read.text("eksOncallRoleArn", ROLE_ARN, "an IAM role ARN"),
        lb_controller_chart_version=read.text(
            "lbControllerChartVersion", re.compile(r"^\d+\.\d+\.\d+$"), "x.y.z"
        ),
        cluster_autoscaler_chart_version=read.text(
            "clusterAutoscalerChartVersion", re.compile(r"^\d+\.\d+\.\d+$"), "x.y.z"
        ),
        build_on_preview=read.boolean("buildOnPreview"),
        app_image=read.optional_text(
            "appImage", DIGEST_PINNED_IMAGE, "an image pinned by digest only (<repo>@sha256:<64 hex>)"
        ),
        app_min_replicas=read.integer("appMinReplicas", 1, 100),
        app_max_replicas=read.integer("appMaxReplicas", 1, 200),
        app_cpu_request=read.text("appCpuRequest", re.compile(r"^\d+m?$"), "a CPU quantity like 500m"),
        app_memory_request=read.text(
            "appMemoryRequest", re.compile(r"^\d+(Mi|Gi)$"), "a memory quantity like 512Mi"
        ),
        app_memory_limit=read.text(
            "appMemoryLimit", re.compile(r"^\d+(Mi|Gi)$"), "a memory quantity like 1Gi"
        ),
        app_db_pool_size=read.integer("appDbPoolSize", 1, 100),
        auth_issuer=read.https_url("authIssuer"),
        auth_jwks_url=read.https_url("authJwksUrl"),
        # Public by design (the browser loads Clerk's SDK with it); the secret key stays a secret.
        clerk_publishable_key=read.text(
            "clerkPublishableKey", re.compile(r"^pk_(live|test)_[A-Za-z0-9+/=]+$"), "a Clerk publishable key"
        ),
        waf_rate_limit_per_5min=read.integer("wafRateLimitPer5Min", 100, 2_000_000_000),
        shield_advanced=read.boolean("shieldAdvanced"),
        alarm_emails=read.strings("alarmEmails"),
        runbook_base_url=read.https_url("runbookBaseUrl"),
        log_retention_days=read.choice(
            "logRetentionDays", LOG_RETENTION_DAYS, read.integer("logRetentionDays", 1, 3653)
        ),
        cdn_public_key_pem=read.text(
            "cdnPublicKeyPem",
            re.compile(r"^-----BEGIN PUBLIC KEY-----[\s\S]+-----END PUBLIC KEY-----\s*$"),
            "a PEM public key",
        ),
        cdn_price_class=read.choice(
            "cdnPriceClass",
            ("PriceClass_100", "PriceClass_200", "PriceClass_All"),
            read.text("cdnPriceClass"),
        ),
        uploads_noncurrent_version_days=read.integer("uploadsNoncurrentVersionDays", 1, 3650),
        access_log_retention_days=read.integer("accessLogRetentionDays", 1, 3650),
        backup_retention_days=read.integer("backupRetentionDays", 7, 3650),
        backup_schedule=read.text(
            "backupSchedule",
            re.compile(r"^cron\(\d{1,2} \d{1,2} \* \* \? \*\)$"),
            "a daily cron(M H * * ? *) in UTC",
        ),
        backup_start_window_minutes=read.integer("backupStartWindowMinutes", 60, 720),
        backup_vault_lock_mode=read.choice(
            "backupVaultLockMode", ("governance", "compliance"), read.text("backupVaultLockMode")
        ),
        db_restored_instance_id=read.optional_text(
            "dbRestoredInstanceId", RDS_IDENTIFIER, "the identifier of the restored RDS instance"
        ),
        socket_server=read.choice(
            "socketServer", SOCKET_SERVERS, (raw("socketServer") or "").strip() or SOCKET_SERVERS[0]
        ),
        alarm_webhook_url=secrets.get("alarmWebhookUrl"),
        cdn_signer_private_key=secrets.get("cdnSignerPrivateKeyPem"),
        sentry_dsn=secrets.get("sentryDsn"),
    )
    _check_consistency(read, settings)
    check_cluster(read, settings, today)
    check_windows(read, settings)
    return settings


def _cidr(read: ConfigReader, key: str, value: str | None = None) -> str:
    value = read.text(key, what="a CIDR block") if value is None else value
    try:
        return str(ipaddress.ip_network(value, strict=True))
    except ValueError:
        raise read.fail(key, value, "expected a CIDR block like 10.20.0.0/16") from None


def _check_consistency(read: ConfigReader, s: Settings) -> None:
    """Rules across keys, and the floors production may not go below."""
    if s.backup_region == s.region:
        raise read.fail(
            "backupRegion", s.backup_region, "must differ from relay:region (it holds the copies)"
        )
    if any(not az.startswith(s.region) for az in s.availability_zones):
        raise read.fail("availabilityZones", list(s.availability_zones), f"every zone must be in {s.region}")
    if s.db_max_allocated_storage_gb <= s.db_allocated_storage_gb:
        raise read.fail(
            "dbMaxAllocatedStorageGb",
            s.db_max_allocated_storage_gb,
            "must exceed relay:dbAllocatedStorageGb, or storage autoscaling is off",
        )
    if not s.eks_node_min_size <= s.eks_node_desired_size <= s.eks_node_max_size:
        raise read.fail(
            "eksNodeDesiredSize",
            s.eks_node_desired_size,
            "must lie between eksNodeMinSize and eksNodeMaxSize",
        )
    if s.app_max_replicas < s.app_min_replicas:
        raise read.fail("appMaxReplicas", s.app_max_replicas, "must be at least relay:appMinReplicas")
    if s.app_db_pool_size * s.app_max_replicas > 0.8 * s.db_max_connections:
        raise read.fail(
            "appDbPoolSize",
            s.app_db_pool_size,
            f"pool size x appMaxReplicas ({s.app_max_replicas}) must stay within 80% of "
            f"dbMaxConnections ({s.db_max_connections})",
        )
    if not s.is_prod:
        return
    floors = (
        ("dbMultiAz", s.db_multi_az, s.db_multi_az, "production runs the database in two zones"),
        (
            "natGatewayPerAz",
            s.nat_gateway_per_az,
            s.nat_gateway_per_az,
            "production needs a NAT gateway per zone",
        ),
        (
            "dbBackupRetentionDays",
            s.db_backup_retention_days,
            s.db_backup_retention_days >= 14,
            "production keeps backups >= 14 days",
        ),
        (
            "cacheNodeCount",
            s.cache_node_count,
            s.cache_node_count >= 2,
            "production needs a replica for failover",
        ),
        (
            "appMinReplicas",
            s.app_min_replicas,
            s.app_min_replicas >= 2,
            "production needs >= 2 pods to roll safely",
        ),
        (
            "eksPublicAccessCidrs",
            list(s.eks_public_access_cidrs),
            all(ipaddress.ip_network(c).prefixlen > 0 for c in s.eks_public_access_cidrs),
            "production may not open the Kubernetes API to the whole internet",
        ),
    )
    for key, value, ok, why in floors:
        if not ok:
            raise read.fail(key, value, why)


def load_settings() -> Settings:
    """Read this stack's `relay:*` config (the Pulumi engine supplies it) into Settings."""
    config = pulumi.Config("relay")
    present = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    keys = tuple(k.split(":", 1)[1] for k in present if k.startswith("relay:"))
    for key in SECRET_KEYS:
        if runtime_config.get_config(f"relay:{key}") is not None and not runtime_config.is_config_secret(
            f"relay:{key}"
        ):
            raise ConfigError(
                f"relay:{key} is stored in plain text: it is a secret. "
                f"Fix: pulumi config set --secret relay:{key} {EXAMPLES[key]} --stack {pulumi.get_stack()}"
            )
    secrets = {key: config.get_secret(key) for key in SECRET_KEYS}
    settings = parse_settings(pulumi.get_stack(), config.get, secrets, keys)
    warning = eks_versions.support_warning(settings.eks_version, eks_versions.judging_day())
    if warning:
        pulumi.log.warn(warning)
    return settings
