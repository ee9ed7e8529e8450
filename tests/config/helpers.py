"""Shared builders for the config tests: a minimal valid config and its one-line errors."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from stacks.config import ConfigError, KitConfig, parse_config

NOVA = "amazon.nova-micro-v1:0"
HAIKU_45 = "anthropic.claude-haiku-4-5-20251001-v1:0"
MINIMAL: dict[str, Any] = {"models": {"enabled": [NOVA]}}
TODAY = date(2026, 11, 30)
SOURCE = "team.toml"


def parse(data: dict[str, Any], today: date = TODAY) -> KitConfig:
    """Parse `data` as the file team.toml of environment "team"."""
    return parse_config(data, source=SOURCE, env_name="team", today=today)


def with_(section: str, **values: Any) -> dict[str, Any]:
    """MINIMAL with `values` set in `section` (a dotted name for a nested table)."""
    data = copy.deepcopy(MINIMAL)
    table = data
    for name in section.split("."):
        table = table.setdefault(name, {})
    table.update(values)
    return data


def problems(data: dict[str, Any]) -> list[str]:
    """The error lines `data` gives, each without the file name in front."""
    with pytest.raises(ConfigError) as caught:
        parse(data)
    lines = str(caught.value).split("\n")
    assert all(line.startswith(f"{SOURCE}: ") for line in lines), lines
    return [line.removeprefix(f"{SOURCE}: ") for line in lines]


def problem(data: dict[str, Any]) -> str:
    """The one error line `data` gives, without the file name in front."""
    (line,) = problems(data)
    return line
