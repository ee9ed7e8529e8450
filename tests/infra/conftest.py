"""Synthesize each environment once per session; tests read the templates."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from app import GATEWAY_SOURCE
from stacks.config import KitConfig
from stacks.kit import compose
from tests.conftest import load_env


@dataclass(frozen=True)
class Synthesized:
    """The templates of one environment and the config they came from."""

    config: KitConfig
    stateful: Template
    network: Template
    service: Template
    governance: Template | None
    # The cloud assembly directory: asset folders (asset.<hash>) live in it.
    outdir: Path

    def templates(self) -> tuple[Template, ...]:
        """Every stack's template."""
        templates = (self.stateful, self.network, self.service)
        return (*templates, self.governance) if self.governance else templates


CDK_JSON = Path(__file__).resolve().parents[2] / "cdk.json"


def project_app(**context: object) -> App:
    """An App with the project's feature flags from cdk.json, as the CDK CLI passes them."""
    flags = json.loads(CDK_JSON.read_text(encoding="utf-8"))["context"]
    return App(context={**flags, **context})


def stand_in_function(stack: Stack) -> lambda_.Function:
    """A minimal function for constructs that front or watch one, tested in a bare stack."""
    return lambda_.Function(
        stack,
        "Function",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context): pass"),
    )


def synthesize(config: KitConfig) -> Synthesized:
    """Compose and synthesize `config` exactly as app.py does (cdk-nag included)."""
    app = project_app()
    stacks = compose(app, config, gateway_source=GATEWAY_SOURCE)
    app.synth()  # raises if cdk-nag reports an unacknowledged finding
    return Synthesized(
        config=config,
        stateful=Template.from_stack(stacks.stateful),
        network=Template.from_stack(stacks.network),
        service=Template.from_stack(stacks.service),
        governance=Template.from_stack(stacks.governance) if stacks.governance else None,
        outdir=Path(app.outdir),
    )


@pytest.fixture(scope="session")
def dev() -> Synthesized:
    return synthesize(load_env("dev"))


@pytest.fixture(scope="session")
def prod() -> Synthesized:
    return synthesize(load_env("prod"))


@pytest.fixture(scope="session", params=["dev", "prod"])
def env(request: pytest.FixtureRequest, dev: Synthesized, prod: Synthesized) -> Synthesized:
    return dev if request.param == "dev" else prod
