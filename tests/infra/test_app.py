"""App: the Deployment, its migrations Job, settings, scaling and the ALB binding."""

import json
import os

from infra.evaluation.stack_capture import REPO_ROOT, capture_run, stack_config
from relay.settings import load_settings
from tests.infra.resources import by_output, by_urn, config, of_type, plain, single

DEPLOYMENT = "kubernetes:apps/v1:Deployment"
JOB = "kubernetes:batch/v1:Job"
# The service's settings contract (app/src/relay/settings.py reads RELAY_*).
CONTRACT_ENV = {
    "RELAY_ENVIRONMENT",
    "RELAY_DATABASE_URL",
    "RELAY_MIGRATION_DATABASE_URL",
    "RELAY_REDIS_URL",
    "RELAY_S3_BUCKET",
    "RELAY_S3_REGION",
    "RELAY_AUTH_ISSUER",
    "RELAY_AUTH_JWKS_URL",
    "RELAY_ALLOWED_ORIGINS",
    "RELAY_PUBLIC_URL",
    "RELAY_TRUSTED_PROXIES",
    "RELAY_CDN_DOMAIN",
    "RELAY_CLERK_PUBLISHABLE_KEY",
}
SECRET_ENV = {"RELAY_DATABASE_URL", "RELAY_MIGRATION_DATABASE_URL", "RELAY_REDIS_URL"}


def container(resource, name):
    return next(c for c in resource.inputs["spec"]["template"]["spec"]["containers"] if c["name"] == name)


def environment(run, workload, name):
    """Every variable a container gets: config map and secret named in its envFrom."""
    values, secret_keys = {}, set()
    for source in container(workload, name)["envFrom"]:
        if "configMapRef" in source:
            cm = next(
                c
                for c in of_type(run, "kubernetes:core/v1:ConfigMap")
                if c.inputs["metadata"]["name"] == source["configMapRef"]["name"]
            )
            values.update(cm.inputs["data"])
        else:
            secret = next(
                s
                for s in of_type(run, "kubernetes:core/v1:Secret")
                if s.inputs["metadata"]["name"] == source["secretRef"]["name"]
            )
            data = plain(secret.inputs["stringData"])
            values.update(data)
            secret_keys |= set(data)
    return values, secret_keys


def test_pods_get_every_setting_of_the_service_contract(stack_run):
    values, secret_keys = environment(stack_run, single(stack_run, DEPLOYMENT), "relay")
    assert set(values) >= CONTRACT_ENV
    assert secret_keys >= SECRET_ENV, "credentials come from the Kubernetes Secret"
    domain = config(stack_run, "domain")
    assert values["RELAY_ENVIRONMENT"] == stack_run.stack
    assert values["RELAY_PUBLIC_URL"] == f"https://{domain}"
    assert values["RELAY_ALLOWED_ORIGINS"].split(",") == [f"https://{domain}"]
    public_subnets = [s for s in of_type(stack_run, "aws:ec2/subnet:Subnet") if "-public-" in s.name]
    assert public_subnets, "the network has public subnets for the ALB"
    public_cidrs = sorted(s.inputs["cidrBlock"] for s in public_subnets)
    assert sorted(values["RELAY_TRUSTED_PROXIES"].split(",")) == public_cidrs, (
        "only the ALB's subnets are trusted proxies, not the whole VPC"
    )
    assert values["RELAY_CDN_DOMAIN"] == f"files.{domain}"
    assert values["RELAY_S3_REGION"] == config(stack_run, "region")
    assert values["RELAY_S3_BUCKET"] == single(stack_run, "aws:s3/bucket:Bucket", "-uploads-bucket").id
    assert values["RELAY_AUTH_ISSUER"] == config(stack_run, "authIssuer")


def test_connection_urls_use_tls_and_point_at_the_managed_services(stack_run):
    values, _ = environment(stack_run, single(stack_run, DEPLOYMENT), "relay")
    db = single(stack_run, "aws:rds/instance:Instance").outputs["address"]
    redis = single(stack_run, "aws:elasticache/replicationGroup:ReplicationGroup")
    assert values["RELAY_DATABASE_URL"].startswith("postgresql+asyncpg://relay_app:")
    assert values["RELAY_MIGRATION_DATABASE_URL"].startswith("postgresql+asyncpg://relay_migrator:")
    for key in ("RELAY_DATABASE_URL", "RELAY_MIGRATION_DATABASE_URL"):
        assert values[key].endswith(f"@{db}:5432/relay?ssl=verify-full")
    token = plain(redis.inputs["authToken"])
    assert values["RELAY_REDIS_URL"] == f"rediss://:{token}@{redis.outputs['primaryEndpointAddress']}:6379/0"


def test_migrations_job_runs_relay_migrate_and_must_finish_before_the_deployment(stack_run):
    job, deployment = single(stack_run, JOB, "-migrate"), single(stack_run, DEPLOYMENT)
    assert container(job, "migrate")["command"] == ["relay", "migrate"]
    assert job.inputs["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job.urn in deployment.dependencies
    assert "pulumi.com/skipAwait" not in job.inputs["metadata"].get("annotations", {}), (
        "Pulumi must await the Job"
    )
    digest = stack_run.exports["appImage"].split("@sha256:")[1]
    assert job.inputs["metadata"]["name"] == f"relay-migrate-{digest[:12]}", "a new image means a new Job"


def test_deployment_serves_the_deployed_image_on_port_8000(stack_run):
    relay = container(single(stack_run, DEPLOYMENT), "relay")
    assert relay["image"] == stack_run.exports["appImage"] and "@sha256:" in relay["image"]
    assert relay["command"] == ["relay", "serve"]
    # The native socket server's own listener beside it (tests/infra/test_socket_route.py).
    assert relay["ports"] == [
        {"name": "http", "containerPort": 8000, "protocol": "TCP"},
        {"name": "socket", "containerPort": 8100, "protocol": "TCP"},
    ]
    assert container(single(stack_run, JOB, "-migrate"), "migrate")["image"] == relay["image"]


def test_deployment_rolls_without_losing_capacity_and_drains_on_shutdown(stack_run):
    spec = single(stack_run, DEPLOYMENT).inputs["spec"]
    assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert "replicas" not in spec, "the HPA owns the replica count"
    relay = container(single(stack_run, DEPLOYMENT), "relay")
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert relay[probe]["httpGet"]["path"] == "/healthz", probe
    sleep = relay["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert spec["template"]["spec"]["terminationGracePeriodSeconds"] > sleep + 30
    assert relay["resources"]["requests"] == {
        "cpu": config(stack_run, "appCpuRequest"),
        "memory": config(stack_run, "appMemoryRequest"),
    }
    assert relay["resources"]["limits"]["memory"] == config(stack_run, "appMemoryLimit")


def test_pods_run_non_root_on_a_read_only_filesystem(stack_run):
    workloads = (
        (single(stack_run, DEPLOYMENT), "relay"),
        (single(stack_run, JOB, "-migrate"), "migrate"),
        (single(stack_run, JOB, "-db-roles-job"), "db-roles"),
    )
    for workload, name in workloads:
        pod = workload.inputs["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] >= 10000
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        c = container(workload, name)["securityContext"]
        assert c["readOnlyRootFilesystem"] is True and c["allowPrivilegeEscalation"] is False
        assert c["capabilities"]["drop"] == ["ALL"]
    namespace = single(stack_run, "kubernetes:core/v1:Namespace").inputs["metadata"]["labels"]
    assert namespace["pod-security.kubernetes.io/enforce"] == "restricted"


def test_pods_spread_over_zones_with_a_disruption_budget_and_autoscaling(stack_run):
    spec = single(stack_run, DEPLOYMENT).inputs["spec"]
    spread = spec["template"]["spec"]["topologySpreadConstraints"]
    zone = next(s for s in spread if s["topologyKey"] == "topology.kubernetes.io/zone")
    assert zone["maxSkew"] == 1 and zone["whenUnsatisfiable"] == "DoNotSchedule"
    assert zone["labelSelector"]["matchLabels"] == spec["selector"]["matchLabels"]
    pdb = single(stack_run, "kubernetes:policy/v1:PodDisruptionBudget").inputs["spec"]
    assert pdb["maxUnavailable"] == 1 and pdb["selector"] == spec["selector"]
    hpa = single(stack_run, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs["spec"]
    assert hpa["scaleTargetRef"]["name"] == "relay"
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (
        int(config(stack_run, "appMinReplicas")),
        int(config(stack_run, "appMaxReplicas")),
    )


def test_target_group_binding_attaches_the_service_to_the_alb_target_group(stack_run):
    # The REST one (app port); the socket path's is tests/infra/test_socket_route.py's.
    (binding,) = [
        b
        for b in of_type(stack_run, "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding")
        if b.inputs["spec"]["serviceRef"]["port"] == 8000
    ]
    target_group = single(stack_run, "aws:lb/targetGroup:TargetGroup", "-edge-pods")
    spec = binding.inputs["spec"]
    assert spec["targetGroupARN"] == target_group.outputs["arn"]
    assert spec["targetType"] == "ip"
    service = single(stack_run, "kubernetes:core/v1:Service").inputs
    assert spec["serviceRef"] == {
        "name": service["metadata"]["name"],
        "port": service["spec"]["ports"][0]["port"],
    }
    (peer,) = spec["networking"]["ingress"][0]["from"]
    assert (
        peer["securityGroup"]["groupID"]
        == single(stack_run, "aws:ec2/securityGroup:SecurityGroup", "-alb-sg").id
    )
    release = single(stack_run, "kubernetes:helm.sh/v3:Release", "-lb-controller-release")
    assert release.urn in binding.dependencies, "the controller (and its CRD) must exist first"


def test_app_service_account_may_only_touch_the_uploads_bucket(stack_run):
    account = single(stack_run, "kubernetes:core/v1:ServiceAccount", "-app-service-account").inputs
    role = by_output(stack_run, "arn")[account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert "system:serviceaccount:relay:relay" in trust["Condition"]["StringEquals"].values()
    policy = next(
        p for p in of_type(stack_run, "aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.id
    )
    uploads = single(stack_run, "aws:s3/bucket:Bucket", "-uploads-bucket").outputs["arn"]
    others = {s["Resource"] for s in json.loads(policy.inputs["policy"])["Statement"]} - {
        uploads,
        f"{uploads}/*",
    }
    (key,) = others
    assert key == single(stack_run, "aws:kms/key:Key", "-storage-uploads-key").outputs["arn"]
    assert by_urn(stack_run)[role.parent].type == "relay:app:App"


def test_pod_environment_is_accepted_by_the_service_settings(stack_run, monkeypatch):
    """The service's own settings class (app/src/relay/settings.py) loads the pods' environment."""
    values, _ = environment(stack_run, single(stack_run, DEPLOYMENT), "relay")
    for name in [k for k in os.environ if k.startswith("RELAY_")]:
        monkeypatch.delenv(name)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.environment == stack_run.stack
    assert (settings.host, settings.port) == ("0.0.0.0", 8000)
    # The browser loads Clerk's SDK from the instance that issues the tokens the service verifies.
    assert settings.clerk_origin == settings.auth_issuer


def test_database_roles_are_set_up_in_cluster_before_migrations(stack_run):
    roles_job, migrations = single(stack_run, JOB, "-db-roles-job"), single(stack_run, JOB, "-migrate")
    assert roles_job.urn in migrations.dependencies
    runner = container(roles_job, "db-roles")
    assert runner["image"] == stack_run.exports["appImage"]
    assert runner["command"] == ["python", "/opt/relay-jobs/db_roles.py"]
    script_volume = next(
        v for v in roles_job.inputs["spec"]["template"]["spec"]["volumes"] if v["name"] == "scripts"
    )
    script_map = next(
        c
        for c in of_type(stack_run, "kubernetes:core/v1:ConfigMap")
        if c.inputs["metadata"]["name"] == script_volume["configMap"]["name"]
    )
    assert (
        script_map.inputs["data"]["db_roles.py"] == (REPO_ROOT / "infra" / "jobs" / "db_roles.py").read_text()
    )


def test_roles_job_reads_only_the_master_secret_and_sets_the_passwords_the_app_uses(stack_run):
    roles_job = single(stack_run, JOB, "-db-roles-job")
    env, _ = environment(stack_run, roles_job, "db-roles")
    db = single(stack_run, "aws:rds/instance:Instance")
    assert env["MASTER_SECRET_ARN"] == db.outputs["masterUserSecrets"][0]["secretArn"]
    app_env, _ = environment(stack_run, single(stack_run, DEPLOYMENT), "relay")
    assert app_env["RELAY_DATABASE_URL"].startswith(
        f"postgresql+asyncpg://{env['APP_ROLE']}:{env['APP_PASSWORD']}@"
    )
    assert app_env["RELAY_MIGRATION_DATABASE_URL"].startswith(
        f"postgresql+asyncpg://{env['MIGRATOR_ROLE']}:{env['MIGRATOR_PASSWORD']}@"
    )
    account = roles_job.inputs["spec"]["template"]["spec"]["serviceAccountName"]
    service_account = next(
        a
        for a in of_type(stack_run, "kubernetes:core/v1:ServiceAccount")
        if a.inputs["metadata"]["name"] == account
    )
    role = by_output(stack_run, "arn")[
        service_account.inputs["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    ]
    policy = next(
        p for p in of_type(stack_run, "aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.id
    )
    grants = {(s["Action"], s["Resource"]) for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert grants == {
        ("secretsmanager:GetSecretValue", env["MASTER_SECRET_ARN"]),
        ("kms:Decrypt", db.inputs["kmsKeyId"]),
    }


def test_changed_settings_roll_the_pods(staging_run):
    """The pod template carries a checksum of the ConfigMap and Secret: new values, new pods."""
    base = staging_run
    changed = capture_run(
        "staging", config={**stack_config("staging"), "relay:authIssuer": "https://auth.example.org"}
    )
    checksums = [
        plain(
            single(run, DEPLOYMENT).inputs["spec"]["template"]["metadata"]["annotations"][
                "relay/settings-checksum"
            ]
        )
        for run in (base, changed)
    ]
    assert len(checksums[0]) == 64 and checksums[0] != checksums[1]


def test_jobs_wait_for_their_service_account_and_iam_permissions(stack_run):
    """A Job's pod assumes its IRSA role on its first AWS call; created before the service account
    or the role's policy, it fails and burns its retries."""
    accounts = {
        a.inputs["metadata"]["name"]: a for a in of_type(stack_run, "kubernetes:core/v1:ServiceAccount")
    }
    for job in (single(stack_run, JOB, "-db-roles-job"), single(stack_run, JOB, "-migrate")):
        account = accounts[job.inputs["spec"]["template"]["spec"]["serviceAccountName"]]
        assert account.urn in job.dependencies, f"{job.urn}: waits for {account.urn}"
        role = by_output(stack_run, "arn")[
            account.inputs["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
        ]
        (policy,) = [
            p for p in of_type(stack_run, "aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.id
        ]
        assert policy.urn in job.dependencies, f"{job.urn}: waits for {policy.urn}"


def test_draining_sockets_are_cut_by_neither_the_alb_nor_kubernetes(stack_run):
    """On shutdown the pod sleeps in preStop (the ALB stops routing), then answers 503 for
    RELAY_DRAIN_SECONDS while clients move, then closes. Every target group that carries sockets
    must hold a deregistering pod's connections that long, and Kubernetes must not kill it sooner."""
    assert_draining_sockets_are_held(stack_run)


def assert_draining_sockets_are_held(stack_run) -> None:
    """The drain inequality for every target group a TargetGroupBinding fills with the pods."""
    deployment = single(stack_run, DEPLOYMENT)
    values, _ = environment(stack_run, deployment, "relay")
    pod = deployment.inputs["spec"]["template"]["spec"]
    pre_stop = container(deployment, "relay")["lifecycle"]["preStop"]["sleep"]["seconds"]
    drain = int(values["RELAY_DRAIN_SECONDS"])
    grace = pod["terminationGracePeriodSeconds"]
    assert drain > 0 and grace > pre_stop + drain
    bound = {
        b.inputs["spec"]["targetGroupARN"]
        for b in of_type(stack_run, "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding")
    }
    target_groups = [
        t for t in of_type(stack_run, "aws:lb/targetGroup:TargetGroup") if t.outputs["arn"] in bound
    ]
    assert len(target_groups) == len(bound)
    for target_group in target_groups:
        assert target_group.inputs["deregistrationDelay"] >= grace, target_group.urn


def test_pods_talk_only_to_what_they_use(stack_run):
    policies = {
        p.inputs["metadata"]["name"]: p.inputs["spec"]
        for p in of_type(stack_run, "kubernetes:networking.k8s.io/v1:NetworkPolicy")
    }
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    relay = policies["relay"]
    labels = single(stack_run, DEPLOYMENT).inputs["spec"]["template"]["metadata"]["labels"]
    assert relay["podSelector"]["matchLabels"].items() <= labels.items()
    subnets = {
        tier: sorted(
            s.inputs["cidrBlock"]
            for s in of_type(stack_run, "aws:ec2/subnet:Subnet")
            if f"-{tier}-" in s.name
        )
        for tier in ("public", "private", "database")
    }
    # With the socket port's rule (the ALB's subnets only, tests/infra/test_socket_route.py).
    ingress, _socket = relay["ingress"]
    assert sorted(p["ipBlock"]["cidr"] for p in ingress["from"]) == sorted(
        subnets["public"] + subnets["private"]
    )
    assert ingress["ports"] == [{"protocol": "TCP", "port": 8000}]
    dns, data, https = relay["egress"]
    assert dns["to"][0]["podSelector"] == {"matchLabels": {"k8s-app": "kube-dns"}}
    assert sorted(p["ipBlock"]["cidr"] for p in data["to"]) == subnets["database"]
    assert {p["port"] for p in data["ports"]} == {5432, 6379}
    assert https["ports"] == [{"protocol": "TCP", "port": 443}]
    assert https["to"] == [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.169.254/32"]}}]
    migrations = single(stack_run, JOB, "-migrate")
    network_policies = {p.urn for p in of_type(stack_run, "kubernetes:networking.k8s.io/v1:NetworkPolicy")}
    assert network_policies <= set(migrations.dependencies), "the Job's pod starts with its traffic allowed"
