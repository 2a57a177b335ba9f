"""Fixtures shared by every suite live in tests/utils/fixtures.py (documented there); every failure
captures its output and server logs under reports/failures/ (tests/utils/failure_capture.py)."""

pytest_plugins = ("tests.utils.fixtures", "tests.utils.failure_capture")
