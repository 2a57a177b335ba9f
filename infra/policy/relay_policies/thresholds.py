"""Pack configuration: the few settings a stack may relax, each with a floor it can never cross.

Only reliability and cost settings are relaxable (DESIGN.md §5 and issue 4): Multi-AZ, automatic
failover, NAT per AZ, deletion protection and retention minimums (down to 7 days). Encryption,
public access, TLS and WAF policies have no config schema at all, so no stack can relax them.
Defaults are the production values: a stack run without `--policy-pack-config` gets prod rules.
"""

from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyConfigSchema

RETENTION_FLOOR_DAYS = 7


class PolicyConfigError(ValueError):
    """A pack config value outside what the policy allows; the message names the key and the fix."""


def required_flag_schema(what: str) -> PolicyConfigSchema:
    return PolicyConfigSchema(
        properties={"required": {"type": "boolean", "default": True, "description": f"require {what}"}}
    )


def minimum_days_schema(default: int, what: str) -> PolicyConfigSchema:
    return PolicyConfigSchema(
        properties={
            "minimumDays": {
                "type": "integer",
                "default": default,
                "minimum": RETENTION_FLOOR_DAYS,
                "description": f"minimum {what} in days (never below {RETENTION_FLOOR_DAYS})",
            }
        }
    )


def required_flag(policy: str, config: Mapping[str, Any]) -> bool:
    value = config.get("required", True)
    if not isinstance(value, bool):
        raise PolicyConfigError(
            f"policy pack config {policy}.required is {value!r}; it must be true or false. "
            f'Fix: set "{policy}": {{"required": true}} in the stack\'s policy config file'
        )
    return value


def minimum_days(policy: str, config: Mapping[str, Any], default: int) -> int:
    value = config.get("minimumDays", default)
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise PolicyConfigError(
            f"policy pack config {policy}.minimumDays is {value!r}; it must be a whole number of days. "
            f'Fix: set "{policy}": {{"minimumDays": {default}}} in the stack\'s policy config file'
        )
    if value < RETENTION_FLOOR_DAYS:
        raise PolicyConfigError(
            f"policy pack config {policy}.minimumDays is {value}; no stack may go below "
            f"{RETENTION_FLOOR_DAYS} days. Fix: set it to {RETENTION_FLOOR_DAYS} or more"
        )
    return int(value)
