"""Relay on AWS: composes one component per concern and exports what operators need."""

import sys
from pathlib import Path

# Pulumi runs this directory as a script (runpy.run_path("infra/")), which puts infra/ itself on
# sys.path; the `infra.*` imports below need the repository root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi
import pulumi_aws as aws

from infra.app import App, AppArgs
from infra.app_image import AppImage, AppImageArgs
from infra.backup import Backup, BackupArgs
from infra.cache import Cache, CacheArgs
from infra.cluster import Cluster, ClusterArgs
from infra.config import load_settings
from infra.database import Database, DatabaseArgs
from infra.edge import Edge, EdgeArgs
from infra.firewall import Firewall, FirewallArgs
from infra.monitoring import Monitoring, MonitoringArgs
from infra.network import Network, NetworkArgs
from infra.network_policy import NetworkPeers
from infra.operator_secrets import OperatorSecrets, OperatorSecretsArgs
from infra.registry import Registry, RegistryArgs
from infra.socket_route import SocketRoute, SocketRouteArgs
from infra.storage import REPLICATION_RULE, Storage, StorageArgs
from infra.workload import SOCKET_PORT

settings = load_settings()
prefix = settings.name_prefix
APP_NAMESPACE = "relay"
APP_SOURCE = Path(__file__).resolve().parent.parent / "app"
# Every AWS resource goes through this provider (default providers are disabled in the stack
# YAML), so every resource carries these tags; other regions are set per resource (`region=`).
aws_provider = aws.Provider(
    "aws",
    region=settings.region,
    default_tags={
        "tags": {
            "project": "relay",
            "environment": settings.environment,
            "stack": settings.stack,
            "managed-by": "pulumi",
        }
    },
)
opts = pulumi.ResourceOptions(providers={"aws": aws_provider})

registry = Registry(f"{prefix}-registry", RegistryArgs(repository_name=prefix), opts)
# relay:appImage pins a digest (rollback, promotion): then nothing is built.
app_image = (
    settings.app_image
    or AppImage(
        f"{prefix}-image",
        AppImageArgs(
            context=APP_SOURCE,
            repository_url=registry.repository_url,
            registry_id=registry.registry_id,
            architecture=settings.node_architecture,
            build_on_preview=settings.build_on_preview,
        ),
        opts,
    ).ref
)
operator_secrets = OperatorSecrets(
    f"{prefix}-secrets",
    OperatorSecretsArgs(
        name_prefix=prefix,
        values={
            "alarm-webhook-url": settings.alarm_webhook_url,
            "cdn-signer-private-key": settings.cdn_signer_private_key,
        },
    ),
    opts,
)
network = Network(
    f"{prefix}-net",
    NetworkArgs(
        region=settings.region,
        cidr=settings.vpc_cidr,
        availability_zones=settings.availability_zones,
        nat_gateway_per_az=settings.nat_gateway_per_az,
        cluster_name=prefix,
        flow_log_retention_days=settings.log_retention_days,
    ),
    opts,
)
firewall = Firewall(
    f"{prefix}-waf",
    FirewallArgs(
        rate_limit_per_5min=settings.waf_rate_limit_per_5min,
        log_retention_days=settings.log_retention_days,
        shield_advanced=settings.shield_advanced,
    ),
    opts,
)
storage = Storage(
    f"{prefix}-storage",
    StorageArgs(
        name_prefix=prefix,
        region=settings.region,
        backup_region=settings.backup_region,
        app_origin=settings.app_url,
        files_domain=settings.files_domain,
        zone_id=settings.hosted_zone_id,
        cdn_signer_public_key_pem=settings.cdn_public_key_pem,
        cdn_web_acl_arn=firewall.global_acl_arn,
        cdn_price_class=settings.cdn_price_class,
        shield_advanced=settings.shield_advanced,
        noncurrent_version_days=settings.uploads_noncurrent_version_days,
        access_log_retention_days=settings.access_log_retention_days,
    ),
    opts,
)
edge = Edge(
    f"{prefix}-edge",
    EdgeArgs(
        domain_name=settings.domain,
        zone_id=settings.hosted_zone_id,
        vpc_id=network.vpc_id,
        vpc_cidr=settings.vpc_cidr,
        public_subnet_ids=network.public_subnet_ids,
        access_log_bucket=storage.logs_bucket_name,
        web_acl_arn=firewall.regional_acl_arn,
        shield_advanced=settings.shield_advanced,
        socket_port=SOCKET_PORT if settings.native_sockets else None,
    ),
    opts,
)
# relay:socketServer=native: /api/socketio goes to the pods' own socket port (issue 13).
socket_route = (
    SocketRoute(
        f"{prefix}-sockets",
        SocketRouteArgs(
            vpc_id=network.vpc_id, https_listener_arn=edge.https_listener.arn, socket_port=SOCKET_PORT
        ),
        opts,
    )
    if settings.native_sockets
    else None
)
cluster = Cluster(
    f"{prefix}-eks",
    ClusterArgs(
        cluster_name=prefix,
        region=settings.region,
        kubernetes_version=settings.eks_version,
        vpc_id=network.vpc_id,
        private_subnet_ids=network.private_subnet_ids,
        public_access_cidrs=settings.eks_public_access_cidrs,
        node_instance_types=settings.eks_node_instance_types,
        node_min_size=settings.eks_node_min_size,
        node_desired_size=settings.eks_node_desired_size,
        node_max_size=settings.eks_node_max_size,
        deployer_role_arn=settings.eks_deployer_role_arn,
        oncall_role_arn=settings.eks_oncall_role_arn,
        app_namespace=APP_NAMESPACE,
        log_retention_days=settings.log_retention_days,
        lb_controller_chart_version=settings.lb_controller_chart_version,
        cluster_autoscaler_chart_version=settings.cluster_autoscaler_chart_version,
        target_group_arns=[
            edge.target_group_arn,
            *([socket_route.target_group_arn] if socket_route is not None else []),
        ],
    ),
    opts,
)
database = Database(
    f"{prefix}-db",
    DatabaseArgs(
        identifier=settings.db_identifier,
        vpc_id=network.vpc_id,
        subnet_ids=network.database_subnet_ids,
        client_security_group_id=cluster.security_group_id,
        instance_class=settings.db_instance_class,
        engine_version=settings.db_engine_version,
        allocated_storage_gb=settings.db_allocated_storage_gb,
        max_allocated_storage_gb=settings.db_max_allocated_storage_gb,
        multi_az=settings.db_multi_az,
        backup_retention_days=settings.db_backup_retention_days,
        max_connections=settings.db_max_connections,
        performance_insights_retention_days=settings.db_performance_insights_retention_days,
        monitoring_interval_seconds=settings.db_monitoring_interval_seconds,
        log_retention_days=settings.log_retention_days,
        backup_window=settings.db_backup_window,
        maintenance_window=settings.db_maintenance_window,
        adopt_existing=settings.db_restored_instance_id is not None,
    ),
    opts,
)
cache = Cache(
    f"{prefix}-cache",
    CacheArgs(
        replication_group_id=prefix,
        vpc_id=network.vpc_id,
        subnet_ids=network.database_subnet_ids,
        client_security_group_id=cluster.security_group_id,
        node_type=settings.cache_node_type,
        engine_version=settings.cache_engine_version,
        node_count=settings.cache_node_count,
        snapshot_retention_days=settings.cache_snapshot_retention_days,
        log_retention_days=settings.log_retention_days,
    ),
    opts,
)
app = App(
    f"{prefix}-app",
    AppArgs(
        environment=settings.environment,
        namespace=APP_NAMESPACE,
        image=app_image,
        region=settings.region,
        public_url=settings.app_url,
        files_domain=settings.files_domain,
        auth_issuer=settings.auth_issuer,
        auth_jwks_url=settings.auth_jwks_url,
        clerk_publishable_key=settings.clerk_publishable_key,
        trusted_proxy_cidrs=network.public_subnet_cidrs,
        min_replicas=settings.app_min_replicas,
        max_replicas=settings.app_max_replicas,
        cpu_request=settings.app_cpu_request,
        memory_request=settings.app_memory_request,
        memory_limit=settings.app_memory_limit,
        db_pool_size=settings.app_db_pool_size,
        database_address=database.address,
        database_port=database.port,
        database_master_secret_arn=database.master_secret_arn,
        database_key_arn=database.key_arn,
        redis_address=cache.primary_endpoint,
        redis_port=cache.port,
        redis_auth_token=cache.auth_token.result,
        uploads_bucket=storage.uploads_bucket_name,
        uploads_bucket_arn=storage.uploads_bucket_arn,
        uploads_key_arn=storage.uploads_key_arn,
        cdn_key_pair_id=storage.cdn_key_pair_id,
        target_group_arn=edge.target_group_arn,
        socket_target_group_arn=socket_route.target_group_arn if socket_route is not None else None,
        alb_security_group_id=edge.security_group_id,
        oidc_provider=cluster.oidc_provider,
        lb_controller=cluster.lb_controller.release,
        peers=NetworkPeers(
            load_balancer_cidrs=network.public_cidrs,
            scraper_cidrs=network.private_cidrs,
            data_cidrs=network.database_cidrs,
        ),
        cdn_signer_private_key=settings.cdn_signer_private_key,
        sentry_dsn=settings.sentry_dsn,
    ),
    pulumi.ResourceOptions(providers={"aws": aws_provider, "kubernetes": cluster.provider}),
)
if socket_route is not None:
    socket_route.route_after([app.deployment])

monitoring = Monitoring(
    f"{prefix}-monitoring",
    MonitoringArgs(
        name_prefix=prefix,
        environment=settings.environment,
        region=settings.region,
        domain=settings.domain,
        app_namespace=APP_NAMESPACE,
        application_log_group=cluster.application_log_group,
        runbook_base_url=settings.runbook_base_url,
        alarm_emails=settings.alarm_emails,
        log_retention_days=settings.log_retention_days,
        cluster_name=prefix,
        uploads_bucket=storage.uploads_bucket_name,
        replica_bucket=storage.replica_bucket_name,
        replication_rule=REPLICATION_RULE,
        alb_arn_suffix=edge.alb_arn_suffix,
        target_group_arn_suffix=edge.target_group_arn_suffix,
        db_identifier=database.identifier,
        db_allocated_storage_gb=settings.db_allocated_storage_gb,
        db_max_connections=settings.db_max_connections,
        cache_member_ids=cache.member_ids,
        distribution_id=storage.distribution_id,
        regional_acl_name=firewall.regional_acl_name,
        global_acl_name=firewall.global_acl_name,
        alarm_webhook_secret_arn=(
            operator_secrets.arns["alarm-webhook-url"] if settings.alarm_webhook_url is not None else None
        ),
        alarm_webhook_key_arn=operator_secrets.key_arn if settings.alarm_webhook_url is not None else None,
    ),
    opts,
)
Backup(
    f"{prefix}-backup",
    BackupArgs(
        name_prefix=prefix,
        backup_region=settings.backup_region,
        retention_days=settings.backup_retention_days,
        schedule=settings.backup_schedule,
        start_window_minutes=settings.backup_start_window_minutes,
        vault_lock_mode=settings.backup_vault_lock_mode,
        database_arn=database.arn,
        db_subnet_group_name=database.subnet_group_name,
        db_security_group_id=database.security_group_id,
    ),
    opts,
)

pulumi.export("appUrl", settings.app_url)
pulumi.export("filesDomain", settings.files_domain)
pulumi.export("clusterName", cluster.cluster_name)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("databaseEndpoint", database.endpoint)
pulumi.export("alarmTopicArn", monitoring.topic_arn)
pulumi.export("dashboardUrl", monitoring.dashboard_url)
pulumi.export("imageRepositoryUrl", registry.repository_url)
pulumi.export("appImage", app_image)
pulumi.export("databaseEngineVersion", database.engine_version_actual)
