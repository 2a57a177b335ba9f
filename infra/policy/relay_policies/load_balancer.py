"""The ALB in front of the relay pods: TLS 1.2+, HTTP only as a redirect, hardened, logged, sticky.

Checklist: "Enable SSL/TLS", "Set up sticky sessions for load balancing" (python-socketio's
long-polling needs every request of a session on the same pod; DESIGN.md §5: lb_cookie
stickiness on an `ip` target group bound to the pods). With the native socket server a listener
rule sends the Socket.IO path to a target group of its own, and only that one must be sticky.
"""

from collections.abc import Iterator

from pulumi_policy import PolicyResource, ResourceValidationArgs, StackValidationArgs

from .builders import resource_policy, stack_policy
from .graph import StackGraph
from .props import get, items, shown, violation
from .thresholds import required_flag, required_flag_schema

LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
LISTENER_RULES = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")
TARGET_GROUPS = ("aws:lb/targetGroup:TargetGroup", "aws:alb/targetGroup:TargetGroup")
# ELBSecurityPolicy-TLS13-1-2-2021-06 or stricter: TLS 1.2+ without CBC-era ciphers (ELB.17's list,
# minus the "Ext" variants that re-admit older ciphers).
TLS_POLICIES = (
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
)
HTTP_PROTOCOLS = ("HTTP", "HTTPS")
SOCKET_PATH = "/api/socketio"  # DESIGN.md §4a


def is_application(args: ResourceValidationArgs) -> bool:
    return (args.props.get("loadBalancerType") or "application") == "application"


def check_tls_policy(args: ResourceValidationArgs) -> Iterator[str]:
    if args.props.get("protocol") == "HTTPS" and args.props.get("sslPolicy") not in TLS_POLICIES:
        yield violation(
            args.urn,
            "sslPolicy",
            shown(args.props.get("sslPolicy"), "ELBSecurityPolicy-2016-08"),
            f"HTTPS listeners must use one of {', '.join(TLS_POLICIES)}",
            'set ssl_policy="ELBSecurityPolicy-TLS13-1-2-2021-06"',
        )


def redirects_to_https(action) -> bool:
    return get(action, "type") == "redirect" and get(action, "redirect.protocol") == "HTTPS"


def check_http_redirects(args: StackValidationArgs) -> Iterator[tuple[str, str]]:
    """Plain-HTTP listeners redirect to HTTPS; their rules may only redirect or answer fixed text."""
    graph = StackGraph(args.resources)
    for listener in graph.of_type(*LISTENERS):
        if (listener.props.get("protocol") or "HTTP") != "HTTP":
            continue
        actions = items(listener.props.get("defaultActions"))
        if not actions or not all(redirects_to_https(a) for a in actions):
            yield (
                listener.urn,
                violation(
                    listener.urn,
                    "defaultActions",
                    shown([get(a, "type") for a in actions] or None),
                    "a plain-HTTP listener may only redirect to HTTPS",
                    'use one default action type="redirect" with protocol="HTTPS", status_code="HTTP_301"',
                ),
            )
        for rule in graph.referrers(listener, "listenerArn", *LISTENER_RULES):
            rule_actions = items(rule.props.get("actions"))
            if not all(redirects_to_https(a) or get(a, "type") == "fixed-response" for a in rule_actions):
                yield (
                    rule.urn,
                    violation(
                        rule.urn,
                        "actions",
                        shown([get(a, "type") for a in rule_actions]),
                        f"rules on the plain-HTTP listener {listener.name} must not serve traffic",
                        "attach the rule to the HTTPS listener, or make it redirect to HTTPS",
                    ),
                )


def check_drop_invalid_headers(args: ResourceValidationArgs) -> Iterator[str]:
    value = args.props.get("dropInvalidHeaderFields")
    if is_application(args) and value is not True:
        yield violation(
            args.urn,
            "dropInvalidHeaderFields",
            shown(value, False),
            "the ALB must drop malformed headers (request smuggling)",
            "set drop_invalid_header_fields=True",
        )


def check_deletion_protection(args: ResourceValidationArgs) -> Iterator[str]:
    if not required_flag("alb-deletion-protection", args.get_config()):
        return
    value = args.props.get("enableDeletionProtection")
    if value is not True:
        yield violation(
            args.urn,
            "enableDeletionProtection",
            shown(value, False),
            "the ALB must refuse deletion",
            "set enable_deletion_protection=True "
            "(relax only in staging via alb-deletion-protection.required=false)",
        )


def check_access_logs(args: ResourceValidationArgs) -> Iterator[str]:
    logs = args.props.get("accessLogs") or {}
    if get(logs, "enabled") is not True or not get(logs, "bucket"):
        yield violation(
            args.urn,
            "accessLogs",
            shown(get(logs, "enabled"), False),
            "every ALB request must be logged",
            "set access_logs={bucket: <SSE-S3 logs bucket>, enabled: True}",
        )


def http_target_group(args: ResourceValidationArgs) -> bool:
    return args.props.get("protocol") in HTTP_PROTOCOLS


def routes_socket_path(rule: PolicyResource) -> bool:
    return any(
        str(pattern).startswith(SOCKET_PATH)
        for condition in items(rule.props.get("conditions"))
        for pattern in items(get(condition, "pathPattern.values"))
    )


def socket_target_groups(graph: StackGraph) -> list[PolicyResource]:
    """The target groups the Socket.IO path reaches: those behind a listener rule for that path, or
    every one when no rule names it (or its target cannot be followed), since defaults then serve it."""
    routed = [
        target
        for rule in graph.of_type(*LISTENER_RULES)
        if routes_socket_path(rule)
        for target in graph.referenced(rule, "actions", *TARGET_GROUPS)
    ]
    return routed or graph.of_type(*TARGET_GROUPS)


def check_stickiness(args: StackValidationArgs) -> Iterator[tuple[str, str]]:
    for target_group in socket_target_groups(StackGraph(args.resources)):
        if target_group.props.get("protocol") not in HTTP_PROTOCOLS:
            continue
        stickiness = target_group.props.get("stickiness")
        enabled = get(stickiness, "enabled", True) if stickiness else False
        if not enabled or get(stickiness, "type") != "lb_cookie":
            yield (
                target_group.urn,
                violation(
                    target_group.urn,
                    "stickiness",
                    shown(stickiness or None, "disabled"),
                    "Socket.IO long-polling needs every request of a session on the same pod",
                    'set stickiness={type: "lb_cookie", enabled: True, cookie_duration: 86400}',
                ),
            )


def check_ip_targets(args: ResourceValidationArgs) -> Iterator[str]:
    if http_target_group(args) and (args.props.get("targetType") or "instance") != "ip":
        yield violation(
            args.urn,
            "targetType",
            shown(args.props.get("targetType"), "instance"),
            "the TargetGroupBinding registers pod IPs, so targets must be of type ip",
            'set target_type="ip"',
        )


POLICIES = [
    resource_policy(
        "alb-tls-policy",
        "ELB.17: ALB HTTPS listeners must use a recommended TLS 1.2+ security policy.",
        LISTENERS,
        check_tls_policy,
    ),
    stack_policy(
        "alb-http-redirects-to-https",
        "ELB.1: ALB HTTP listeners (and their rules) must only redirect to HTTPS.",
        check_http_redirects,
    ),
    resource_policy(
        "alb-drop-invalid-headers",
        "ELB.4: Application Load Balancers must drop invalid HTTP headers.",
        LOAD_BALANCERS,
        check_drop_invalid_headers,
    ),
    resource_policy(
        "alb-deletion-protection",
        "ELB.6: load balancers must have deletion protection enabled.",
        LOAD_BALANCERS,
        check_deletion_protection,
        required_flag_schema("deletion protection"),
    ),
    resource_policy(
        "alb-access-logs",
        "ELB.5: Application Load Balancers must have access logging enabled.",
        LOAD_BALANCERS,
        check_access_logs,
    ),
    stack_policy(
        "target-group-stickiness",
        "Relay (no FSBP control): HTTP target groups that serve the Socket.IO path must use lb_cookie "
        "stickiness.",
        check_stickiness,
    ),
    resource_policy(
        "target-group-ip-targets",
        "Relay (no FSBP control): HTTP target groups must register ip targets.",
        TARGET_GROUPS,
        check_ip_targets,
    ),
]
