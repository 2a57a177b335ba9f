"""Monitoring: every alarm has a severity, notifies in its own region, and links a runbook."""

import json
import re

from infra.alarms import PROMETHEUS_NAMESPACE
from infra.evaluation.stack_capture import REPO_ROOT
from relay import metrics
from tests.infra.resources import by_output, config, of_type, region_of, single

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
    # What failed silently before: the app's own counters, replication, the CDN's origin.
    "AppSocketDeliveryFailures",
    "AppRateLimitSpike",
    "S3ReplicationFailures",
    "CloudFrontOriginErrors",
}
RUNBOOK_SECTIONS = ["## Meaning", "## Impact", "## Diagnosis", "## Mitigation"]


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


def test_chat_webhooks_get_alarms_through_a_lambda_not_a_self_confirming_subscription(variant_run):
    """Slack, Teams and generic hooks never confirm an SNS subscription: an HTTPS subscription
    marked endpoint_auto_confirms fails its create. A Lambda subscription confirms itself."""
    subscriptions = of_type(variant_run, "aws:sns/topicSubscription:TopicSubscription")
    assert not [s for s in subscriptions if s.inputs["protocol"] in ("http", "https")]
    assert not [s for s in subscriptions if s.inputs.get("endpointAutoConfirms")]
    function = single(variant_run, "aws:lambda/function:Function", "-webhook-function")
    to_lambda = [s for s in subscriptions if s.inputs["protocol"] == "lambda"]
    topics = {t.outputs["arn"] for t in of_type(variant_run, "aws:sns/topic:Topic")}
    assert {s.inputs["topic"] for s in to_lambda} == topics and len(to_lambda) == len(topics)
    assert all(s.inputs["endpoint"] == function.outputs["arn"] for s in to_lambda)
    secret = single(variant_run, "aws:secretsmanager/secret:Secret", "-alarm-webhook-url")
    env = function.inputs["environment"]["variables"]
    assert env["WEBHOOK_SECRET_ARN"] == secret.outputs["arn"], "the URL is read at run time"
    assert "hooks.example.com" not in json.dumps(function.inputs), "never in the function's settings"
    permissions = of_type(variant_run, "aws:lambda/permission:Permission")
    assert {p.inputs["sourceArn"] for p in permissions} == topics


def test_no_webhook_no_forwarder(stack_run):
    assert not of_type(stack_run, "aws:lambda/function:Function")


def test_app_metrics_are_scraped_from_metrics_into_cloudwatch(stack_run):
    addon = next(
        a
        for a in of_type(stack_run, "aws:eks/addon:Addon")
        if a.inputs["addonName"] == "amazon-cloudwatch-observability"
    )
    values = json.loads(addon.inputs["configurationValues"])
    (job,) = values["agent"]["prometheus"]["config"]["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["kubernetes_sd_configs"] == [{"role": "pod", "namespaces": {"names": ["relay"]}}]
    prometheus = values["agent"]["config"]["logs"]["metrics_collected"]["prometheus"]
    (declaration,) = prometheus["emf_processor"]["metric_declaration"]
    exported = {s.strip("^$") for s in declaration["metric_selectors"]}
    groups = {g.inputs["name"] for g in of_type(stack_run, "aws:cloudwatch/logGroup:LogGroup")}
    assert prometheus["log_group_name"] in groups, "pre-created with a retention"
    alarmed = {
        q["metric"]["metricName"]
        for a in of_type(stack_run, ALARM)
        for q in a.inputs.get("metricQueries", [])
        if "metric" in q and q["metric"]["namespace"] == PROMETHEUS_NAMESPACE
    } | {
        a.inputs["metricName"]
        for a in of_type(stack_run, ALARM)
        if a.inputs.get("namespace") == PROMETHEUS_NAMESPACE
    }
    assert {"relay_socket_delivery_failures_total", "relay_rate_limit_hits_total"} <= alarmed <= exported
    served = {f"{m._name}_total" for m in (metrics.SOCKET_DELIVERY_FAILURES, metrics.RATE_LIMIT_HITS)}
    assert served <= exported, "the app serves what the alarms read"


def test_replication_failures_and_origin_errors_publish_the_metrics_their_alarms_read(stack_run):
    (rule,) = single(stack_run, "aws:s3/bucketReplicationConfig:BucketReplicationConfig").inputs["rules"]
    assert rule["destination"]["metrics"] == {"status": "Enabled"}
    alarm = next(a for a in of_type(stack_run, ALARM) if runbook_name(a)["name"] == "S3ReplicationFailures")
    assert alarm.inputs["dimensions"]["RuleId"] == rule["id"]
    subscription = single(stack_run, "aws:cloudfront/monitoringSubscription:MonitoringSubscription").inputs
    assert subscription["monitoringSubscription"]["realtimeMetricsSubscriptionConfig"] == {
        "realtimeMetricsSubscriptionStatus": "Enabled"
    }


def test_failed_backup_jobs_reach_the_alarm_topic_with_their_runbook(stack_run):
    rule = single(stack_run, "aws:cloudwatch/eventRule:EventRule", "-BackupJobFailed")
    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["source"] == ["aws.backup"] and "FAILED" in pattern["detail"]["state"]
    link = RUNBOOK_LINK.search(rule.inputs["description"])
    assert link and (REPO_ROOT / "runbooks" / "alerts" / f"{link['name']}.md").is_file()
    target = single(stack_run, "aws:cloudwatch/eventTarget:EventTarget")
    topic = by_output(stack_run, "arn")[target.inputs["arn"]]
    assert region_of(stack_run, topic) == config(stack_run, "region")
    assert link["name"] in target.inputs["inputTransformer"]["inputTemplate"]
    policy = json.loads(single(stack_run, "aws:sns/topicPolicy:TopicPolicy").inputs["policy"])
    events = next(s for s in policy["Statement"] if s["Principal"] == {"Service": "events.amazonaws.com"})
    assert events["Condition"]["ArnEquals"]["aws:SourceArn"] == rule.outputs["arn"]
    key = by_output(stack_run, "arn")[topic.inputs["kmsMasterKeyId"]]
    principals = [s["Principal"] for s in json.loads(key.inputs["policy"])["Statement"]]
    assert {"Service": "events.amazonaws.com"} in principals, "EventBridge may encrypt to the topic"


def test_new_runbooks_have_the_four_sections_with_commands():
    for name in (
        "AppSocketDeliveryFailures",
        "AppRateLimitSpike",
        "S3ReplicationFailures",
        "CloudFrontOriginErrors",
        "BackupJobFailed",
    ):
        text = (REPO_ROOT / "runbooks" / "alerts" / f"{name}.md").read_text()
        headings = [line for line in text.splitlines() if line.startswith("## ")]
        assert headings == RUNBOOK_SECTIONS, name
        assert "```bash" in text.split("## Diagnosis")[1], f"{name}: Diagnosis runs commands"
        assert "TODO" not in text and "follow in the runbooks issue" not in text, name
