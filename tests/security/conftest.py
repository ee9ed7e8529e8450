"""Reuse the session's synthesized dev templates (synthesis costs seconds)."""

from tests.infra.conftest import dev  # noqa: F401 - re-exported fixture
