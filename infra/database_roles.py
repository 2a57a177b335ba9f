"""DatabaseRoles: the app's and the migrator's PostgreSQL roles, set up in-cluster before migrations.

The master password stays where RDS keeps and rotates it (Secrets Manager): a Job in the cluster
reads it at run time through its own IRSA role and runs `infra/jobs/db_roles.py`. The two role
passwords are generated here and reach the app only through Kubernetes Secrets.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.irsa import irsa_role, irsa_service_account
from infra.workload import WorkloadSpec, db_roles_job_spec

SCRIPT = Path(__file__).parent / "jobs" / "db_roles.py"
SERVICE_ACCOUNT = "relay-db-roles"
DATABASE = "relay"
MIGRATOR_ROLE = "relay_migrator"
APP_ROLE = "relay_app"


@dataclass(frozen=True)
class DatabaseRolesArgs:
    namespace: str
    image: pulumi.Input[str]  # the app image: its Python has asyncpg and boto3
    region: str
    labels: dict[str, str]
    database_address: pulumi.Input[str]
    database_port: int
    master_secret_arn: pulumi.Input[str]
    database_key_arn: pulumi.Input[str]  # encrypts the master secret
    oidc_provider: aws.iam.OpenIdConnectProvider


class DatabaseRoles(pulumi.ComponentResource):
    def __init__(self, name: str, args: DatabaseRolesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("relay:database_roles:DatabaseRoles", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        passwords = {
            role: random.RandomPassword(f"{name}-{role}-password", length=40, special=False, opts=child)
            for role in ("app", "migrator")
        }
        irsa = irsa_role(
            name,
            args.oidc_provider,
            args.namespace,
            SERVICE_ACCOUNT,
            parent=self,
            policy=pulumi.Output.all(args.master_secret_arn, args.database_key_arn).apply(
                lambda v: _read_master_secret(*v)
            ),
        )
        account = irsa_service_account(name, irsa.role, args.namespace, SERVICE_ACCOUNT, child)
        script = SCRIPT.read_text()
        scripts = k8s.core.v1.ConfigMap(
            f"{name}-script",
            metadata={"name": "relay-db-roles-script", "namespace": args.namespace, "labels": args.labels},
            data={SCRIPT.name: script},
            opts=child,
        )
        settings = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata={"name": "relay-db-roles-config", "namespace": args.namespace, "labels": args.labels},
            data={
                "MASTER_SECRET_ARN": args.master_secret_arn,
                "AWS_REGION": args.region,
                "DB_HOST": args.database_address,
                "DB_PORT": str(args.database_port),
                "DB_NAME": DATABASE,
                "MIGRATOR_ROLE": MIGRATOR_ROLE,
                "APP_ROLE": APP_ROLE,
            },
            opts=child,
        )
        secret = k8s.core.v1.Secret(
            f"{name}-passwords",
            metadata={"name": "relay-db-roles-passwords", "namespace": args.namespace, "labels": args.labels},
            type="Opaque",
            string_data={
                "MIGRATOR_PASSWORD": passwords["migrator"].result,
                "APP_PASSWORD": passwords["app"].result,
            },
            opts=child,
        )
        spec = WorkloadSpec(
            image=args.image,
            labels=args.labels,
            service_account=SERVICE_ACCOUNT,
            config_map=settings.metadata.name,
            secret=secret.metadata.name,
            cpu_request="100m",
            memory_request="128Mi",
            memory_limit="256Mi",
        )
        # A changed script is a new Job; otherwise it ran once and stays done.
        version = hashlib.sha256(script.encode()).hexdigest()[:10]
        self.job = k8s.batch.v1.Job(
            f"{name}-job",
            metadata={
                "name": f"relay-db-roles-{version}",
                "namespace": args.namespace,
                "labels": args.labels,
            },
            spec=db_roles_job_spec(spec, scripts.metadata.name, SCRIPT.name),
            # The pod's first AWS call needs its service account and the role's permissions.
            opts=pulumi.ResourceOptions(
                parent=self, delete_before_replace=True, depends_on=[account, *irsa.grants]
            ),
        )
        self.app_role, self.migrator_role, self.database = APP_ROLE, MIGRATOR_ROLE, DATABASE
        self.app_password = passwords["app"].result
        self.migrator_password = passwords["migrator"].result
        self.register_outputs({"job": self.job.metadata.name})


def _read_master_secret(secret_arn: str, key_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret_arn},
                {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn},
            ],
        }
    )
