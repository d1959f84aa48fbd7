"""The workflow tests' harness (a worker on the time-skipping server, SQLite) for the
observability tests."""

from tests.workflows.conftest import config, harness  # noqa: F401 - shared fixtures
