"""Monitoring: alarms to SNS (one topic per region that has alarms), app metrics, a dashboard.

CloudFront and Route 53 publish metrics only in us-east-1, so their alarms and a second topic
live there; an alarm can only notify a topic in its own region. Every alarm notifies on ALARM
and on OK, and its description carries the severity and the runbook link.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.alarm_delivery import backup_failure_events, webhook_forwarder
from infra.alarms import APP_METRICS_NAMESPACE, US_EAST_1, AlarmSpec, AlarmTargets, catalogue
from infra.keys import account_id, encryption_key, key_policy, service_may_use

# Container Insights (Fluent Bit) puts a JSON log line under `log_processed`. The service logs
# one access line per request (`status`) and an `event` per socket disconnect.
APP_LOG_FILTERS = {
    "HttpRequests": "$.log_processed.status >= 100",
    "Http5xx": "$.log_processed.status >= 500",
    "SocketDisconnects": '$.log_processed.event = "socket.disconnect"',
}


@dataclass(frozen=True)
class MonitoringArgs:
    name_prefix: str
    environment: str
    region: str
    domain: str  # health-checked at https://<domain>/healthz
    app_namespace: str
    application_log_group: pulumi.Input[str]
    runbook_base_url: str
    alarm_emails: tuple[str, ...]
    log_retention_days: int
    cluster_name: str
    uploads_bucket: pulumi.Input[str]
    replica_bucket: pulumi.Input[str]
    replication_rule: str
    alb_arn_suffix: pulumi.Input[str]
    target_group_arn_suffix: pulumi.Input[str]
    db_identifier: str
    db_allocated_storage_gb: int
    db_max_connections: int
    cache_member_ids: tuple[str, ...]
    distribution_id: pulumi.Input[str]
    regional_acl_name: str
    global_acl_name: str
    # Set when relay:alarmWebhookUrl is: the secret holding it, and the key that encrypts it.
    alarm_webhook_secret_arn: pulumi.Input[str] | None = None
    alarm_webhook_key_arn: pulumi.Input[str] | None = None


class Monitoring(pulumi.ComponentResource):
    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("relay:monitoring:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.topics = {
            region: self._topic(f"{name}-alarms-{label}", args, region)
            for region, label in ((args.region, "regional"), (US_EAST_1, "global"))
        }
        for metric, pattern in APP_LOG_FILTERS.items():
            aws.cloudwatch.LogMetricFilter(
                f"{name}-app-{metric.lower()}",
                name=f"{args.name_prefix}-{metric}",
                log_group_name=args.application_log_group,
                pattern=f'{{ $.kubernetes.namespace_name = "{args.app_namespace}" && {pattern} }}',
                metric_transformation={
                    "name": metric,
                    "namespace": APP_METRICS_NAMESPACE,
                    "value": "1",
                    "default_value": "0",
                    "unit": "Count",
                },
                opts=child,
            )
        # Probed from several AWS regions over the internet: what a user sees, not what the VPC sees.
        health_check = aws.route53.HealthCheck(
            f"{name}-app-health",
            fqdn=args.domain,
            type="HTTPS",
            port=443,
            resource_path="/healthz",
            enable_sni=True,
            request_interval=30,
            failure_threshold=3,
            measure_latency=True,
            opts=child,
        )
        targets = AlarmTargets(
            alb_arn_suffix=args.alb_arn_suffix,
            target_group_arn_suffix=args.target_group_arn_suffix,
            db_identifier=args.db_identifier,
            db_allocated_storage_gb=args.db_allocated_storage_gb,
            db_max_connections=args.db_max_connections,
            cache_member_ids=args.cache_member_ids,
            distribution_id=args.distribution_id,
            regional_acl_name=args.regional_acl_name,
            global_acl_name=args.global_acl_name,
            health_check_id=health_check.id,
            region=args.region,
            cluster_name=args.cluster_name,
            app_namespace=args.app_namespace,
            uploads_bucket=args.uploads_bucket,
            replica_bucket=args.replica_bucket,
            replication_rule=args.replication_rule,
        )
        self.alarms = [self._alarm(name, spec, args) for spec in catalogue(targets)]
        if args.alarm_webhook_secret_arn is not None and args.alarm_webhook_key_arn is not None:
            webhook_forwarder(
                name,
                self,
                args.region,
                self.topics,
                args.alarm_webhook_secret_arn,
                args.alarm_webhook_key_arn,
                args.log_retention_days,
            )
        self.backup_failures = backup_failure_events(
            name, self, args.name_prefix, self.topics[args.region], args.runbook_base_url
        )
        dashboard_name = f"{args.name_prefix}-overview"
        aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=dashboard_name,
            dashboard_body=pulumi.Output.json_dumps(_dashboard(targets, args.region)),
            opts=child,
        )
        self.topic_arn = self.topics[args.region].arn
        self.dashboard_url = (
            f"https://{args.region}.console.aws.amazon.com/cloudwatch/home?region={args.region}"
            f"#dashboards:name={dashboard_name}"
        )
        self.register_outputs({"topic_arn": self.topic_arn, "dashboard_url": self.dashboard_url})

    def _topic(self, name: str, args: MonitoringArgs, region: str) -> aws.sns.Topic:
        child = pulumi.ResourceOptions(parent=self)
        # CloudWatch (alarms) and EventBridge (backup job failures) must be allowed to use the key,
        # or their notifications vanish silently.
        key = encryption_key(
            f"{name}-key",
            f"alarm topic in {region}",
            self,
            policy=key_policy(
                account_id(self),
                [
                    service_may_use(service, ["kms:Decrypt", "kms:GenerateDataKey*"])
                    for service in ("cloudwatch.amazonaws.com", "events.amazonaws.com")
                ],
            ),
            region=region,
        )
        topic = aws.sns.Topic(
            f"{name}-topic", name=name, kms_master_key_id=key.arn, region=region, opts=child
        )
        for i, email in enumerate(args.alarm_emails):
            aws.sns.TopicSubscription(
                f"{name}-email-{i}",
                topic=topic.arn,
                protocol="email",
                endpoint=email,
                region=region,
                opts=child,
            )
        return topic

    def _alarm(self, name: str, spec: AlarmSpec, args: MonitoringArgs) -> aws.cloudwatch.MetricAlarm:
        region = spec.region or args.region
        topic = self.topics[region].arn
        runbook = f"{args.runbook_base_url}/runbooks/alerts/{spec.name}.md"
        metric = (
            {"metric_queries": spec.metric_queries}
            if spec.metric_queries
            else {
                "namespace": spec.namespace,
                "metric_name": spec.metric_name,
                "dimensions": spec.dimensions or None,
                "statistic": spec.statistic,
                "extended_statistic": spec.extended_statistic,
                "period": spec.period,
            }
        )
        return aws.cloudwatch.MetricAlarm(
            f"{name}-{spec.name}",
            name=f"{args.name_prefix}-{spec.name}",
            alarm_description=f"[{spec.severity}] {spec.meaning} Runbook: {runbook}",
            comparison_operator=spec.comparison,
            threshold=spec.threshold,
            evaluation_periods=spec.evaluation_periods,
            datapoints_to_alarm=spec.datapoints_to_alarm or spec.evaluation_periods,
            treat_missing_data=spec.treat_missing_data,
            alarm_actions=[topic],
            ok_actions=[topic],
            tags={"severity": spec.severity, "runbook": spec.name},
            region=region,
            **metric,
            opts=pulumi.ResourceOptions(parent=self),
        )


def _dashboard(t: AlarmTargets, home_region: str) -> dict:
    def widget(title: str, metrics: list, x: int, y: int, region: str = home_region) -> dict:
        return {
            "type": "metric",
            "x": x,
            "y": y,
            "width": 12,
            "height": 6,
            "properties": {"title": title, "region": region, "metrics": metrics, "period": 60, "stat": "Sum"},
        }

    members = [
        ["AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "CacheClusterId", m] for m in t.cache_member_ids
    ]
    return {
        "widgets": [
            widget(
                "ALB requests and 5xx",
                [
                    ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", t.alb_arn_suffix],
                    ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", t.alb_arn_suffix],
                    ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", t.alb_arn_suffix],
                ],
                0,
                0,
            ),
            widget(
                "ALB p99 latency",
                [
                    [
                        "AWS/ApplicationELB",
                        "TargetResponseTime",
                        "LoadBalancer",
                        t.alb_arn_suffix,
                        {"stat": "p99"},
                    ],
                ],
                12,
                0,
            ),
            widget(
                "App requests, 5xx, socket disconnects",
                [
                    [APP_METRICS_NAMESPACE, "HttpRequests"],
                    [APP_METRICS_NAMESPACE, "Http5xx"],
                    [APP_METRICS_NAMESPACE, "SocketDisconnects"],
                ],
                0,
                6,
            ),
            widget(
                "RDS CPU and connections",
                [
                    [
                        "AWS/RDS",
                        "CPUUtilization",
                        "DBInstanceIdentifier",
                        t.db_identifier,
                        {"stat": "Average"},
                    ],
                    [
                        "AWS/RDS",
                        "DatabaseConnections",
                        "DBInstanceIdentifier",
                        t.db_identifier,
                        {"stat": "Maximum"},
                    ],
                ],
                12,
                6,
            ),
            widget("Redis memory %", [[*m, {"stat": "Maximum"}] for m in members], 0, 12),
            widget(
                "CloudFront 5xx %",
                [
                    [
                        "AWS/CloudFront",
                        "5xxErrorRate",
                        "DistributionId",
                        t.distribution_id,
                        "Region",
                        "Global",
                        {"stat": "Average"},
                    ],
                ],
                12,
                12,
                US_EAST_1,
            ),
        ]
    }
