"""Each stack is evaluated once per test session, in its own process (see stack_capture)."""

import pytest

from tests.infra.stack_capture import StackRun, evaluate_stack

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
