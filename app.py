#!/usr/bin/env python3
"""CDK composition root: the only place that reads CDK context or the environment."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from aws_cdk import App

from stacks.config import ConfigError, load_config
from stacks.kit import compose

ROOT = Path(__file__).resolve().parent
GATEWAY_SOURCE = ROOT / "lambdas" / "gateway"


def main() -> int:
    """Synthesize the stacks of `-c env=NAME` (default dev) from config/NAME.toml.

    `-c config=PATH` reads another file for that environment (e.g. a team's private config).
    """
    app = App()
    env_name = str(app.node.try_get_context("env") or "dev")
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,19}", env_name):
        sys.stderr.write(f"config error: env {env_name!r}: use lowercase letters, digits, '-'\n")
        return 1
    try:
        config_path = Path(str(app.node.try_get_context("config") or f"config/{env_name}.toml"))
        config = load_config(
            config_path if config_path.is_absolute() else ROOT / config_path, env_name
        )
    except ConfigError as error:
        sys.stderr.write(f"config error: {error}\n")
        return 1
    for warning in config.warnings:
        sys.stderr.write(f"config warning: {config.source}: {warning}\n")
    # `make deploy` sets -c deploy=true: what a review may accept in a synthesized template
    # (a placeholder alarm address in the shipped prod config) must not reach an account.
    if str(app.node.try_get_context("deploy") or "") == "true" and config.deploy_blockers:
        for blocker in config.deploy_blockers:
            sys.stderr.write(
                f"config error: {config.source}: {blocker} (fix it before deploying)\n"
            )
        return 1
    compose(app, config, gateway_source=GATEWAY_SOURCE)
    try:
        app.synth()
    except RuntimeError as error:
        if "ValidationFailed" not in str(error):
            raise
        # cdk-nag printed each unacknowledged finding above; no traceback on top of that.
        sys.stderr.write("synth failed: cdk-nag findings above need a fix or an acknowledgment\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
