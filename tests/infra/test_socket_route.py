"""relay:socketServer: native (the default, and the committed stacks) gives /api/socketio its own
port, target group, listener rule and TargetGroupBinding, and only that target group is sticky;
python-socketio (the fallback) serves sockets on the app port behind one sticky target group (issue 13)."""

import json
import os

import jsonschema
import kubernetes_validate
import pytest

from infra.config import SOCKET_SERVERS
from infra.evaluation.stack_capture import stack_config
from infra.socket_route import SOCKET_PATH_PATTERNS
from infra.workload import DEREGISTRATION_DELAY_SECONDS, PORT, SOCKET_PORT
from relay.settings import load_settings
from tests.infra.resources import config, of_type, single
from tests.infra.test_app import DEPLOYMENT, assert_draining_sockets_are_held, container, environment
from tests.infra.test_config import settings_for
from tests.infra.test_kubernetes_manifests import TGB_SCHEMA, TGB_TYPE, manifests

TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
RULE = "aws:lb/listenerRule:ListenerRule"


def socket_target_group(run):
    return single(run, TARGET_GROUP, "-sockets-pods")


def rest_target_group(run):
    return single(run, TARGET_GROUP, "-edge-pods")


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_committed_stacks_run_native_and_an_unset_key_means_it(stack):
    assert "relay:socketServer" not in stack_config(stack)
    assert settings_for(stack).socket_server == SOCKET_SERVERS[0] == "native"
    assert not settings_for(stack, socketServer="python-socketio").native_sockets


def test_python_socketio_mode_has_one_sticky_target_group_and_no_socket_port(python_socketio_run):
    run = python_socketio_run
    (target_group,) = of_type(run, TARGET_GROUP)
    assert target_group.inputs["stickiness"]["type"] == "lb_cookie"
    assert target_group.inputs["stickiness"]["enabled"] is True
    assert not [r for r in of_type(run, RULE) if r.name.endswith("-sockets-rule")]
    assert len(of_type(run, TGB_TYPE)) == 1
    values, _ = environment(run, single(run, DEPLOYMENT), "relay")
    # Named in the ConfigMap: left unset, the app would run its own default, the native server.
    assert values["RELAY_SOCKET_SERVER"] == "python-socketio"
    assert "RELAY_SOCKET_PORT" not in values
    ports = container(single(run, DEPLOYMENT), "relay")["ports"]
    assert [p["containerPort"] for p in ports] == [PORT]


def test_native_socket_target_group_is_sticky_ip_on_the_socket_port_health_checked_on_healthz(native_run):
    target_group = socket_target_group(native_run).inputs
    rest = rest_target_group(native_run).inputs
    assert (target_group["targetType"], target_group["protocol"], target_group["port"]) == (
        "ip",
        "HTTP",
        SOCKET_PORT,
    )
    assert target_group["stickiness"] == {"type": "lb_cookie", "enabled": True, "cookieDuration": 86400}
    assert target_group["healthCheck"]["port"] == str(PORT)
    assert target_group["healthCheck"]["path"] == "/healthz"
    assert target_group["vpcId"] == rest["vpcId"]
    # Same drain as the REST target group: a deregistering pod keeps its sockets until it closes them.
    assert target_group["deregistrationDelay"] == rest["deregistrationDelay"] == DEREGISTRATION_DELAY_SECONDS


def test_native_socket_target_group_holds_draining_sockets_as_long_as_the_pod_drains(native_run):
    """The socket port's own target group carries the sockets: the drain inequality holds there too."""
    assert len(of_type(native_run, TGB_TYPE)) == 2
    assert_draining_sockets_are_held(native_run)


def test_native_rest_target_group_drops_stickiness(native_run):
    assert rest_target_group(native_run).inputs["stickiness"]["enabled"] is False


def test_native_listener_rule_sends_the_socket_path_to_its_target_group(native_run):
    rule = single(native_run, RULE, "-sockets-rule").inputs
    https = single(native_run, "aws:lb/listener:Listener", "-edge-https")
    assert rule["listenerArn"] == https.outputs["arn"]
    (condition,) = rule["conditions"]
    assert (
        condition["pathPattern"]["values"]
        == ["/api/socketio*", "/api/socketio/*"]
        == list(SOCKET_PATH_PATTERNS)
    )
    target_group_arn = socket_target_group(native_run).outputs["arn"]
    assert rule["actions"] == [{"type": "forward", "targetGroupArn": target_group_arn}]
    metrics = single(native_run, RULE, "-refuse-metrics").inputs
    assert metrics["priority"] < rule["priority"], "the /metrics refusal is evaluated first"


def test_native_pods_expose_the_socket_port_with_its_settings(native_run, monkeypatch):
    deployment = single(native_run, DEPLOYMENT)
    ports = container(deployment, "relay")["ports"]
    assert {"name": "socket", "containerPort": SOCKET_PORT, "protocol": "TCP"} in ports
    values, _ = environment(native_run, deployment, "relay")
    assert (values["RELAY_SOCKET_SERVER"], values["RELAY_SOCKET_PORT"]) == ("native", str(SOCKET_PORT))
    for name in [k for k in os.environ if k.startswith("RELAY_")]:
        monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()  # the service's own settings accept them
    assert (settings.socket_server, settings.socket_port, settings.port) == ("native", SOCKET_PORT, PORT)
    service = single(native_run, "kubernetes:core/v1:Service").inputs["spec"]
    exposed = {"name": "socket", "port": SOCKET_PORT, "targetPort": "socket", "protocol": "TCP"}
    assert exposed in service["ports"]


def test_native_second_binding_attaches_the_socket_port_from_the_alb_only(native_run):
    bindings = {b.inputs["spec"]["serviceRef"]["port"]: b.inputs for b in of_type(native_run, TGB_TYPE)}
    assert set(bindings) == {PORT, SOCKET_PORT}
    socket_binding = bindings[SOCKET_PORT]
    assert socket_binding["metadata"]["name"] != bindings[PORT]["metadata"]["name"]
    assert socket_binding["spec"]["targetGroupARN"] == socket_target_group(native_run).outputs["arn"]
    assert socket_binding["spec"]["targetType"] == "ip"
    (ingress,) = socket_binding["spec"]["networking"]["ingress"]
    alb_sg = single(native_run, "aws:ec2/securityGroup:SecurityGroup", "-alb-sg")
    assert ingress["from"] == [{"securityGroup": {"groupID": alb_sg.id}}]
    assert ingress["ports"] == [{"protocol": "TCP", "port": SOCKET_PORT}]
    egress = {(e["fromPort"], e["toPort"]) for e in alb_sg.inputs["egress"]}
    assert egress == {(PORT, PORT), (SOCKET_PORT, SOCKET_PORT)}, "the ALB reaches the pods on their two ports"


def test_native_network_policy_admits_the_socket_port_from_the_alb_subnets_only(native_run):
    relay = next(
        p.inputs["spec"]
        for p in of_type(native_run, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if p.inputs["metadata"]["name"] == "relay"
    )
    public = sorted(
        s.inputs["cidrBlock"] for s in of_type(native_run, "aws:ec2/subnet:Subnet") if "-public-" in s.name
    )
    (socket_rule,) = [i for i in relay["ingress"] if i["ports"] == [{"protocol": "TCP", "port": SOCKET_PORT}]]
    assert sorted(p["ipBlock"]["cidr"] for p in socket_rule["from"]) == public


def test_native_lb_controller_may_register_targets_in_both_target_groups(native_run):
    role_policy = next(
        r
        for r in of_type(native_run, "aws:iam/rolePolicy:RolePolicy")
        if "BindPodsToRelayTargetGroup" in r.inputs.get("policy", "")
    )
    statements = {s["Sid"]: s for s in json.loads(role_policy.inputs["policy"])["Statement"]}
    assert sorted(statements["BindPodsToRelayTargetGroup"]["Resource"]) == sorted(
        [socket_target_group(native_run).outputs["arn"], rest_target_group(native_run).outputs["arn"]]
    )


def test_native_manifests_validate_for_the_cluster_and_the_controller_crd(native_run):
    version = config(native_run, "eksVersion")
    for urn, manifest in manifests(native_run):
        if manifest["kind"] == "TargetGroupBinding":
            jsonschema.validate(manifest, TGB_SCHEMA)
            continue
        try:
            kubernetes_validate.validate(manifest, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{urn}: {error.message} at {list(error.path)}")


def test_switching_to_native_routes_the_path_only_once_the_pods_serve_it(native_run):
    """Bindings exist before the pods roll (their readiness gates then wait for both target groups),
    and the rule comes after the rollout, so the socket path never meets an empty target group."""
    deployment = single(native_run, DEPLOYMENT)
    socket_binding = single(native_run, TGB_TYPE, "-socket-target-group-binding")
    assert socket_binding.urn in deployment.dependencies
    assert deployment.urn in single(native_run, RULE, "-sockets-rule").dependencies
