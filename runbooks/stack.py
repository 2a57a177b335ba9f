"""A stack's names, derived from its committed config exactly as `infra/` derives them.

The automation reads `Pulumi.<stack>.yaml` (which `pulumi config set` also writes), so it needs
no Pulumi login to find a resource; every name can still be given explicitly as a flag.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import boto3
import yaml

from runbooks.output import OperatorError

REPO_ROOT = Path(__file__).resolve().parent.parent
APP_NAMESPACE = "relay"  # infra/__main__.py
GLOBAL_REGION = "us-east-1"  # CloudFront and Route 53 alarms (infra/alarms.py)
POLICY_PACK = "infra/policy"


@dataclass(frozen=True)
class Stack:
    name: str
    environment: str
    region: str
    backup_region: str
    app_image: str | None  # the pinned digest; None when the stack deploys the image it builds
    restored_db_id: str | None
    config_file: Path

    @property
    def prefix(self) -> str:
        """`relay-<environment>`, the prefix of physical names (infra/config.py `name_prefix`)."""
        return f"relay-{self.environment}"

    @property
    def db_identifier(self) -> str:
        return self.restored_db_id or self.prefix

    @property
    def cache_id(self) -> str:
        return self.prefix

    @property
    def repository_name(self) -> str:
        return self.prefix

    def uploads_bucket(self, account: str) -> str:
        return f"{self.prefix}-uploads-{account}"

    def replica_bucket(self, account: str) -> str:
        return f"{self.prefix}-replica-{account}"

    @property
    def policy_pack_args(self) -> list[str]:
        """The policy pack flags `make preview`/`make deploy` use for this stack."""
        args = ["--policy-pack", POLICY_PACK]
        config = REPO_ROOT / POLICY_PACK / "config" / f"{self.name}.json"
        if config.exists():
            args += ["--policy-pack-config", str(config.relative_to(REPO_ROOT))]
        return args


def add_stack_flags(parser) -> None:
    parser.add_argument("--stack", required=True, help="the Pulumi stack: prod or staging")
    parser.add_argument(
        "--stack-file",
        type=Path,
        help="the stack config to read (default: Pulumi.<stack>.yaml at the repository root)",
    )


def load_stack(name: str, config_file: Path | None = None) -> Stack:
    path = config_file or REPO_ROOT / f"Pulumi.{name}.yaml"
    if not path.exists():
        raise OperatorError(
            f"no stack config at {path}",
            "pass --stack prod or --stack staging (the Pulumi.<stack>.yaml files), or --stack-file",
        )
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}

    def key(name_: str, required: bool = True) -> str | None:
        value = config.get(f"relay:{name_}")
        if value is None and required:
            raise OperatorError(
                f"{path.name} has no relay:{name_}",
                f"set it (pulumi config set relay:{name_} <value> --stack {name}); "
                "infra/config.py documents it",
            )
        return None if value is None else str(value)

    return Stack(
        name=name,
        environment=key("environment"),
        region=key("region"),
        backup_region=key("backupRegion"),
        app_image=key("appImage", required=False),
        restored_db_id=key("dbRestoredInstanceId", required=False),
        config_file=path,
    )


def client(service: str, region: str):
    """A boto3 client; `AWS_ENDPOINT_URL` (honoured by botocore) points it at an emulator in tests."""
    return boto3.client(service, region_name=region)


def account_id(region: str) -> str:
    return client("sts", region).get_caller_identity()["Account"]


def pulumi_binary() -> str:
    return os.environ.get("PULUMI", "pulumi")
