"""VPC: NAT gateway per AZ, flow logs, and no security group open to the internet except the
ALB's HTTP/HTTPS ports.

Checklist: "Add DDoS protection", "Implement proper error recovery" (one NAT per AZ keeps
egress working when an AZ fails).
"""

from collections.abc import Iterator

from pulumi_policy import PolicyResource, StackValidationArgs

from .builders import stack_policy
from .graph import StackGraph
from .props import get, items, violation
from .thresholds import required_flag, required_flag_schema

VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
NAT_GATEWAY = "aws:ec2/natGateway:NatGateway"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
DEFAULT_SECURITY_GROUP = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LEGACY_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
OPEN_CIDRS = ("0.0.0.0/0", "::/0")
ALB_PUBLIC_PORTS = (80, 443)
Finding = tuple[str, str]


def check_nat_per_az(args: StackValidationArgs) -> Iterator[Finding]:
    graph = StackGraph(args.resources)
    zones = {
        str(s.props.get("availabilityZone")) for s in graph.of_type(SUBNET) if s.props.get("availabilityZone")
    }
    nats = graph.of_type(NAT_GATEWAY)
    covered = {
        str(s.props.get("availabilityZone")) for n in nats for s in graph.referenced(n, "subnetId", SUBNET)
    }
    if any(n.props.get("availabilityMode") == "regional" for n in nats):
        covered = zones  # a regional NAT gateway serves every AZ of its VPC
    if not zones:
        return
    per_az = required_flag("vpc-nat-gateway-per-az", args.get_config())
    uncovered = sorted(zones - covered) if per_az else ([] if nats else sorted(zones))
    for vpc in graph.of_type(VPC) if uncovered else []:
        yield (
            vpc.urn,
            violation(
                vpc.urn,
                "NatGateway",
                f"missing in {', '.join(uncovered)}",
                "each AZ needs its own NAT gateway so egress survives an AZ outage"
                if per_az
                else "private subnets need a NAT gateway",
                "create one aws.ec2.NatGateway per AZ in that AZ's public subnet (relay:natGatewayPerAz)",
            ),
        )


def check_flow_logs(args: StackValidationArgs) -> Iterator[Finding]:
    graph = StackGraph(args.resources)
    for vpc in graph.of_type(VPC):
        if not graph.referrers(vpc, "vpcId", FLOW_LOG):
            yield (
                vpc.urn,
                violation(
                    vpc.urn,
                    "FlowLog",
                    "missing",
                    "VPC traffic must be recorded",
                    'add aws.ec2.FlowLog(vpc_id=vpc.id, traffic_type="ALL") to a log group with retention',
                ),
            )


def open_ingress(rule) -> bool:
    cidrs = [
        *items(get(rule, "cidrBlocks")),
        *items(get(rule, "ipv6CidrBlocks")),
        *items(get(rule, "cidrIpv4")),
        *items(get(rule, "cidrIpv6")),
    ]
    return any(str(c) in OPEN_CIDRS for c in cidrs)


def web_ports_only(rule) -> bool:
    protocol = str(get(rule, "protocol", get(rule, "ipProtocol", "")))
    return (
        protocol in ("tcp", "6")
        and get(rule, "fromPort") == get(rule, "toPort")
        and get(rule, "fromPort") in ALB_PUBLIC_PORTS
    )


def check_open_ingress(args: StackValidationArgs) -> Iterator[Finding]:
    graph = StackGraph(args.resources)
    alb_groups = {
        g.urn
        for lb in graph.of_type(*LOAD_BALANCERS)
        if (lb.props.get("loadBalancerType") or "application") == "application"
        for g in graph.referenced(lb, "securityGroups", SECURITY_GROUP)
    }

    def judge(owner: PolicyResource | None, where: PolicyResource, prop: str, rule) -> Iterator[Finding]:
        if open_ingress(rule) and not (
            web_ports_only(rule) and owner is not None and owner.urn in alb_groups
        ):
            yield (
                where.urn,
                violation(
                    where.urn,
                    prop,
                    f"open to the internet on {get(rule, 'fromPort')}-{get(rule, 'toPort')}",
                    "only the ALB may accept 0.0.0.0/0, and only on TCP 80 and 443",
                    "allow the ALB's security group (referenced_security_group_id) or a listed CIDR instead",
                ),
            )

    for group in graph.of_type(SECURITY_GROUP, DEFAULT_SECURITY_GROUP):
        for rule in items(group.props.get("ingress")):
            yield from judge(group, group, "ingress[]", rule)
    for rule in graph.of_type(INGRESS_RULE):
        owners = graph.referenced(rule, "securityGroupId", SECURITY_GROUP)
        yield from judge(owners[0] if owners else None, rule, "cidrIpv4/cidrIpv6", rule.props)
    for rule in graph.of_type(LEGACY_RULE):
        if rule.props.get("type") == "ingress":
            owners = graph.referenced(rule, "securityGroupId", SECURITY_GROUP)
            yield from judge(owners[0] if owners else None, rule, "cidrBlocks/ipv6CidrBlocks", rule.props)


POLICIES = [
    stack_policy(
        "vpc-nat-gateway-per-az",
        "Relay (no FSBP control): every AZ with subnets must have its own NAT gateway.",
        check_nat_per_az,
        required_flag_schema("a NAT gateway per AZ"),
    ),
    stack_policy("vpc-flow-logs", "EC2.6: VPC flow logging must be enabled in every VPC.", check_flow_logs),
    stack_policy(
        "security-group-no-open-ingress",
        "EC2.18: security groups may allow 0.0.0.0/0 ingress only on TCP 80/443 of the ALB.",
        check_open_ingress,
    ),
]
