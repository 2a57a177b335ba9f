"""Network: a VPC over three zones with public, private and database subnets.

Public subnets hold the ALB and the NAT gateways; nodes and pods live in private subnets; the
database and cache live in database subnets with no route to the internet at all.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

# Interface endpoints in the private subnets: image pulls (ECR API and registry; layers come through
# the S3 gateway endpoint), IRSA token exchange, container logs and secrets stay off the NAT gateways.
INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "sts", "logs", "secretsmanager")


@dataclass(frozen=True)
class NetworkArgs:
    region: str
    cidr: str
    availability_zones: tuple[str, ...]
    nat_gateway_per_az: bool  # False: one NAT for all zones (cheaper, one zone's outage cuts egress)
    cluster_name: str  # subnets are tagged for the EKS cluster's load balancers
    flow_log_retention_days: int


class Network(pulumi.ComponentResource):
    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("relay:network:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        zones = args.availability_zones
        # /20 per subnet: 3 zones x 3 tiers fit in a /16 with room to grow; pods take private IPs.
        blocks = list(ipaddress.ip_network(args.cidr).subnets(new_prefix=20))

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": name},
            opts=child,
        )
        # The default security group allows all traffic between its members; close it.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg", vpc_id=self.vpc.id, ingress=[], egress=[], opts=child
        )
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc.id, opts=child)

        cluster_tag = {f"kubernetes.io/cluster/{args.cluster_name}": "shared"}
        self.public_subnets = [
            aws.ec2.Subnet(
                f"{name}-public-{i}",
                vpc_id=self.vpc.id,
                cidr_block=str(blocks[i]),
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={"Name": f"{name}-public-{zone}", "kubernetes.io/role/elb": "1", **cluster_tag},
                opts=child,
            )
            for i, zone in enumerate(zones)
        ]
        self.private_subnets = [
            aws.ec2.Subnet(
                f"{name}-private-{i}",
                vpc_id=self.vpc.id,
                cidr_block=str(blocks[3 + i]),
                availability_zone=zone,
                tags={
                    "Name": f"{name}-private-{zone}",
                    "kubernetes.io/role/internal-elb": "1",
                    **cluster_tag,
                },
                opts=child,
            )
            for i, zone in enumerate(zones)
        ]
        self.database_subnets = [
            aws.ec2.Subnet(
                f"{name}-database-{i}",
                vpc_id=self.vpc.id,
                cidr_block=str(blocks[6 + i]),
                availability_zone=zone,
                tags={"Name": f"{name}-database-{zone}"},
                opts=child,
            )
            for i, zone in enumerate(zones)
        ]

        public_routes = aws.ec2.RouteTable(
            f"{name}-public-rt",
            vpc_id=self.vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            opts=child,
        )
        for i, subnet in enumerate(self.public_subnets):
            aws.ec2.RouteTableAssociation(
                f"{name}-public-rta-{i}", subnet_id=subnet.id, route_table_id=public_routes.id, opts=child
            )

        nat_count = len(zones) if args.nat_gateway_per_az else 1
        nats = []
        for i in range(nat_count):
            eip = aws.ec2.Eip(f"{name}-nat-eip-{i}", domain="vpc", opts=child)
            nats.append(
                aws.ec2.NatGateway(
                    f"{name}-nat-{i}",
                    allocation_id=eip.id,
                    subnet_id=self.public_subnets[i].id,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
                )
            )
        private_tables = [
            aws.ec2.RouteTable(
                f"{name}-private-rt-{i}",
                vpc_id=self.vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                opts=child,
            )
            for i, nat in enumerate(nats)
        ]
        for i, subnet in enumerate(self.private_subnets):
            aws.ec2.RouteTableAssociation(
                f"{name}-private-rta-{i}",
                subnet_id=subnet.id,
                route_table_id=private_tables[i % nat_count].id,
                opts=child,
            )
        database_routes = aws.ec2.RouteTable(f"{name}-database-rt", vpc_id=self.vpc.id, opts=child)
        for i, subnet in enumerate(self.database_subnets):
            aws.ec2.RouteTableAssociation(
                f"{name}-database-rta-{i}", subnet_id=subnet.id, route_table_id=database_routes.id, opts=child
            )

        # S3 traffic (uploads, image layers) stays on the AWS network and skips NAT charges.
        aws.ec2.VpcEndpoint(
            f"{name}-s3-endpoint",
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[t.id for t in private_tables],
            opts=child,
        )
        self._interface_endpoints(name, args, child)
        self._flow_logs(name, args, child)

        self.vpc_id = self.vpc.id
        # Plain CIDRs (known before deploy), for rules that name address ranges.
        self.public_cidrs, self.private_cidrs, self.database_cidrs = (
            tuple(str(blocks[tier * 3 + i]) for i in range(len(zones))) for tier in range(3)
        )
        self.public_subnet_ids = [s.id for s in self.public_subnets]
        self.public_subnet_cidrs = [s.cidr_block for s in self.public_subnets]  # where the ALB's nodes live
        self.private_subnet_ids = [s.id for s in self.private_subnets]
        self.database_subnet_ids = [s.id for s in self.database_subnets]
        self.register_outputs({"vpc_id": self.vpc_id, "private_subnet_ids": self.private_subnet_ids})

    def _interface_endpoints(self, name: str, args: NetworkArgs, child: pulumi.ResourceOptions) -> None:
        security_group = aws.ec2.SecurityGroup(
            f"{name}-endpoints-sg",
            vpc_id=self.vpc.id,
            description="Relay interface endpoints: HTTPS from inside the VPC",
            ingress=[
                {
                    "protocol": "tcp",
                    "from_port": 443,
                    "to_port": 443,
                    "cidr_blocks": [args.cidr],
                    "description": "nodes and pods",
                }
            ],
            opts=child,
        )
        for service in INTERFACE_ENDPOINTS:
            aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}-endpoint",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{args.region}.{service}",
                vpc_endpoint_type="Interface",
                subnet_ids=[s.id for s in self.private_subnets],
                security_group_ids=[security_group.id],
                private_dns_enabled=True,
                opts=child,
            )

    def _flow_logs(self, name: str, args: NetworkArgs, child: pulumi.ResourceOptions) -> None:
        """All accepted and rejected traffic to CloudWatch Logs, for incident forensics."""
        group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            name=f"/relay/{name}/vpc-flow-logs",
            retention_in_days=args.flow_log_retention_days,
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs-policy",
            role=role.id,
            policy=group.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": [
                                    "logs:CreateLogStream",
                                    "logs:PutLogEvents",
                                    "logs:DescribeLogStreams",
                                ],
                                "Resource": f"{arn}:*",
                            }
                        ],
                    }
                )
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            opts=child,
        )
