"""Shared fixtures: parsed configs, and synthesized templates shared across the whole session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lambdas.gateway.catalog import Geography
from lambdas.gateway.routing import Routing
from model_catalog import all_models
from stacks.config import KitConfig, load_config

ROOT = Path(__file__).resolve().parent.parent

# jsii prints a banner on Node 20; CDK must never reach AWS from a test.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")


def load_env(name: str) -> KitConfig:
    """Load config/<name>.toml as app.py does."""
    return load_config(ROOT / "config" / f"{name}.toml", name)


def routing_json(
    enabled: list[str], aliases: dict[str, list[str]] | None = None, cross_region: str = "none"
) -> str:
    """The gateway's routing JSON for catalog models, as synthesis writes it."""
    catalog = all_models()
    return Routing(
        enabled=tuple(catalog[model_id] for model_id in enabled),
        aliases={name: tuple(ids) for name, ids in (aliases or {}).items()},
        geography=None if cross_region == "none" else Geography(cross_region),
        known_ids=frozenset(catalog),
    ).to_json()


@pytest.fixture(scope="session")
def dev_config() -> KitConfig:
    return load_env("dev")


@pytest.fixture(scope="session")
def prod_config() -> KitConfig:
    return load_env("prod")


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Dummy credentials and region so nothing can ever sign a request as a real identity."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    yield
