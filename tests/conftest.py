"""Fixtures shared by every suite live in tests/utils/fixtures.py (documented there)."""

pytest_plugins = ("tests.utils.fixtures",)
