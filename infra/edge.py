"""Edge: the public Application Load Balancer in front of the relay pods.

HTTP only redirects; HTTPS terminates with a TLS 1.3/1.2 policy. The target group is of type
`ip` so the AWS Load Balancer Controller can bind pods to it directly (TargetGroupBinding), and
uses `lb_cookie` stickiness because Socket.IO long-polling must reach the same process. With the
native socket server (`socket_port` set) the socket path has a target group of its own
(infra/socket_route.py) that carries the stickiness, and this one, REST only, needs none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.certificate import ValidatedCertificate, ValidatedCertificateArgs
from infra.workload import DEREGISTRATION_DELAY_SECONDS

APP_PORT = 8000
SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# Socket.IO pings every 25 s (DESIGN §4); the idle timeout must outlast a ping with margin.
IDLE_TIMEOUT_SECONDS = 120
# A pod's target group settings, the same for the app port and the socket port.
STICKINESS = {"type": "lb_cookie", "enabled": True, "cookie_duration": 86_400}
HEALTH_CHECK = {
    "path": "/healthz",
    "matcher": "200",
    "interval": 10,
    "timeout": 5,
    "healthy_threshold": 2,
    "unhealthy_threshold": 2,
}


@dataclass(frozen=True)
class EdgeArgs:
    domain_name: str  # the app's host name: https://<domain_name>
    zone_id: str
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    public_subnet_ids: Sequence[pulumi.Input[str]]
    access_log_bucket: pulumi.Input[str]
    web_acl_arn: pulumi.Input[str]
    shield_advanced: bool
    # The pods' native socket listener (relay:socketServer=native), reached by SocketRoute; None
    # while python-socketio serves sockets on the app port.
    socket_port: int | None = None


class Edge(pulumi.ComponentResource):
    def __init__(self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("relay:edge:Edge", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        pod_ports = [(APP_PORT, "relay pods")]
        if args.socket_port is not None:
            pod_ports.append((args.socket_port, "relay pods' socket listener"))
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-alb-sg",
            vpc_id=args.vpc_id,
            # Unchanged with the socket port: a new description would replace the security group.
            description="Relay ALB: HTTPS and HTTP (redirect only) from anywhere; to pods on the app port",
            ingress=[
                {
                    "protocol": "tcp",
                    "from_port": port,
                    "to_port": port,
                    "cidr_blocks": ["0.0.0.0/0"],
                    "description": role,
                }
                for port, role in ((443, "HTTPS"), (80, "HTTP, redirected to HTTPS"))
            ],
            egress=[
                {
                    "protocol": "tcp",
                    "from_port": port,
                    "to_port": port,
                    "cidr_blocks": [args.vpc_cidr],
                    "description": role,
                }
                for port, role in pod_ports
            ],
            opts=child,
        )
        self.load_balancer = aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=False,
            subnets=list(args.public_subnet_ids),
            security_groups=[self.security_group.id],
            drop_invalid_header_fields=True,
            desync_mitigation_mode="defensive",
            enable_deletion_protection=True,
            idle_timeout=IDLE_TIMEOUT_SECONDS,
            access_logs={"bucket": args.access_log_bucket, "prefix": "alb", "enabled": True},
            opts=pulumi.ResourceOptions(parent=self, protect=True),
        )
        self.target_group = aws.lb.TargetGroup(
            f"{name}-pods",
            target_type="ip",
            port=APP_PORT,
            protocol="HTTP",
            vpc_id=args.vpc_id,
            # Sockets stay open while a terminating pod drains them (preStop + drain + shutdown).
            deregistration_delay=DEREGISTRATION_DELAY_SECONDS,
            # REST needs no stickiness once the socket path has its own target group.
            stickiness=STICKINESS if args.socket_port is None else {**STICKINESS, "enabled": False},
            health_check=HEALTH_CHECK,
            opts=child,
        )
        certificate = ValidatedCertificate(
            f"{name}-certificate",
            ValidatedCertificateArgs(domain_name=args.domain_name, zone_id=args.zone_id),
            child,
        )
        aws.lb.Listener(
            f"{name}-http",
            load_balancer_arn=self.load_balancer.arn,
            port=80,
            protocol="HTTP",
            default_actions=[
                {
                    "type": "redirect",
                    # To the app's own host, never the request's Host (AWS's default "#{host}").
                    "redirect": {
                        "protocol": "HTTPS",
                        "host": args.domain_name,
                        "port": "443",
                        "status_code": "HTTP_301",
                    },
                }
            ],
            opts=child,
        )
        self.https_listener = aws.lb.Listener(
            f"{name}-https",
            load_balancer_arn=self.load_balancer.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=SSL_POLICY,
            certificate_arn=certificate.arn,
            default_actions=[{"type": "forward", "target_group_arn": self.target_group.arn}],
            opts=child,
        )
        # Prometheus metrics are for the cluster's scrapers, never the internet.
        aws.lb.ListenerRule(
            f"{name}-refuse-metrics",
            listener_arn=self.https_listener.arn,
            priority=10,
            conditions=[{"path_pattern": {"values": ["/metrics", "/metrics/*"]}}],
            actions=[
                {
                    "type": "fixed-response",
                    "fixed_response": {
                        "content_type": "text/plain",
                        "status_code": "404",
                        "message_body": "Not Found",
                    },
                }
            ],
            opts=child,
        )
        aws.wafv2.WebAclAssociation(
            f"{name}-waf", resource_arn=self.load_balancer.arn, web_acl_arn=args.web_acl_arn, opts=child
        )
        if args.shield_advanced:
            aws.shield.Protection(
                f"{name}-shield", name=f"{name}-alb", resource_arn=self.load_balancer.arn, opts=child
            )
        # IPv4 only: the VPC has no IPv6 ranges, so the ALB is not dual-stack (no AAAA record).
        aws.route53.Record(
            f"{name}-alias-a",
            zone_id=args.zone_id,
            name=args.domain_name,
            type="A",
            aliases=[
                {
                    "name": self.load_balancer.dns_name,
                    "zone_id": self.load_balancer.zone_id,
                    "evaluate_target_health": True,
                }
            ],
            opts=child,
        )
        self.target_group_arn = self.target_group.arn
        self.alb_arn_suffix = self.load_balancer.arn_suffix
        self.target_group_arn_suffix = self.target_group.arn_suffix
        self.security_group_id = self.security_group.id
        self.register_outputs(
            {"alb_dns_name": self.load_balancer.dns_name, "target_group_arn": self.target_group_arn}
        )
