"""Secrets: the Secrets Manager secrets always exist; values only when set as secret config."""

from infra.evaluation.stack_capture import capture_run, stack_config
from tests.infra.resources import of_type, plain, single

# No Clerk secret key: the service verifies session tokens networklessly (JWKS) and never reads it.
SECRET_NAMES = {"alarm-webhook-url", "cdn-signer-private-key"}


def secret_names(run):
    return {s.inputs["name"].split("/", 1)[1] for s in of_type(run, "aws:secretsmanager/secret:Secret")}


def test_secrets_exist_without_values_when_config_holds_none(stack_run):
    assert secret_names(stack_run) == SECRET_NAMES
    assert of_type(stack_run, "aws:secretsmanager/secretVersion:SecretVersion") == []
    for secret in of_type(stack_run, "aws:secretsmanager/secret:Secret"):
        assert secret.inputs["name"].startswith(f"relay-{stack_run.stack}/") and secret.inputs["kmsKeyId"]
    app_secret = single(stack_run, "kubernetes:core/v1:Secret", "-app-secrets")
    assert "RELAY_SENTRY_DSN" not in plain(app_secret.inputs["stringData"]), "Sentry stays optional"


def test_secret_config_fills_the_secret_and_the_pods():
    dsn = "https://public@o0.ingest.sentry.io/42"
    config = {
        **stack_config("prod"),
        "relay:alarmWebhookUrl": "https://hooks.example.com/relay",
        "relay:sentryDsn": dsn,
    }
    run = capture_run("prod", config=config, secret_keys=("relay:alarmWebhookUrl", "relay:sentryDsn"))
    assert run.error is None, run.error
    versions = {v.name: v for v in of_type(run, "aws:secretsmanager/secretVersion:SecretVersion")}
    assert set(versions) == {"relay-prod-secrets-alarm-webhook-url-value"}
    version = versions["relay-prod-secrets-alarm-webhook-url-value"]
    assert version.inputs["secretString"] != "https://hooks.example.com/relay", (
        "reaches the engine as a secret"
    )
    assert plain(version.inputs["secretString"]) == "https://hooks.example.com/relay"
    app_secret = single(run, "kubernetes:core/v1:Secret", "-app-secrets")
    assert app_secret.inputs["stringData"] != plain(app_secret.inputs["stringData"]), "a secret to the engine"
    assert plain(app_secret.inputs["stringData"])["RELAY_SENTRY_DSN"] == dsn
