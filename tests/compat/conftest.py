"""One local gateway (`python -m local.run --env dev`) for the real-client compatibility tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.conftest import API_KEY, LocalGateway, running_gateway

__all__ = ["API_KEY", "compat_gateway"]


@pytest.fixture(scope="session")
def compat_gateway() -> Iterator[LocalGateway]:
    with running_gateway("--env", "dev") as gateway:
        yield gateway
