"""Case (a): the real program, captured under mocks for each committed stack, passes every policy.

`tests/infra/stack_capture.py` evaluates `infra/__main__.py` with `Pulumi.<stack>.yaml` as
committed and records what the engine received (inputs and property dependencies). Every
resource policy runs on every resource and every stack policy on the whole stack, with the
stack's own policy config, exactly as `make preview STACK=<stack>` would run them.
"""

import pytest
from relay_policies import POLICIES

from ..stack_capture import capture_stack
from .harness import from_capture, run_policy

STACKS = ("prod", "staging")


@pytest.fixture(scope="module", params=STACKS)
def program(request):
    return request.param, [from_capture(r) for r in capture_stack(request.param)]


@pytest.mark.parametrize("rule", POLICIES, ids=lambda p: p.name)
def test_program_passes_policy(program, rule):
    stack, resources = program
    violations = run_policy(rule, resources, stack)
    assert violations == [], f"{stack}: " + "\n".join(v.message for v in violations)
