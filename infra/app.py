"""App: the relay service on EKS, from a digest-pinned image (built from app/ or pinned in config).

Order matters and is declared: the migrations Job for this image must finish (pulumi-kubernetes
waits for a Job to complete) before the Deployment rolls. Pods are non-root with a read-only
root filesystem, spread over zones, drained on shutdown, and attached to the ALB's target
group by a TargetGroupBinding, so the ALB and its settings stay in Pulumi, not in an Ingress.
With the native socket server, a second binding attaches their socket port to SocketRoute's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.database_roles import DatabaseRoles, DatabaseRolesArgs
from infra.irsa import irsa_role, irsa_service_account
from infra.network_policy import NetworkPeers, network_policies
from infra.workload import (
    DRAIN_SECONDS,
    PORT,
    SOCKET_PORT,
    WorkloadSpec,
    deployment_spec,
    migration_job_spec,
)

SERVICE_ACCOUNT = "relay"


@dataclass(frozen=True)
class AppArgs:
    environment: str
    namespace: str
    image: pulumi.Input[str]  # <repo>@sha256:<digest>: built from app/, or relay:appImage
    region: str
    public_url: str
    files_domain: str
    auth_issuer: str
    auth_jwks_url: str
    clerk_publishable_key: str
    # The public (ALB) subnets: the only peers whose X-Forwarded-For is believed. Not the whole VPC:
    # pods and nodes there could otherwise name any client address (issue 7, finding 3).
    trusted_proxy_cidrs: list[pulumi.Input[str]]
    min_replicas: int
    max_replicas: int
    cpu_request: str
    memory_request: str
    memory_limit: str
    db_pool_size: int
    database_address: pulumi.Input[str]
    database_port: int
    database_master_secret_arn: pulumi.Input[str]
    database_key_arn: pulumi.Input[str]
    redis_address: pulumi.Input[str]
    redis_port: int
    redis_auth_token: pulumi.Input[str]
    uploads_bucket: pulumi.Input[str]
    uploads_bucket_arn: pulumi.Input[str]
    uploads_key_arn: pulumi.Input[str]
    cdn_key_pair_id: pulumi.Input[str]
    target_group_arn: pulumi.Input[str]
    alb_security_group_id: pulumi.Input[str]
    oidc_provider: aws.iam.OpenIdConnectProvider
    lb_controller: pulumi.Resource  # installs the TargetGroupBinding CRD
    peers: NetworkPeers  # who may reach the pods, and whom they may reach
    # relay:socketServer=native: SocketRoute's target group, where the pods' socket port is bound.
    # None: python-socketio serves sockets on the app port.
    socket_target_group_arn: pulumi.Input[str] | None = None
    cdn_signer_private_key: pulumi.Input[str] | None = None
    sentry_dsn: pulumi.Input[str] | None = None


class App(pulumi.ComponentResource):
    def __init__(self, name: str, args: AppArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("relay:app:App", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        labels = {"app.kubernetes.io/name": "relay", "app.kubernetes.io/component": "api"}
        namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": args.namespace,
                "labels": {
                    "pod-security.kubernetes.io/enforce": "restricted",
                    # The LB controller holds a pod "not ready" until the ALB sees it healthy.
                    "elbv2.k8s.aws/pod-readiness-gate-inject": "enabled",
                },
            },
            opts=child,
        )
        in_namespace = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
        # Before any pod: the namespace denies all traffic but what these policies allow.
        socket_port = SOCKET_PORT if args.socket_target_group_arn is not None else None
        policies = network_policies(
            name, args.namespace, labels, args.peers, self, namespace, socket_port=socket_port
        )
        self.roles = DatabaseRoles(
            f"{name}-db-roles",
            DatabaseRolesArgs(
                namespace=args.namespace,
                image=args.image,
                region=args.region,
                labels=labels,
                database_address=args.database_address,
                database_port=args.database_port,
                master_secret_arn=args.database_master_secret_arn,
                database_key_arn=args.database_key_arn,
                oidc_provider=args.oidc_provider,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[namespace, *policies]),
        )
        irsa = irsa_role(
            f"{name}-uploads",
            args.oidc_provider,
            args.namespace,
            SERVICE_ACCOUNT,
            parent=self,
            policy=pulumi.Output.all(args.uploads_bucket_arn, args.uploads_key_arn).apply(
                lambda v: _uploads_policy(*v)
            ),
        )
        account = irsa_service_account(name, irsa.role, args.namespace, SERVICE_ACCOUNT, in_namespace)
        settings, secrets = self._settings(args), self._secrets(args)
        config = k8s.core.v1.ConfigMap(
            f"{name}-config",
            metadata={"name": "relay-config", "namespace": args.namespace, "labels": labels},
            data=settings,
            opts=in_namespace,
        )
        secret = k8s.core.v1.Secret(
            f"{name}-secrets",
            metadata={"name": "relay-secrets", "namespace": args.namespace, "labels": labels},
            type="Opaque",
            string_data=secrets,
            opts=in_namespace,
        )
        # Pods read settings at start-up only; a changed value must roll them.
        checksum = pulumi.Output.json_dumps({"settings": settings, "secrets": secrets}).apply(
            lambda text: hashlib.sha256(text.encode()).hexdigest()
        )
        spec = WorkloadSpec(
            image=args.image,
            labels=labels,
            service_account=SERVICE_ACCOUNT,
            config_map=config.metadata.name,
            secret=secret.metadata.name,
            cpu_request=args.cpu_request,
            memory_request=args.memory_request,
            memory_limit=args.memory_limit,
        )
        # Named after the image: a new image is a new Job; a re-deploy of the same image is a no-op.
        # The digest may be known only once the build ran: the name is an Output, the Job is not.
        job_name = pulumi.Output.from_input(args.image).apply(
            lambda ref: f"relay-migrate-{ref.rsplit('@sha256:', 1)[1][:12]}"
        )
        migrations = k8s.batch.v1.Job(
            f"{name}-migrate",
            metadata={"name": job_name, "namespace": args.namespace, "labels": labels},
            spec=migration_job_spec(spec),
            # Pulumi waits for the Job to complete: as long as the Job itself may run (900 s). Its
            # pod needs the service account, the role's permissions and its network policy first.
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[namespace, config, secret, self.roles.job, account, *irsa.grants, *policies],
                delete_before_replace=True,
                custom_timeouts=pulumi.CustomTimeouts(create="16m", update="16m"),
            ),
        )
        bindings = self._traffic(name, args, labels, in_namespace, socket_port)
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata={"name": "relay", "namespace": args.namespace, "labels": labels},
            spec=deployment_spec(spec, checksum, socket_port=socket_port),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[migrations, *bindings]),
        )
        self._scaling(name, args, labels, in_namespace)
        self.migrations_job = migrations
        self.register_outputs({"deployment": self.deployment.metadata.name})

    def _settings(self, args: AppArgs) -> dict[str, pulumi.Input[str]]:
        """Non-secret settings, named as the service's settings contract (RELAY_*) expects."""
        settings: dict[str, pulumi.Input[str]] = {
            "RELAY_ENVIRONMENT": args.environment,
            "RELAY_HOST": "0.0.0.0",  # noqa: S104 (inside the pod; only the Service reaches it)
            "RELAY_PORT": "8000",
            "RELAY_PUBLIC_URL": args.public_url,
            # Comma-separated lists, as the service's settings parse them.
            "RELAY_ALLOWED_ORIGINS": args.public_url,
            "RELAY_TRUSTED_PROXIES": pulumi.Output.all(*args.trusted_proxy_cidrs).apply(",".join),
            "RELAY_AUTH_ISSUER": args.auth_issuer,
            "RELAY_AUTH_JWKS_URL": args.auth_jwks_url,
            "RELAY_CLERK_PUBLISHABLE_KEY": args.clerk_publishable_key,
            "RELAY_S3_BUCKET": args.uploads_bucket,
            "RELAY_S3_REGION": args.region,
            "RELAY_CDN_DOMAIN": args.files_domain,
            "RELAY_CDN_KEY_PAIR_ID": args.cdn_key_pair_id,
            "RELAY_DATABASE_POOL_SIZE": str(args.db_pool_size),
            # How long /healthz answers 503 after SIGTERM; the pod's grace period and the ALB's
            # deregistration delay are derived from the same constants (infra/workload.py).
            "RELAY_DRAIN_SECONDS": str(DRAIN_SECONDS),
        }
        if args.socket_target_group_arn is None:
            # Named, not left to the app's default (native): the fallback serves the path on the app port.
            settings["RELAY_SOCKET_SERVER"] = "python-socketio"
        else:
            # Relay's own socket server, also listening where SocketRoute's target group sends the path.
            settings["RELAY_SOCKET_SERVER"] = "native"
            settings["RELAY_SOCKET_PORT"] = str(SOCKET_PORT)
        return settings

    def _secrets(self, args: AppArgs) -> dict[str, pulumi.Input[str]]:
        """Connection URLs for the roles DatabaseRoles sets up; optional secrets only when configured."""
        roles = self.roles

        # asyncpg verifies the server against the RDS CA bundle the image points PGSSLROOTCERT at.
        def database_url(role: str, password: pulumi.Output[str]) -> pulumi.Output[str]:
            return pulumi.Output.format(
                "postgresql+asyncpg://{0}:{1}@{2}:{3}/{4}?ssl=verify-full",
                role,
                password,
                args.database_address,
                args.database_port,
                roles.database,
            )

        values: dict[str, pulumi.Input[str]] = {
            "RELAY_DATABASE_URL": database_url(roles.app_role, roles.app_password),
            "RELAY_MIGRATION_DATABASE_URL": database_url(roles.migrator_role, roles.migrator_password),
            "RELAY_REDIS_URL": pulumi.Output.format(
                "rediss://:{0}@{1}:{2}/0", args.redis_auth_token, args.redis_address, args.redis_port
            ),
        }
        if args.cdn_signer_private_key is not None:
            values["RELAY_CDN_PRIVATE_KEY"] = args.cdn_signer_private_key
        if args.sentry_dsn is not None:
            values["RELAY_SENTRY_DSN"] = args.sentry_dsn
        return values

    def _traffic(
        self,
        name: str,
        args: AppArgs,
        labels: dict[str, str],
        opts: pulumi.ResourceOptions,
        socket_port: int | None,
    ) -> list[pulumi.Resource]:
        """The Service and a TargetGroupBinding per target group. Declared before the Deployment:
        the controller injects a pod's readiness gates only for bindings that exist when the pod is
        created, so a rollout then waits until the new pods are healthy in every target group."""
        meta = {"name": "relay", "namespace": args.namespace, "labels": labels}
        ports = [{"name": "http", "port": PORT, "target_port": "http", "protocol": "TCP"}]
        if socket_port is not None:
            ports.append({"name": "socket", "port": socket_port, "target_port": "socket", "protocol": "TCP"})
        service = k8s.core.v1.Service(
            f"{name}-service",
            metadata=meta,
            spec={"type": "ClusterIP", "selector": labels, "ports": ports},
            opts=opts,
        )
        bindings = [(f"{name}-target-group-binding", "relay", PORT, args.target_group_arn)]
        if socket_port is not None and args.socket_target_group_arn is not None:
            socket_binding = f"{name}-socket-target-group-binding"
            bindings.append((socket_binding, "relay-socket", socket_port, args.socket_target_group_arn))
        return [
            k8s.apiextensions.CustomResource(
                resource_name,
                api_version="elbv2.k8s.aws/v1beta1",
                kind="TargetGroupBinding",
                metadata={**meta, "name": binding_name},
                spec={
                    "serviceRef": {"name": "relay", "port": port},
                    "targetGroupARN": target_group_arn,
                    "targetType": "ip",
                    # The controller opens the pods' security group to the ALB's, on this port only.
                    "networking": {
                        "ingress": [
                            {
                                "from": [{"securityGroup": {"groupID": args.alb_security_group_id}}],
                                "ports": [{"protocol": "TCP", "port": port}],
                            }
                        ]
                    },
                },
                opts=pulumi.ResourceOptions(parent=self, depends_on=[service, args.lb_controller]),
            )
            for resource_name, binding_name, port, target_group_arn in bindings
        ]

    def _scaling(
        self, name: str, args: AppArgs, labels: dict[str, str], opts: pulumi.ResourceOptions
    ) -> None:
        meta = {"name": "relay", "namespace": args.namespace, "labels": labels}
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=meta,
            spec={"max_unavailable": 1, "selector": {"match_labels": labels}},
            opts=opts,
        )
        k8s.autoscaling.v2.HorizontalPodAutoscaler(
            f"{name}-hpa",
            metadata=meta,
            spec={
                "scale_target_ref": {"api_version": "apps/v1", "kind": "Deployment", "name": "relay"},
                "min_replicas": args.min_replicas,
                "max_replicas": args.max_replicas,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "average_utilization": 60},
                        },
                    }
                ],
                # Scale in slowly: every removed pod drops its sockets, which then reconnect.
                "behavior": {
                    "scale_down": {
                        "stabilization_window_seconds": 300,
                        "policies": [{"type": "Pods", "value": 1, "period_seconds": 60}],
                    }
                },
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.deployment]),
        )


def _uploads_policy(bucket_arn: str, key_arn: str) -> str:
    """The app reads, writes and checks uploads in its bucket, nothing else."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:GetObjectAttributes"],
                    "Resource": f"{bucket_arn}/*",
                },
                {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": bucket_arn},
                {
                    "Effect": "Allow",
                    "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": key_arn,
                },
            ],
        }
    )
