"""Edge: the ALB redirects HTTP, terminates modern TLS, and sticks sockets to one pod."""

from tests.infra.resources import by_output, config, of_type, single

ALB = "aws:lb/loadBalancer:LoadBalancer"
STRICT_TLS_POLICIES = {"ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-3-2021-06"}
SOCKET_PING_INTERVAL_SECONDS = 25  # DESIGN §4


def listener(run, port):
    return next(r for r in of_type(run, "aws:lb/listener:Listener") if r.inputs["port"] == port)


def test_alb_is_public_hardened_and_protected(stack_run):
    alb = single(stack_run, ALB)
    i = alb.inputs
    assert i["internal"] is False and i["loadBalancerType"] == "application"
    assert i["dropInvalidHeaderFields"] is True
    assert i["enableDeletionProtection"] is True and alb.protect
    assert i["idleTimeout"] > SOCKET_PING_INTERVAL_SECONDS * 2
    subnets = [by_output(stack_run, "id")[s] for s in i["subnets"]]
    assert all("-public-" in s.name for s in subnets) and len(subnets) == 3


def test_alb_writes_access_logs_to_the_log_bucket_once_its_policy_allows_it(stack_run):
    logs = single(stack_run, "aws:s3/bucket:Bucket", "-logs-bucket")
    alb = single(stack_run, ALB)
    access_logs = alb.inputs["accessLogs"]
    assert access_logs["enabled"] is True and access_logs["prefix"] == "alb"
    assert access_logs["bucket"] == logs.id
    policy = next(
        p for p in of_type(stack_run, "aws:s3/bucketPolicy:BucketPolicy") if p.inputs["bucket"] == logs.id
    )
    assert policy.urn in alb.property_dependencies["accessLogs"], (
        "AWS checks the bucket policy when the ALB is created"
    )


def test_http_redirects_permanently_to_https_on_the_apps_own_host(stack_run):
    """Never to the request's Host (the ALB's default, "#{host}"): issue 7, finding 9."""
    (action,) = listener(stack_run, 80).inputs["defaultActions"]
    assert action["type"] == "redirect"
    assert action["redirect"] == {
        "protocol": "HTTPS",
        "host": config(stack_run, "domain"),
        "port": "443",
        "statusCode": "HTTP_301",
    }


def test_https_uses_a_tls13_policy_and_a_dns_validated_certificate(stack_run):
    https = listener(stack_run, 443).inputs
    assert https["protocol"] == "HTTPS" and https["sslPolicy"] in STRICT_TLS_POLICIES
    validation = next(
        v
        for v in of_type(stack_run, "aws:acm/certificateValidation:CertificateValidation")
        if v.outputs["certificateArn"] == https["certificateArn"]
    )
    cert = by_output(stack_run, "arn")[validation.inputs["certificateArn"]]
    assert cert.inputs["domainName"] == config(stack_run, "domain")
    (fqdn,) = validation.inputs["validationRecordFqdns"]
    record = by_output(stack_run, "fqdn")[fqdn]
    (option,) = cert.outputs["domainValidationOptions"]
    assert record.inputs["zoneId"] == config(stack_run, "hostedZoneId")
    assert record.inputs["name"] == option["resourceRecordName"]
    assert record.inputs["records"] == [option["resourceRecordValue"]]


def test_target_group_binds_pod_ips_with_healthz_and_no_stickiness_for_rest(stack_run):
    """Stickiness is the socket path's, on its own target group with the native server; the
    python-socketio fallback makes this one sticky (tests/infra/test_socket_route.py)."""
    target_group = single(stack_run, "aws:lb/targetGroup:TargetGroup", "-edge-pods")
    i = target_group.inputs
    assert i["targetType"] == "ip" and i["port"] == 8000 and i["protocol"] == "HTTP"
    assert i["stickiness"]["type"] == "lb_cookie" and i["stickiness"]["enabled"] is False
    assert i["healthCheck"]["path"] == "/healthz" and i["healthCheck"]["matcher"] == "200"
    (action,) = listener(stack_run, 443).inputs["defaultActions"]
    assert action == {"type": "forward", "targetGroupArn": target_group.outputs["arn"]}


def test_metrics_are_refused_at_the_edge(stack_run):
    rule = single(stack_run, "aws:lb/listenerRule:ListenerRule", "-refuse-metrics")
    assert rule.inputs["conditions"][0]["pathPattern"]["values"][0] == "/metrics"
    assert rule.inputs["actions"][0]["fixedResponse"]["statusCode"] == "404"


def test_regional_waf_guards_the_alb(stack_run):
    association = single(stack_run, "aws:wafv2/webAclAssociation:WebAclAssociation")
    assert association.inputs["resourceArn"] == single(stack_run, ALB).outputs["arn"]
    assert by_output(stack_run, "arn")[association.inputs["webAclArn"]].inputs["scope"] == "REGIONAL"


def test_app_domain_points_at_the_alb(stack_run):
    (record,) = [r for r in of_type(stack_run, "aws:route53/record:Record") if "-edge-alias-" in r.name]
    assert record.inputs["type"] == "A" and record.inputs["name"] == config(stack_run, "domain")
    assert record.inputs["aliases"][0]["name"] == single(stack_run, ALB).outputs["dnsName"]
