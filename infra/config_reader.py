"""Typed reading of raw `relay:*` config strings, with errors that name the key and the fix.

Each key has an example value here; every error message ends with the exact command that sets
a valid value, so an operator can copy it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

# An example value per key: what the fix in an error message suggests.
EXAMPLES: dict[str, str] = {
    "environment": "prod",
    "region": "eu-west-1",
    "backupRegion": "eu-central-1",
    "domain": "relay.example.com",
    "hostedZoneId": "Z0123456789ABCDEFGHIJ",
    "vpcCidr": "10.20.0.0/16",
    "availabilityZones": '["eu-west-1a","eu-west-1b","eu-west-1c"]',
    "natGatewayPerAz": "true",
    "dbInstanceClass": "db.r6g.large",
    "dbEngineVersion": "17",
    "dbAllocatedStorageGb": "100",
    "dbMaxAllocatedStorageGb": "500",
    "dbMultiAz": "true",
    "dbBackupRetentionDays": "14",
    "dbMaxConnections": "400",
    "dbPerformanceInsightsRetentionDays": "7",
    "dbMonitoringIntervalSeconds": "60",
    "dbBackupWindow": "01:00-01:30",
    "dbMaintenanceWindow": "sun:04:00-sun:04:30",
    "cacheNodeType": "cache.r7g.large",
    "cacheEngineVersion": "7.1",
    "cacheNodeCount": "2",
    "cacheSnapshotRetentionDays": "7",
    "eksVersion": "1.36",
    "eksNodeInstanceTypes": '["m7g.large"]',
    "eksNodeMinSize": "3",
    "eksNodeDesiredSize": "3",
    "eksNodeMaxSize": "9",
    "eksPublicAccessCidrs": '["203.0.113.0/24"]',
    "eksDeployerRoleArn": "arn:aws:iam::123456789012:role/relay-deployer",
    "eksOncallRoleArn": "arn:aws:iam::123456789012:role/relay-oncall",
    "lbControllerChartVersion": "3.5.0",
    "clusterAutoscalerChartVersion": "9.56.0",
    "appImage": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/relay-prod@sha256:" + "0" * 64,
    "buildOnPreview": "false",
    "appMinReplicas": "3",
    "appMaxReplicas": "12",
    "appCpuRequest": "500m",
    "appMemoryRequest": "512Mi",
    "appMemoryLimit": "1Gi",
    "appDbPoolSize": "10",
    "authIssuer": "https://clerk.relay.example.com",
    "authJwksUrl": "https://clerk.relay.example.com/.well-known/jwks.json",
    "clerkPublishableKey": "pk_live_Y2xlcmsucmVsYXkuZXhhbXBsZS5jb20k",
    "wafRateLimitPer5Min": "2000",
    "shieldAdvanced": "false",
    "alarmEmails": '["oncall@example.com"]',
    "runbookBaseUrl": "https://github.com/example/relay/blob/main",
    "logRetentionDays": "90",
    "cdnPublicKeyPem": '"$(cat cdn-signer-public.pem)"',
    "cdnPriceClass": "PriceClass_100",
    "uploadsNoncurrentVersionDays": "30",
    "accessLogRetentionDays": "365",
    "backupRetentionDays": "35",
    "backupSchedule": "'cron(0 2 * * ? *)'",
    "backupStartWindowMinutes": "60",
    "backupVaultLockMode": "governance",
    "sentryDsn": "https://<key>@o0.ingest.sentry.io/<project>",
    "dbRestoredInstanceId": "relay-prod-pitr-202612010300",
    "socketServer": "native",
    "alarmWebhookUrl": "https://hooks.example.com/relay",
    "cdnSignerPrivateKeyPem": '"$(cat cdn-signer-private.pem)"',
}
# Optional secrets: set with `pulumi config set --secret`; never in the committed YAML.
SECRET_KEYS = ("alarmWebhookUrl", "cdnSignerPrivateKeyPem", "sentryDsn")
# Optional plain settings: absent means the program's default behaviour (see infra/config.py).
OPTIONAL_KEYS = ("appImage", "dbRestoredInstanceId", "socketServer")


class ConfigError(ValueError):
    """A stack setting is missing or invalid; the message names the key and the fix."""


class ConfigReader:
    """Typed access to raw config strings, raising ConfigError that names key, value and fix."""

    def __init__(self, stack: str, raw: Callable[[str], str | None]):
        self.stack = stack
        self.raw = raw

    def fail(self, key: str, value: object, problem: str) -> ConfigError:
        shown = "not set" if value is None else f"{value!r}"
        example = EXAMPLES[key]
        quoted = f"'{example}'" if example.startswith("[") or example.startswith('["') else example
        return ConfigError(
            f"relay:{key} is {shown}: {problem}. "
            f"Fix: pulumi config set relay:{key} {quoted} --stack {self.stack}"
        )

    def text(self, key: str, pattern: re.Pattern[str] | None = None, what: str = "") -> str:
        value = self.raw(key)
        if value is None or value.strip() == "":
            raise self.fail(key, value, f"it is required ({what or 'see infra/config.py'})")
        if pattern is not None and not pattern.match(value):
            raise self.fail(key, value, f"expected {what}")
        return value

    def optional_text(self, key: str, pattern: re.Pattern[str], what: str) -> str | None:
        value = self.raw(key)
        if value is None or value.strip() == "":
            return None
        return self.text(key, pattern, what)

    def integer(self, key: str, low: int, high: int) -> int:
        value = self.text(key, what=f"a whole number from {low} to {high}")
        try:
            number = int(value)
        except ValueError:
            raise self.fail(key, value, f"expected a whole number from {low} to {high}") from None
        if not low <= number <= high:
            raise self.fail(key, value, f"must be from {low} to {high}")
        return number

    def boolean(self, key: str) -> bool:
        value = self.text(key, what="true or false")
        if value.lower() not in ("true", "false"):
            raise self.fail(key, value, "expected true or false")
        return value.lower() == "true"

    def strings(self, key: str, minimum: int = 1) -> tuple[str, ...]:
        value = self.text(key, what="a JSON list of strings")
        try:
            items = json.loads(value)
        except json.JSONDecodeError:
            items = None
        if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
            raise self.fail(key, value, "expected a list of non-empty strings")
        if len(items) < minimum:
            raise self.fail(key, value, f"needs at least {minimum} entries")
        return tuple(items)

    def https_url(self, key: str) -> str:
        return self.text(key, re.compile(r"^https://[^\s/]+(/\S*)?$"), "an https:// URL").rstrip("/")

    def choice(self, key: str, allowed: tuple[Any, ...], value: Any) -> Any:
        if value not in allowed:
            raise self.fail(key, value, f"must be one of {', '.join(map(str, allowed))}")
        return value
