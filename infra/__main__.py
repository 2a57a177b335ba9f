"""Relay on AWS: composes one component per concern and exports what operators need."""

import pulumi
import pulumi_aws as aws

from infra.config import load_settings
from infra.network import Network, NetworkArgs

settings = load_settings()
# Every AWS resource goes through this provider (default providers are disabled in the stack
# YAML), so every resource carries these tags and lands in the configured region.
aws_provider = aws.Provider(
    "aws",
    region=settings.region,
    default_tags=aws.ProviderDefaultTagsArgs(
        tags={
            "project": "relay",
            "environment": settings.environment,
            "stack": settings.stack,
            "managed-by": "pulumi",
        }
    ),
)
providers = pulumi.ResourceOptions(providers={"aws": aws_provider})
cluster_name = settings.name_prefix

network = Network(
    settings.name_prefix,
    NetworkArgs(
        region=settings.region,
        cidr=settings.vpc_cidr,
        availability_zones=settings.availability_zones,
        nat_gateway_per_az=settings.nat_gateway_per_az,
        cluster_name=cluster_name,
        flow_log_retention_days=settings.log_retention_days,
    ),
    providers,
)

pulumi.export("vpcId", network.vpc_id)
