from tests.integration.conftest import make_world  # noqa: F401 (a fixture shared with dag runs)
