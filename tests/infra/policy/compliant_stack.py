"""A hand-built stack that satisfies every policy: the baseline each weakened variant starts from.

It has one resource of each governed kind, wired the way DESIGN.md §5 wires them (property
references name the resources they point at, as the engine's property dependencies do). Tests
copy it, weaken one setting and expect exactly that setting's policy to fire.
"""

import copy
from typing import Any

from .harness import Resource

DIGEST = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/relay@sha256:" + "a" * 64
ALB_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
TLS_ONLY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::relay-uploads", "arn:aws:s3:::relay-uploads/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
        {
            "Sid": "CloudFrontReads",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::relay-uploads/*",
        },
    ],
}
CONTAINER = {
    "name": "relay",
    "image": DIGEST,
    "securityContext": {
        "runAsNonRoot": True,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
    },
    "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"memory": "512Mi"}},
    "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8000}},
    "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8000}},
}
ZONES = ("eu-west-1a", "eu-west-1b", "eu-west-1c")


def bucket_with_companions(
    name: str, algorithm: str, ownership: str = "BucketOwnerEnforced"
) -> list[Resource]:
    on = {"bucket": [name]}
    encryption: dict[str, Any] = {"sseAlgorithm": algorithm}
    if algorithm == "aws:kms":
        encryption["kmsMasterKeyId"] = "arn:aws:kms:eu-west-1:123456789012:key/relay"
    return [
        Resource("aws:s3/bucket:Bucket", name, {"bucket": name}),
        Resource(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            f"{name}-public-access",
            {
                "bucket": name,
                "blockPublicAcls": True,
                "blockPublicPolicy": True,
                "ignorePublicAcls": True,
                "restrictPublicBuckets": True,
            },
            on,
        ),
        Resource(
            "aws:s3/bucketPolicy:BucketPolicy",
            f"{name}-policy",
            {"bucket": name, "policy": copy.deepcopy(TLS_ONLY_POLICY)},
            on,
        ),
        Resource(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            f"{name}-encryption",
            {"bucket": name, "rules": [{"applyServerSideEncryptionByDefault": encryption}]},
            on,
        ),
        Resource(
            "aws:s3/bucketVersioning:BucketVersioning",
            f"{name}-versioning",
            {"bucket": name, "versioningConfiguration": {"status": "Enabled"}},
            on,
        ),
        Resource(
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
            f"{name}-lifecycle",
            {
                "bucket": name,
                "rules": [
                    {
                        "id": "expire-noncurrent",
                        "status": "Enabled",
                        "noncurrentVersionExpiration": {"noncurrentDays": 30},
                    }
                ],
            },
            on,
        ),
        Resource(
            "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
            f"{name}-ownership",
            {"bucket": name, "rule": {"objectOwnership": ownership}},
            on,
        ),
    ]


def storage() -> list[Resource]:
    return [
        *bucket_with_companions("relay-uploads", "aws:kms"),
        *bucket_with_companions("relay-uploads-replica", "aws:kms"),
        *bucket_with_companions("relay-logs", "AES256"),
        *bucket_with_companions("relay-cdn-logs", "AES256", ownership="BucketOwnerPreferred"),
        Resource(
            "aws:s3/bucketLogging:BucketLogging",
            "relay-uploads-logging",
            {"bucket": "relay-uploads", "targetBucket": "relay-logs", "targetPrefix": "s3/uploads/"},
            {"bucket": ["relay-uploads"], "targetBucket": ["relay-logs"]},
        ),
        Resource(
            "aws:s3/bucketReplicationConfig:BucketReplicationConfig",
            "relay-uploads-replication",
            {
                "bucket": "relay-uploads",
                "role": "arn:aws:iam::123456789012:role/replication",
                "rules": [
                    {
                        "id": "all",
                        "status": "Enabled",
                        "destination": {"bucket": "arn:aws:s3:::relay-uploads-replica"},
                    }
                ],
            },
            {"bucket": ["relay-uploads"], "rules": ["relay-uploads-replica"]},
        ),
    ]


def database() -> list[Resource]:
    return [
        Resource(
            "aws:rds/instance:Instance",
            "relay-db",
            {
                "engine": "postgres",
                "engineVersion": "17",
                "autoMinorVersionUpgrade": True,
                "storageEncrypted": True,
                "kmsKeyId": "arn:aws:kms:key",
                "multiAz": True,
                "backupRetentionPeriod": 14,
                "deletionProtection": True,
                "publiclyAccessible": False,
                "enabledCloudwatchLogsExports": ["postgresql", "upgrade"],
                "manageMasterUserPassword": True,
                "finalSnapshotIdentifier": "relay-final",
                "copyTagsToSnapshot": True,
                "performanceInsightsEnabled": True,
                "allocatedStorage": 100,
                "maxAllocatedStorage": 1000,
                "parameterGroupName": "relay-db-params",
                "tags": {"backup": "relay"},
            },
        ),
        Resource(
            "aws:rds/parameterGroup:ParameterGroup",
            "relay-db-params",
            {"family": "postgres16", "parameters": [{"name": "rds.force_ssl", "value": "1"}]},
        ),
        Resource(
            "aws:backup/plan:Plan",
            "relay-backup-plan",
            {
                "rules": [
                    {
                        "ruleName": "daily",
                        "targetVaultName": "relay",
                        "copyActions": [
                            {"destinationVaultArn": "arn:aws:backup:eu-central-1:1:backup-vault:relay"}
                        ],
                    }
                ]
            },
        ),
        Resource(
            "aws:backup/selection:Selection",
            "relay-backup-selection",
            {"planId": "relay-backup-plan", "resources": ["arn:aws:rds:eu-west-1:1:db:relay-db"]},
            {"planId": ["relay-backup-plan"], "resources": ["relay-db"]},
        ),
        Resource(
            "aws:elasticache/replicationGroup:ReplicationGroup",
            "relay-redis",
            {
                "atRestEncryptionEnabled": True,
                "transitEncryptionEnabled": True,
                "authToken": "secret",
                "automaticFailoverEnabled": True,
                "multiAzEnabled": True,
                "numCacheClusters": 2,
                "snapshotRetentionLimit": 7,
                "finalSnapshotIdentifier": "relay-redis-final",
            },
        ),
    ]


def edge() -> list[Resource]:
    return [
        Resource(
            "aws:cloudfront/distribution:Distribution",
            "relay-cdn",
            {
                "enabled": True,
                "webAclId": "arn:aws:wafv2:us-east-1:1:global/webacl/relay-cdn-waf",
                "defaultCacheBehavior": {
                    "viewerProtocolPolicy": "redirect-to-https",
                    "trustedKeyGroups": ["kg"],
                },
                "orderedCacheBehaviors": [
                    {"pathPattern": "/u/*", "viewerProtocolPolicy": "https-only", "trustedKeyGroups": ["kg"]}
                ],
                "viewerCertificate": {
                    "acmCertificateArn": "arn:aws:acm:us-east-1:1:certificate/x",
                    "sslSupportMethod": "sni-only",
                    "minimumProtocolVersion": "TLSv1.2_2021",
                },
                "origins": [
                    {
                        "originId": "uploads",
                        "domainName": "relay-uploads.s3.eu-west-1.amazonaws.com",
                        "originAccessControlId": "oac-1",
                    }
                ],
                "loggingConfig": {"bucket": "relay-cdn-logs.s3.amazonaws.com"},
            },
            {"webAclId": ["relay-cdn-waf"], "loggingConfig": ["relay-cdn-logs"]},
        ),
        Resource(
            "aws:lb/loadBalancer:LoadBalancer",
            "relay-alb",
            {
                "loadBalancerType": "application",
                "dropInvalidHeaderFields": True,
                "enableDeletionProtection": True,
                "idleTimeout": 120,
                "accessLogs": {"bucket": "relay-logs", "enabled": True},
            },
            {"accessLogs": ["relay-logs"], "securityGroups": ["relay-alb-sg"]},
        ),
        Resource(
            "aws:lb/listener:Listener",
            "relay-https",
            {
                "protocol": "HTTPS",
                "port": 443,
                "sslPolicy": ALB_POLICY,
                "defaultActions": [{"type": "forward", "targetGroupArn": "tg"}],
            },
        ),
        Resource(
            "aws:lb/listener:Listener",
            "relay-http",
            {
                "protocol": "HTTP",
                "port": 80,
                "defaultActions": [
                    {
                        "type": "redirect",
                        "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"},
                    }
                ],
            },
        ),
        Resource(
            "aws:lb/listenerRule:ListenerRule",
            "relay-refuse-metrics",
            {
                "listenerArn": "arn:https",
                "priority": 10,
                "actions": [
                    {
                        "type": "fixed-response",
                        "fixedResponse": {"statusCode": "404", "contentType": "text/plain"},
                    }
                ],
                "conditions": [{"pathPattern": {"values": ["/metrics"]}}],
            },
            {"listenerArn": ["relay-https"]},
        ),
        Resource(
            "aws:lb/targetGroup:TargetGroup",
            "relay-pods",
            {
                "protocol": "HTTP",
                "port": 8000,
                "targetType": "ip",
                "stickiness": {"type": "lb_cookie", "enabled": True, "cookieDuration": 86400},
            },
        ),
        *[
            Resource(
                "aws:wafv2/webAcl:WebAcl",
                name,
                {
                    "scope": scope,
                    "rules": [
                        {
                            "name": "common",
                            "priority": 1,
                            "statement": {
                                "managedRuleGroupStatement": {
                                    "vendorName": "AWS",
                                    "name": "AWSManagedRulesCommonRuleSet",
                                }
                            },
                        },
                        {
                            "name": "per-ip",
                            "priority": 2,
                            "statement": {"rateBasedStatement": {"limit": 2000, "aggregateKeyType": "IP"}},
                        },
                    ],
                },
            )
            for name, scope in (("relay-alb-waf", "REGIONAL"), ("relay-cdn-waf", "CLOUDFRONT"))
        ],
        Resource(
            "aws:wafv2/webAclAssociation:WebAclAssociation",
            "relay-alb-waf-association",
            {"resourceArn": "arn:alb", "webAclArn": "arn:waf"},
            {"resourceArn": ["relay-alb"], "webAclArn": ["relay-alb-waf"]},
        ),
        *[
            Resource(
                "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
                f"{acl}-logging",
                {
                    "resourceArn": f"arn:{acl}",
                    "logDestinationConfigs": [f"arn:aws:logs:x:1:log-group:aws-waf-logs-{acl}"],
                },
                {"resourceArn": [acl]},
            )
            for acl in ("relay-alb-waf", "relay-cdn-waf")
        ],
    ]


def network() -> list[Resource]:
    subnets = [
        Resource(
            "aws:ec2/subnet:Subnet",
            f"relay-{tier}-{zone}",
            {"availabilityZone": zone, "vpcId": "vpc"},
            {"vpcId": ["relay-vpc"]},
        )
        for tier in ("public", "private")
        for zone in ZONES
    ]
    nats = [
        Resource(
            "aws:ec2/natGateway:NatGateway",
            f"relay-nat-{zone}",
            {"subnetId": f"subnet-{zone}"},
            {"subnetId": [f"relay-public-{zone}"]},
        )
        for zone in ZONES
    ]
    return [
        Resource("aws:ec2/vpc:Vpc", "relay-vpc", {"cidrBlock": "10.0.0.0/16"}),
        *subnets,
        *nats,
        Resource(
            "aws:ec2/flowLog:FlowLog",
            "relay-flow-log",
            {"vpcId": "vpc", "trafficType": "ALL"},
            {"vpcId": ["relay-vpc"]},
        ),
        Resource("aws:ec2/securityGroup:SecurityGroup", "relay-alb-sg", {"vpcId": "vpc"}),
        Resource(
            "aws:ec2/securityGroup:SecurityGroup",
            "relay-db-sg",
            {
                "vpcId": "vpc",
                "ingress": [
                    {"protocol": "tcp", "fromPort": 5432, "toPort": 5432, "securityGroups": ["sg-nodes"]}
                ],
            },
        ),
        *[
            Resource(
                "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                f"relay-alb-{port}",
                {
                    "securityGroupId": "sg-alb",
                    "ipProtocol": "tcp",
                    "fromPort": port,
                    "toPort": port,
                    "cidrIpv4": "0.0.0.0/0",
                },
                {"securityGroupId": ["relay-alb-sg"]},
            )
            for port in (80, 443)
        ],
        Resource(
            "aws:ec2/launchTemplate:LaunchTemplate",
            "relay-node-template",
            {
                "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
                "blockDeviceMappings": [
                    {
                        "deviceName": "/dev/xvda",
                        "ebs": {"volumeType": "gp3", "volumeSize": 50, "encrypted": "true"},
                    }
                ],
            },
        ),
        Resource(
            "aws:eks/cluster:Cluster",
            "relay-eks",
            {
                "vpcConfig": {
                    "endpointPrivateAccess": True,
                    "endpointPublicAccess": True,
                    "publicAccessCidrs": ["203.0.113.0/24"],
                },
                "encryptionConfig": {"resources": ["secrets"], "provider": {"keyArn": "arn:aws:kms:key"}},
                "enabledClusterLogTypes": ["api", "audit", "authenticator", "controllerManager", "scheduler"],
                "upgradePolicy": {"supportType": "STANDARD"},
            },
        ),
        Resource(
            "aws:eks/addon:Addon",
            "relay-vpc-cni",
            {"clusterName": "relay", "addonName": "vpc-cni", "addonVersion": "v1.20.4-eksbuild.2"},
        ),
    ]


def observability() -> list[Resource]:
    return [
        Resource("aws:kms/key:Key", "relay-key", {"enableKeyRotation": True}),
        Resource("aws:cloudwatch/logGroup:LogGroup", "relay-eks-logs", {"retentionInDays": 30}),
        Resource("aws:sns/topic:Topic", "relay-oncall", {}),
        Resource(
            "aws:sns/topicSubscription:TopicSubscription",
            "relay-oncall-webhook",
            {
                "topic": "arn:aws:sns:eu-west-1:1:relay-oncall",
                "protocol": "lambda",
                "endpoint": "arn:aws:lambda:x",
            },
            {"topic": ["relay-oncall"]},
        ),
        Resource(
            "aws:cloudwatch/metricAlarm:MetricAlarm",
            "AlbHigh5xxRate",
            {
                "alarmActions": ["arn:aws:sns:eu-west-1:1:relay-oncall"],
                "okActions": ["arn:aws:sns:eu-west-1:1:relay-oncall"],
                "treatMissingData": "notBreaching",
            },
            {"alarmActions": ["relay-oncall"], "okActions": ["relay-oncall"]},
        ),
    ]


def workloads() -> list[Resource]:
    pod = {
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
        "containers": [copy.deepcopy(CONTAINER)],
    }
    migrate = {**copy.deepcopy(CONTAINER), "name": "migrate"}
    migrate.pop("readinessProbe")
    migrate.pop("livenessProbe")
    return [
        Resource("kubernetes:apps/v1:Deployment", "relay-app", {"spec": {"template": {"spec": pod}}}),
        Resource(
            "kubernetes:batch/v1:Job",
            "relay-migrate",
            {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [migrate]}}}},
        ),
    ]


def registry() -> list[Resource]:
    return [
        Resource(
            "aws:ecr/repository:Repository",
            "relay-registry",
            {
                "name": "relay",
                "imageTagMutability": "IMMUTABLE",
                "imageScanningConfiguration": {"scanOnPush": True},
                "encryptionConfigurations": [{"encryptionType": "KMS", "kmsKey": "arn:aws:kms:key"}],
            },
        ),
        Resource(
            "aws:ecr/lifecyclePolicy:LifecyclePolicy",
            "relay-registry-lifecycle",
            {"repository": "relay", "policy": '{"rules": []}'},
            {"repository": ["relay-registry"]},
        ),
    ]


def compliant_stack() -> list[Resource]:
    return [*storage(), *database(), *edge(), *network(), *observability(), *workloads(), *registry()]
