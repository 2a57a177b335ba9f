"""Fixtures shared by every suite live in tests/utils/fixtures.py (documented there); every failure
captures its output and server logs under reports/failures/ (tests/utils/failure_capture.py); the run
ends with the time per suite (tests/utils/suite_times.py), which the suites' budgets are read from."""

pytest_plugins = ("tests.utils.fixtures", "tests.utils.failure_capture", "tests.utils.suite_times")
