"""SocketRoute: the ALB's way to the pods' native socket listener (relay:socketServer=native).

Relay's own socket server listens for `/api/socketio` on a port of its own (RELAY_SOCKET_PORT), so
a listener rule sends that path to a second `ip` target group on that port, bound to the pods by a
second TargetGroupBinding (infra/app.py). Stickiness lives here only: Socket.IO long-polling needs
every request of a session on one process, REST does not. Health is read on the app port, where
/healthz is served; drain and deregistration follow the main target group's constants.

The rule comes last (`route_after`): once the pods that listen on the socket port are rolled out
and healthy in this target group, so switching a stack to `native` never sends the socket path to
an empty target group.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.edge import APP_PORT, HEALTH_CHECK, STICKINESS
from infra.workload import DEREGISTRATION_DELAY_SECONDS

# Socket.IO's path (DESIGN.md §4a) with and without the trailing slash its clients send.
SOCKET_PATH_PATTERNS = ("/api/socketio*", "/api/socketio/*")
# After the metrics refusal (10), which must win for every path it names.
RULE_PRIORITY = 20


@dataclass(frozen=True)
class SocketRouteArgs:
    vpc_id: pulumi.Input[str]
    https_listener_arn: pulumi.Input[str]
    socket_port: int  # the pods' RELAY_SOCKET_PORT


class SocketRoute(pulumi.ComponentResource):
    def __init__(self, name: str, args: SocketRouteArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("relay:socket_route:SocketRoute", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.target_group = aws.lb.TargetGroup(
            f"{name}-pods",
            target_type="ip",
            port=args.socket_port,
            protocol="HTTP",
            vpc_id=args.vpc_id,
            # Sockets stay open while a terminating pod drains them (preStop + drain + shutdown).
            deregistration_delay=DEREGISTRATION_DELAY_SECONDS,
            stickiness=STICKINESS,
            # The socket listener serves only the socket path; /healthz is on the app port.
            health_check={**HEALTH_CHECK, "port": str(APP_PORT)},
            opts=child,
        )
        self.name = name
        self.https_listener_arn = args.https_listener_arn
        self.target_group_arn = self.target_group.arn
        self.register_outputs({"target_group_arn": self.target_group_arn})

    def route_after(self, ready: Sequence[pulumi.Resource]) -> aws.lb.ListenerRule:
        """Send the socket path to this target group once `ready` (the rolled-out Deployment) is."""
        return aws.lb.ListenerRule(
            f"{self.name}-rule",
            listener_arn=self.https_listener_arn,
            priority=RULE_PRIORITY,
            conditions=[{"path_pattern": {"values": list(SOCKET_PATH_PATTERNS)}}],
            actions=[{"type": "forward", "target_group_arn": self.target_group.arn}],
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(ready)),
        )
