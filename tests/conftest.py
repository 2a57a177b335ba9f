"""Fixtures shared by every suite live in tests/utils/fixtures.py (documented there); every failure
captures its output and server logs under reports/failures/ (tests/utils/failure_capture.py); the run
ends with the time per suite (tests/utils/suite_times.py), which the suites' budgets are read from."""

import os

from infra.eks_versions import EVALUATION_DAY_ENV

# The day the committed Kubernetes version was chosen: every stack evaluation (program under mocks,
# in this process or a worker) judges EKS support on it, so no suite starts failing with the date.
os.environ.setdefault(EVALUATION_DAY_ENV, "2026-12-01")

pytest_plugins = ("tests.utils.fixtures", "tests.utils.failure_capture", "tests.utils.suite_times")
