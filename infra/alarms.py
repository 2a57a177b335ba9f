"""The alarm catalogue: what pages whom, at what threshold, and which runbook answers it.

Each alarm's name is the runbook's file name (`runbooks/alerts/<name>.md`). Thresholds are
written here with their reason; `Monitoring` turns each spec into a CloudWatch alarm.
Missing data is decided per alarm: a silent load balancer or CDN means no traffic (not
breaching); a silent database, cache or health check means it is gone (breaching).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

US_EAST_1 = "us-east-1"
APP_METRICS_NAMESPACE = "Relay/App"
# The app's own Prometheus counters, scraped from /metrics by the CloudWatch agent (infra/addons.py).
PROMETHEUS_NAMESPACE = "ContainerInsights/Prometheus"


@dataclass(frozen=True)
class AlarmSpec:
    name: str
    severity: str  # critical: page now; warning: look today
    meaning: str
    comparison: str
    threshold: float
    treat_missing_data: str
    evaluation_periods: int
    datapoints_to_alarm: int | None = None
    namespace: str | None = None
    metric_name: str | None = None
    dimensions: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    statistic: str | None = None
    extended_statistic: str | None = None
    period: int = 60
    metric_queries: list[dict[str, Any]] | None = None
    region: str | None = None  # None: the stack's region; CloudFront and Route 53 only in us-east-1


@dataclass(frozen=True)
class AlarmTargets:
    """The ids alarms watch, gathered from the other components."""

    alb_arn_suffix: pulumi.Input[str]
    target_group_arn_suffix: pulumi.Input[str]
    db_identifier: str
    db_allocated_storage_gb: int
    db_max_connections: int
    cache_member_ids: tuple[str, ...]
    distribution_id: pulumi.Input[str]
    regional_acl_name: str
    global_acl_name: str
    health_check_id: pulumi.Input[str]
    region: str
    cluster_name: str
    app_namespace: str
    uploads_bucket: pulumi.Input[str]
    replica_bucket: pulumi.Input[str]
    replication_rule: str


def _metric(qid: str, namespace: str, name: str, stat: str, dims: dict, period: int = 60) -> dict[str, Any]:
    return {
        "id": qid,
        "return_data": False,
        "metric": {
            "namespace": namespace,
            "metric_name": name,
            "stat": stat,
            "period": period,
            "dimensions": dims,
        },
    }


def _expression(qid: str, expression: str, label: str) -> dict[str, Any]:
    return {"id": qid, "expression": expression, "label": label, "return_data": True}


def _across_members(name: str, stat: str, members: tuple[str, ...], combine: str) -> list[dict[str, Any]]:
    """One series per Redis node (primary and replicas swap on failover), combined by `combine`."""
    queries = [
        _metric(f"m{i}", "AWS/ElastiCache", name, stat, {"CacheClusterId": member}, 300)
        for i, member in enumerate(members)
    ]
    return [*queries, _expression("e", f"{combine}([{','.join(q['id'] for q in queries)}])", name)]


def catalogue(t: AlarmTargets) -> list[AlarmSpec]:
    alb = {"LoadBalancer": t.alb_arn_suffix}
    db = {"DBInstanceIdentifier": t.db_identifier}
    gib = 1024**3
    return [*_core(t, alb, db, gib), *_silent_failures(t)]


def _silent_failures(t: AlarmTargets) -> list[AlarmSpec]:
    """What failed without anyone noticing before: the app's own counters, replication, origins."""
    pods = {"ClusterName": t.cluster_name, "Namespace": t.app_namespace}
    cdn = {"DistributionId": t.distribution_id, "Region": "Global"}
    return [
        AlarmSpec(
            name="AppSocketDeliveryFailures",
            severity="warning",
            meaning="More than 1% of message:new deliveries to sockets failed for 3 of 5 minutes "
            "(relay_socket_delivery_failures_total against relay_messages_delivered_total).",
            comparison="GreaterThanThreshold",
            threshold=1,
            treat_missing_data="notBreaching",
            evaluation_periods=5,
            datapoints_to_alarm=3,
            metric_queries=[
                _metric("failed", PROMETHEUS_NAMESPACE, "relay_socket_delivery_failures_total", "Sum", pods),
                _metric("delivered", PROMETHEUS_NAMESPACE, "relay_messages_delivered_total", "Sum", pods),
                _expression(
                    "rate",
                    "100 * FILL(failed, 0) / (FILL(delivered, 0) + FILL(failed, 0))",
                    "failed deliveries %",
                ),
            ],
        ),
        AlarmSpec(
            name="AppRateLimitSpike",
            severity="warning",
            meaning="The app refused more than 3000 requests or messages by rate limit in 5 minutes "
            "(relay_rate_limit_hits_total): abuse, or a client retrying in a loop.",
            comparison="GreaterThanThreshold",
            threshold=3000,
            treat_missing_data="notBreaching",
            evaluation_periods=1,
            period=300,
            namespace=PROMETHEUS_NAMESPACE,
            metric_name="relay_rate_limit_hits_total",
            statistic="Sum",
            dimensions=pods,
        ),
        AlarmSpec(
            name="S3ReplicationFailures",
            severity="warning",
            meaning="Uploads failed to replicate to the backup region in the last 15 minutes: "
            "the copy a regional loss would restore from is incomplete.",
            comparison="GreaterThanThreshold",
            threshold=0,
            treat_missing_data="notBreaching",
            evaluation_periods=3,
            datapoints_to_alarm=1,
            period=300,
            namespace="AWS/S3",
            metric_name="OperationsFailedReplication",
            statistic="Sum",
            dimensions={
                "SourceBucket": t.uploads_bucket,
                "DestinationBucket": t.replica_bucket,
                "RuleId": t.replication_rule,
            },
        ),
        AlarmSpec(
            name="CloudFrontOriginErrors",
            severity="warning",
            meaning="More than 2% of file downloads got 502 or 504 from the S3 origin for 10 minutes.",
            comparison="GreaterThanThreshold",
            threshold=2,
            treat_missing_data="notBreaching",
            evaluation_periods=2,
            region=US_EAST_1,
            metric_queries=[
                _metric("bad_gateway", "AWS/CloudFront", "502ErrorRate", "Average", cdn, 300),
                _metric("timeout", "AWS/CloudFront", "504ErrorRate", "Average", cdn, 300),
                _expression("rate", "FILL(bad_gateway, 0) + FILL(timeout, 0)", "origin errors %"),
            ],
        ),
    ]


def _core(t: AlarmTargets, alb: dict, db: dict, gib: int) -> list[AlarmSpec]:
    return [
        AlarmSpec(
            name="AlbHigh5xxRate",
            severity="critical",
            meaning="More than 1% of requests through the ALB failed with 5xx for 3 of 5 minutes.",
            comparison="GreaterThanThreshold",
            threshold=1,
            treat_missing_data="notBreaching",
            evaluation_periods=5,
            datapoints_to_alarm=3,
            metric_queries=[
                _metric("elb", "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "Sum", alb),
                _metric("target", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", alb),
                _metric("requests", "AWS/ApplicationELB", "RequestCount", "Sum", alb),
                _expression("rate", "100 * (FILL(elb, 0) + FILL(target, 0)) / requests", "5xx %"),
            ],
        ),
        AlarmSpec(
            name="AlbHighP99Latency",
            severity="warning",
            meaning="p99 target response time above 1 s for 5 minutes.",
            comparison="GreaterThanThreshold",
            threshold=1.0,
            treat_missing_data="notBreaching",
            evaluation_periods=5,
            datapoints_to_alarm=5,
            namespace="AWS/ApplicationELB",
            metric_name="TargetResponseTime",
            dimensions=alb,
            extended_statistic="p99",
        ),
        AlarmSpec(
            name="AlbUnhealthyTargets",
            severity="warning",
            meaning="At least one relay pod has failed ALB health checks for 3 minutes.",
            comparison="GreaterThanThreshold",
            threshold=0,
            treat_missing_data="notBreaching",
            evaluation_periods=3,
            namespace="AWS/ApplicationELB",
            metric_name="UnHealthyHostCount",
            statistic="Maximum",
            dimensions={**alb, "TargetGroup": t.target_group_arn_suffix},
        ),
        AlarmSpec(
            name="AlbNoHealthyTargets",
            severity="critical",
            meaning="No relay pod is healthy behind the ALB: the app is down.",
            comparison="LessThanThreshold",
            threshold=1,
            treat_missing_data="breaching",
            evaluation_periods=2,
            namespace="AWS/ApplicationELB",
            metric_name="HealthyHostCount",
            statistic="Minimum",
            dimensions={**alb, "TargetGroup": t.target_group_arn_suffix},
        ),
        AlarmSpec(
            name="RdsHighCpu",
            severity="warning",
            meaning="Database CPU above 80% for 15 minutes.",
            comparison="GreaterThanThreshold",
            threshold=80,
            treat_missing_data="breaching",
            evaluation_periods=3,
            period=300,
            namespace="AWS/RDS",
            metric_name="CPUUtilization",
            statistic="Average",
            dimensions=db,
        ),
        AlarmSpec(
            name="RdsLowFreeStorage",
            severity="critical",
            meaning="Free storage below 10% of the allocated size (autoscaling may be at its ceiling).",
            comparison="LessThanThreshold",
            threshold=0.1 * t.db_allocated_storage_gb * gib,
            treat_missing_data="breaching",
            evaluation_periods=1,
            period=300,
            namespace="AWS/RDS",
            metric_name="FreeStorageSpace",
            statistic="Minimum",
            dimensions=db,
        ),
        AlarmSpec(
            name="RdsHighConnections",
            severity="warning",
            meaning="Database connections above 80% of max_connections for 10 minutes.",
            comparison="GreaterThanThreshold",
            threshold=0.8 * t.db_max_connections,
            treat_missing_data="breaching",
            evaluation_periods=2,
            period=300,
            namespace="AWS/RDS",
            metric_name="DatabaseConnections",
            statistic="Maximum",
            dimensions=db,
        ),
        AlarmSpec(
            name="RdsLowFreeableMemory",
            severity="warning",
            meaning="Database freeable memory below 256 MiB for 15 minutes.",
            comparison="LessThanThreshold",
            threshold=256 * 1024**2,
            treat_missing_data="breaching",
            evaluation_periods=3,
            period=300,
            namespace="AWS/RDS",
            metric_name="FreeableMemory",
            statistic="Minimum",
            dimensions=db,
        ),
        AlarmSpec(
            name="RdsHighReadLatency",
            severity="warning",
            meaning="Average database read latency above 20 ms for 15 minutes.",
            comparison="GreaterThanThreshold",
            threshold=0.02,
            treat_missing_data="breaching",
            evaluation_periods=3,
            period=300,
            namespace="AWS/RDS",
            metric_name="ReadLatency",
            statistic="Average",
            dimensions=db,
        ),
        AlarmSpec(
            name="RdsHighWriteLatency",
            severity="warning",
            meaning="Average database write latency above 20 ms for 15 minutes.",
            comparison="GreaterThanThreshold",
            threshold=0.02,
            treat_missing_data="breaching",
            evaluation_periods=3,
            period=300,
            namespace="AWS/RDS",
            metric_name="WriteLatency",
            statistic="Average",
            dimensions=db,
        ),
        AlarmSpec(
            name="RedisHighMemory",
            severity="warning",
            meaning="A Redis node uses more than 80% of its memory for 10 minutes.",
            comparison="GreaterThanThreshold",
            threshold=80,
            treat_missing_data="breaching",
            evaluation_periods=2,
            metric_queries=_across_members(
                "DatabaseMemoryUsagePercentage", "Maximum", t.cache_member_ids, "MAX"
            ),
        ),
        AlarmSpec(
            name="RedisEvictions",
            severity="warning",
            meaning="Redis evicted keys in the last 10 minutes: presence and limits are lossy.",
            comparison="GreaterThanThreshold",
            threshold=0,
            treat_missing_data="notBreaching",
            evaluation_periods=2,
            metric_queries=_across_members("Evictions", "Sum", t.cache_member_ids, "SUM"),
        ),
        AlarmSpec(
            name="RedisHighCpu",
            severity="warning",
            meaning="Redis engine CPU above 80% on a node for 10 minutes (one thread serves all).",
            comparison="GreaterThanThreshold",
            threshold=80,
            treat_missing_data="breaching",
            evaluation_periods=2,
            metric_queries=_across_members("EngineCPUUtilization", "Maximum", t.cache_member_ids, "MAX"),
        ),
        AlarmSpec(
            name="CloudFrontHigh5xxRate",
            severity="warning",
            meaning="More than 5% of file downloads failed with 5xx for 10 minutes.",
            comparison="GreaterThanThreshold",
            threshold=5,
            treat_missing_data="notBreaching",
            evaluation_periods=2,
            period=300,
            region=US_EAST_1,
            namespace="AWS/CloudFront",
            metric_name="5xxErrorRate",
            statistic="Average",
            dimensions={"DistributionId": t.distribution_id, "Region": "Global"},
        ),
        AlarmSpec(
            name="WafRegionalBlockedSpike",
            severity="warning",
            meaning="The ALB's WAF blocked more than 1000 requests in 5 minutes.",
            comparison="GreaterThanThreshold",
            threshold=1000,
            treat_missing_data="notBreaching",
            evaluation_periods=1,
            period=300,
            namespace="AWS/WAFV2",
            metric_name="BlockedRequests",
            statistic="Sum",
            dimensions={"WebACL": t.regional_acl_name, "Region": t.region, "Rule": "ALL"},
        ),
        AlarmSpec(
            name="WafCdnBlockedSpike",
            severity="warning",
            meaning="CloudFront's WAF blocked more than 1000 requests in 5 minutes.",
            comparison="GreaterThanThreshold",
            threshold=1000,
            treat_missing_data="notBreaching",
            evaluation_periods=1,
            period=300,
            region=US_EAST_1,
            namespace="AWS/WAFV2",
            metric_name="BlockedRequests",
            statistic="Sum",
            dimensions={"WebACL": t.global_acl_name, "Rule": "ALL"},
        ),
        AlarmSpec(
            name="AppHigh5xxRate",
            severity="critical",
            meaning="More than 2% of requests the app logged ended in 5xx for 3 of 5 minutes.",
            comparison="GreaterThanThreshold",
            threshold=2,
            treat_missing_data="notBreaching",
            evaluation_periods=5,
            datapoints_to_alarm=3,
            metric_queries=[
                _metric("errors", APP_METRICS_NAMESPACE, "Http5xx", "Sum", {}),
                _metric("requests", APP_METRICS_NAMESPACE, "HttpRequests", "Sum", {}),
                _expression("rate", "100 * FILL(errors, 0) / requests", "app 5xx %"),
            ],
        ),
        AlarmSpec(
            name="AppSocketDisconnectSpike",
            severity="warning",
            meaning="Over 500 Socket.IO disconnects per minute for 3 minutes: clients are being dropped.",
            comparison="GreaterThanThreshold",
            threshold=500,
            treat_missing_data="notBreaching",
            evaluation_periods=3,
            namespace=APP_METRICS_NAMESPACE,
            metric_name="SocketDisconnects",
            statistic="Sum",
        ),
        AlarmSpec(
            name="AppEndpointDown",
            severity="critical",
            meaning="Route 53 health checkers cannot get 200 from https://<domain>/healthz.",
            comparison="LessThanThreshold",
            threshold=1,
            treat_missing_data="breaching",
            evaluation_periods=2,
            region=US_EAST_1,
            namespace="AWS/Route53",
            metric_name="HealthCheckStatus",
            statistic="Minimum",
            dimensions={"HealthCheckId": t.health_check_id},
        ),
    ]
