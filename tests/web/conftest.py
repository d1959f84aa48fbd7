from tests.workflows.conftest import config, harness  # noqa: F401 - shared fixtures
