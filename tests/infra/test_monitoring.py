"""Monitoring: every alarm has a severity, notifies in its own region, and links a runbook."""

import json
import re

from tests.infra.resources import by_output, config, of_type, region_of, single
from tests.infra.stack_capture import REPO_ROOT

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
RUNBOOK_LINK = re.compile(r"Runbook: (?P<base>\S+)/runbooks/alerts/(?P<name>[A-Za-z0-9]+)\.md$")
REQUIRED_ALARMS = {
    "AlbHigh5xxRate",
    "AlbHighP99Latency",
    "AlbUnhealthyTargets",
    "RdsHighCpu",
    "RdsLowFreeStorage",
    "RdsHighConnections",
    "RdsLowFreeableMemory",
    "RdsHighReadLatency",
    "RdsHighWriteLatency",
    "RedisHighMemory",
    "RedisEvictions",
    "RedisHighCpu",
    "CloudFrontHigh5xxRate",
    "WafRegionalBlockedSpike",
    "WafCdnBlockedSpike",
    "AppHigh5xxRate",
    "AppSocketDisconnectSpike",
    "AppEndpointDown",
}


def runbook_name(alarm):
    match = RUNBOOK_LINK.search(alarm.inputs["alarmDescription"])
    assert match, f"{alarm.urn}: description must end with its runbook link"
    return match


def test_the_required_alarms_exist(stack_run):
    names = {runbook_name(a)["name"] for a in of_type(stack_run, ALARM)}
    assert names >= REQUIRED_ALARMS


def test_every_alarm_links_an_existing_runbook_under_the_configured_base(stack_run):
    for alarm in of_type(stack_run, ALARM):
        link = runbook_name(alarm)
        assert link["base"] == config(stack_run, "runbookBaseUrl"), alarm.urn
        assert (REPO_ROOT / "runbooks" / "alerts" / f"{link['name']}.md").is_file(), (
            f"{alarm.urn}: no runbook"
        )
        assert alarm.inputs["name"] == f"relay-{stack_run.stack}-{link['name']}"


def test_every_alarm_notifies_a_topic_in_its_own_region_on_alarm_and_ok(stack_run):
    topics = by_output(stack_run, "arn")
    for alarm in of_type(stack_run, ALARM):
        actions = alarm.inputs["alarmActions"]
        assert actions and alarm.inputs["okActions"] == actions, f"{alarm.urn}: needs OK actions too"
        for arn in actions:
            topic = topics[arn]
            assert topic.type == "aws:sns/topic:Topic"
            assert region_of(stack_run, topic) == region_of(stack_run, alarm), alarm.urn


def test_every_alarm_has_a_severity_and_explicit_missing_data_handling(stack_run):
    for alarm in of_type(stack_run, ALARM):
        assert alarm.inputs["tags"]["severity"] in {"critical", "warning"}, alarm.urn
        assert alarm.inputs["alarmDescription"].startswith(f"[{alarm.inputs['tags']['severity']}]")
        assert alarm.inputs["treatMissingData"] in {"breaching", "notBreaching", "ignore", "missing"}, (
            alarm.urn
        )


def test_cloudfront_and_route53_alarms_live_in_us_east_1(stack_run):
    for alarm in of_type(stack_run, ALARM):
        namespace = alarm.inputs.get("namespace")
        if namespace in {"AWS/CloudFront", "AWS/Route53"}:
            assert region_of(stack_run, alarm) == "us-east-1", alarm.urn


def test_redis_alarms_watch_every_node(stack_run):
    nodes = int(config(stack_run, "cacheNodeCount"))
    group_id = single(stack_run, "aws:elasticache/replicationGroup:ReplicationGroup").inputs[
        "replicationGroupId"
    ]
    alarm = next(a for a in of_type(stack_run, ALARM) if runbook_name(a)["name"] == "RedisHighMemory")
    watched = {
        q["metric"]["dimensions"]["CacheClusterId"] for q in alarm.inputs["metricQueries"] if "metric" in q
    }
    assert watched == {f"{group_id}-{i:03d}" for i in range(1, nodes + 1)}


def test_alarm_topics_are_encrypted_with_a_key_cloudwatch_may_use(stack_run):
    for topic in of_type(stack_run, "aws:sns/topic:Topic"):
        key = by_output(stack_run, "arn")[topic.inputs["kmsMasterKeyId"]]
        assert region_of(stack_run, key) == region_of(stack_run, topic)
        principals = [s["Principal"] for s in json.loads(key.inputs["policy"])["Statement"]]
        assert {"Service": "cloudwatch.amazonaws.com"} in principals, topic.urn


def test_alarm_emails_from_config_subscribe_to_every_topic(stack_run):
    emails = json.loads(config(stack_run, "alarmEmails"))
    for topic in of_type(stack_run, "aws:sns/topic:Topic"):
        subscribed = {
            s.inputs["endpoint"]
            for s in of_type(stack_run, "aws:sns/topicSubscription:TopicSubscription")
            if s.inputs["topic"] == topic.outputs["arn"] and s.inputs["protocol"] == "email"
        }
        assert subscribed == set(emails), topic.urn


def test_route53_checks_the_app_healthz_over_https(stack_run):
    check = single(stack_run, "aws:route53/healthCheck:HealthCheck").inputs
    assert (check["fqdn"], check["type"], check["port"], check["resourcePath"]) == (
        config(stack_run, "domain"),
        "HTTPS",
        443,
        "/healthz",
    )


def test_app_metrics_come_from_the_relay_namespace_logs(stack_run):
    filters = of_type(stack_run, "aws:cloudwatch/logMetricFilter:LogMetricFilter")
    assert {f.inputs["metricTransformation"]["name"] for f in filters} == {
        "HttpRequests",
        "Http5xx",
        "SocketDisconnects",
    }
    for f in filters:
        assert '$.kubernetes.namespace_name = "relay"' in f.inputs["pattern"]
        assert f.inputs["logGroupName"] == f"/aws/containerinsights/relay-{stack_run.stack}/application"


def test_a_dashboard_covers_the_edge_the_data_stores_and_the_app(stack_run):
    dashboard = single(stack_run, "aws:cloudwatch/dashboard:Dashboard")
    namespaces = {
        m[0]
        for w in json.loads(dashboard.inputs["dashboardBody"])["widgets"]
        for m in w["properties"]["metrics"]
    }
    assert {"AWS/ApplicationELB", "AWS/RDS", "AWS/ElastiCache", "AWS/CloudFront", "Relay/App"} <= namespaces
    assert stack_run.exports["dashboardUrl"].endswith(dashboard.inputs["dashboardName"])
