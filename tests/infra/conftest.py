"""Each stack is evaluated once per test session, in its own process (see stack_capture)."""

import pytest

from infra.evaluation.stack_capture import StackRun, capture_run, evaluate_stack, stack_config

STACKS = ("prod", "staging")


@pytest.fixture(scope="session", params=STACKS)
def stack_run(request) -> StackRun:
    """The program's evaluation for each committed stack; tests using it run once per stack."""
    return evaluate_stack(request.param)


@pytest.fixture(scope="session")
def prod_run() -> StackRun:
    return evaluate_stack("prod")


@pytest.fixture(scope="session")
def staging_run() -> StackRun:
    return evaluate_stack("staging")


# A prod variant with what the committed YAML does not exercise: Graviton nodes, a compliance-mode
# vault lock and an alarm webhook (secret config).
VARIANT_OVERRIDES = {
    "relay:eksNodeInstanceTypes": '["m7g.large"]',
    "relay:backupVaultLockMode": "compliance",
    "relay:alarmWebhookUrl": "https://hooks.example.com/relay",
}
PINNED_IMAGE = "111111111111.dkr.ecr.eu-west-1.amazonaws.com/relay-prod@sha256:" + "ab12" * 16


@pytest.fixture(scope="session")
def variant_run() -> StackRun:
    run = capture_run(
        "prod", config={**stack_config("prod"), **VARIANT_OVERRIDES}, secret_keys=("relay:alarmWebhookUrl",)
    )
    assert run.error is None, run.error
    return run


@pytest.fixture(scope="session")
def native_run(stack_run) -> StackRun:
    """Each committed stack as it is: the native socket server is the default (relay:socketServer unset)."""
    return stack_run


@pytest.fixture(scope="session", params=STACKS)
def python_socketio_run(request) -> StackRun:
    """Each committed stack switched to the fallback socket server (relay:socketServer=python-socketio)."""
    config = {**stack_config(request.param), "relay:socketServer": "python-socketio"}
    run = capture_run(request.param, config=config)
    assert run.error is None, run.error
    return run


@pytest.fixture(scope="session")
def pinned_run() -> StackRun:
    """prod with relay:appImage set: the rollback and promotion path."""
    run = capture_run("prod", config={**stack_config("prod"), "relay:appImage": PINNED_IMAGE})
    assert run.error is None, run.error
    return run
