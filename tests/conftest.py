"""Shared fixtures. Each support module owns one concern; see tests/support/."""

pytest_plugins = [
    "tests.support.db",
    "tests.support.chat",
]
