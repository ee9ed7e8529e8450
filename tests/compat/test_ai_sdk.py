"""The Vercel AI SDK (node: ai + @ai-sdk/openai + zod) against the local gateway.

tests/compat/ai_sdk.mjs runs every case once and prints {case: {ok, ...}}; a failed case carries
the request and response it saw, so an assertion shows the wire.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.compat.conftest import API_KEY
from tests.e2e.conftest import LocalGateway

pytestmark = pytest.mark.e2e

HERE = Path(__file__).parent
SCRIPT = HERE / "ai_sdk.mjs"
NODE = shutil.which("node")
INSTALLED = (HERE / "node_modules" / "@ai-sdk" / "openai" / "package.json").is_file()
EMULATED = "emulated"


@pytest.fixture(scope="module")
def results(compat_gateway: LocalGateway) -> dict[str, dict[str, Any]]:
    if NODE is None:
        pytest.skip("node is not installed")
    if not INSTALLED:
        pytest.skip("the AI SDK is not installed: npm ci --prefix tests/compat")
    env = {
        **os.environ,
        "GATEWAY_BASE_URL": compat_gateway.base_url,
        "GATEWAY_API_KEY": API_KEY,
    }
    env.pop("OPENAI_API_KEY", None)
    env.pop("OPENAI_BASE_URL", None)
    run = subprocess.run(
        [NODE, str(SCRIPT)],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    parsed: dict[str, dict[str, Any]] = json.loads(run.stdout)
    return parsed


def case(results: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
    outcome = results[name]
    assert outcome["ok"], json.dumps(outcome, indent=2)
    return outcome


@pytest.mark.parametrize("name", ["generateText", "generateTextChat"])
def test_generate_text(results: dict[str, dict[str, Any]], name: str) -> None:
    # openai("fast") is the Responses API (the provider's default); openai.chat is Chat Completions.
    outcome = case(results, name)
    assert EMULATED in outcome["text"]
    assert outcome["inputTokens"] > 0


def test_stream_text(results: dict[str, dict[str, Any]]) -> None:
    outcome = case(results, "streamText")
    assert outcome["parts"] > 1
    assert EMULATED in outcome["text"]
    assert outcome["finishReason"] == "stop"


@pytest.mark.parametrize(
    "name", ["generateObjectChat", "generateObjectResponses", "generateTextOutputObject"]
)
def test_structured_object(results: dict[str, dict[str, Any]], name: str) -> None:
    outcome = case(results, name)
    assert isinstance(outcome["object"]["name"], str)
    assert isinstance(outcome["object"]["population"], int)


def test_embed(results: dict[str, dict[str, Any]]) -> None:
    assert case(results, "embed")["dimensions"] == 1024


@pytest.mark.parametrize("name", ["toolsRequiredResponses", "toolsRequiredChat"])
def test_tools_required_round_trip(results: dict[str, dict[str, Any]], name: str) -> None:
    outcome = case(results, name)
    assert outcome["toolName"] == "getWeather"
    assert "city" in outcome["input"]
    assert outcome["output"].startswith("sunny in")
    assert outcome["finalToolCalls"] == 0
    assert outcome["output"] in outcome["finalText"]


def test_multi_step_agent(results: dict[str, dict[str, Any]]) -> None:
    outcome = case(results, "multiStepAgent")
    assert outcome["steps"] == 2
    assert outcome["toolCalls"] == 1
    assert EMULATED in outcome["text"]


def test_multi_turn_with_default_store_is_refused_clearly(
    results: dict[str, dict[str, Any]],
) -> None:
    # store: true (the provider's default) sends earlier turns as item references: the stateless
    # gateway answers 400 and names the fix.
    outcome = results["multiTurnDefaultStore"]
    assert not outcome["ok"]
    assert outcome["response"]["status"] == 400
    body = json.loads(outcome["response"]["body"])
    assert body["error"]["code"] == "item_reference_not_supported"
    assert "providerOptions.openai.store" in body["error"]["message"]
    assert '"type":"item_reference"' in outcome["request"]["body"]
