"""Secrets: the Secrets Manager secrets always exist; values only when set as secret config."""

from tests.infra.resources import of_type, plain, single
from tests.infra.stack_capture import capture_run, stack_config

SECRET_NAMES = {"clerk-secret-key", "alarm-webhook-url", "cdn-signer-private-key"}


def secret_names(run):
    return {s.inputs["name"].split("/", 1)[1] for s in of_type(run, "aws:secretsmanager/secret:Secret")}


def test_secrets_exist_without_values_when_config_holds_none(stack_run):
    assert secret_names(stack_run) == SECRET_NAMES
    assert of_type(stack_run, "aws:secretsmanager/secretVersion:SecretVersion") == []
    for secret in of_type(stack_run, "aws:secretsmanager/secret:Secret"):
        assert secret.inputs["name"].startswith(f"relay-{stack_run.stack}/") and secret.inputs["kmsKeyId"]
    app_secret = single(stack_run, "kubernetes:core/v1:Secret", "-app-secrets")
    assert "RELAY_CLERK_SECRET_KEY" not in plain(app_secret.inputs["stringData"])


def test_secret_config_fills_the_secret_the_pods_and_the_alarm_webhook():
    config = {
        **stack_config("prod"),
        "relay:clerkSecretKey": "sk_live_test",
        "relay:alarmWebhookUrl": "https://hooks.example.com/relay",
    }
    run = capture_run("prod", config=config, secret_keys=("relay:clerkSecretKey", "relay:alarmWebhookUrl"))
    assert run.error is None, run.error
    versions = {v.name: v for v in of_type(run, "aws:secretsmanager/secretVersion:SecretVersion")}
    assert set(versions) == {
        "relay-prod-secrets-clerk-secret-key-value",
        "relay-prod-secrets-alarm-webhook-url-value",
    }
    version = versions["relay-prod-secrets-clerk-secret-key-value"]
    assert version.inputs["secretString"] != "sk_live_test", "the value reaches the engine as a secret"
    assert plain(version.inputs["secretString"]) == "sk_live_test"
    app_secret = single(run, "kubernetes:core/v1:Secret", "-app-secrets")
    assert plain(app_secret.inputs["stringData"])["RELAY_CLERK_SECRET_KEY"] == "sk_live_test"
    webhooks = [
        s
        for s in of_type(run, "aws:sns/topicSubscription:TopicSubscription")
        if s.inputs["protocol"] == "https"
    ]
    assert len(webhooks) == 2, "one per alarm topic (stack region and us-east-1)"
