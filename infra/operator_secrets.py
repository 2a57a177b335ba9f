"""OperatorSecrets: a Secrets Manager secret per operator-supplied credential.

(Not named secrets.py: Pulumi puts infra/ on sys.path, where that name would shadow the stdlib.)

Each secret always exists, so its ARN is stable and IAM can name it; it gets a value only when
the stack config holds one (`pulumi config set --secret ...`). An absent value never blocks a
deploy: the feature that needs it reports itself unconfigured, and the runbook says how to set it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.keys import encryption_key


@dataclass(frozen=True)
class OperatorSecretsArgs:
    name_prefix: str
    # secret name (kebab-case) -> value from config, or None when not set
    values: Mapping[str, pulumi.Input[str] | None]


class OperatorSecrets(pulumi.ComponentResource):
    def __init__(self, name: str, args: OperatorSecretsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("relay:operator_secrets:OperatorSecrets", name, None, opts)
        key = encryption_key(f"{name}-secrets-key", "operator-supplied secrets", self)
        self.key_arn = key.arn
        self.arns: dict[str, pulumi.Output[str]] = {}
        for secret_name, value in args.values.items():
            secret = aws.secretsmanager.Secret(
                f"{name}-{secret_name}",
                name=f"{args.name_prefix}/{secret_name}",
                kms_key_id=key.arn,
                recovery_window_in_days=30,
                opts=pulumi.ResourceOptions(parent=self),
            )
            if value is not None:
                aws.secretsmanager.SecretVersion(
                    f"{name}-{secret_name}-value",
                    secret_id=secret.id,
                    secret_string=pulumi.Output.secret(value),
                    opts=pulumi.ResourceOptions(parent=self),
                )
            self.arns[secret_name] = secret.arn
        self.register_outputs({"arns": self.arns})
