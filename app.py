#!/usr/bin/env python3
"""CDK composition root: the only place that reads CDK context or the environment."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from aws_cdk import App

from stacks.components.gateway_asset import gateway_code
from stacks.config import ConfigError, load_config
from stacks.kit import compose

ROOT = Path(__file__).resolve().parent
GATEWAY_SOURCE = ROOT / "lambdas" / "gateway"


def main() -> int:
    """Synthesize the stacks of the environment chosen with `-c env=NAME` (default dev)."""
    app = App()
    env_name = str(app.node.try_get_context("env") or "dev")
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,19}", env_name):
        sys.stderr.write(f"config error: env {env_name!r}: use lowercase letters, digits, '-'\n")
        return 1
    try:
        config = load_config(ROOT / "config" / f"{env_name}.toml", env_name)
    except ConfigError as error:
        sys.stderr.write(f"config error: {error}\n")
        return 1
    compose(app, config, gateway_code=gateway_code(GATEWAY_SOURCE))
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())
