"""Every curl and Python example in the README runs verbatim against a local gateway."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.e2e.conftest import LocalGateway

pytestmark = pytest.mark.e2e

README_URL = "http://127.0.0.1:8080"
BLOCK = re.compile(r"```(bash|python)\n(.*?)```", re.DOTALL)


def readme_examples() -> list[tuple[str, str]]:
    """The README's runnable blocks: bash blocks calling curl, and every Python block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return [
        (language, code)
        for language, code in BLOCK.findall(text)
        if README_URL in code and (language == "python" or code.lstrip().startswith("curl"))
    ]


EXAMPLES = readme_examples()


def test_readme_documents_every_route_with_curl_and_python() -> None:
    for route in (
        "/models",
        "/chat/completions",
        "/embeddings",
        "/images/generations",
        "/invoke",
        "/compare",
        "/usage",
        "/responses",
        "/knowledge-bases",
    ):
        languages = {
            language
            for language, code in EXAMPLES
            if route in code or (route == "/models" and "models.list" in code)
        }
        if route == "/chat/completions":
            languages |= {language for language, code in EXAMPLES if "chat.completions" in code}
        if route == "/responses":
            languages |= {language for language, code in EXAMPLES if "responses.create" in code}
        if route == "/embeddings":
            languages |= {language for language, code in EXAMPLES if "embeddings.create" in code}
        if route == "/images/generations":
            languages |= {language for language, code in EXAMPLES if "images.generate" in code}
        assert languages == {"bash", "python"}, route


@pytest.mark.parametrize(
    ("language", "code"), EXAMPLES, ids=[f"{i}-{lang}" for i, (lang, _) in enumerate(EXAMPLES)]
)
def test_readme_example_runs_verbatim(
    local_gateway: LocalGateway, language: str, code: str
) -> None:
    # Only the port differs: the test gateway listens on a free one.
    code = code.replace(README_URL, local_gateway.base_url.removesuffix("/v1"))
    command = ["bash", "-c", code] if language == "bash" else [sys.executable, "-c", code]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    if language == "bash":
        answer = json.loads(result.stdout)
        # A Response object carries "error": null (OpenAI's shape); an error body is not null.
        assert answer.get("error") is None, answer
