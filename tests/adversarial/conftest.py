"""Reuse the integration world: both emulators, the real SDKs and a throw-away database."""

from tests.integration.conftest import make_world, yesterday  # noqa: F401
