"""Converse toolConfig checks: the tools offered and the caller's tool choice."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from lambdas.gateway.catalog import Capability, ModelSpec

from .content import Tally, require_tools, structure
from .errors import constraint, serialization, validation
from .tokens import count_tokens

_TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_TOOL_CHOICES = ("auto", "any", "tool")


@dataclass(frozen=True, slots=True)
class Tool:
    """A tool the caller offered: its name and JSON input schema."""

    name: str
    schema: Mapping[str, object]


def parse_tool_config(
    value: object, spec: ModelSpec, tally: Tally
) -> tuple[tuple[Tool, ...], str | None, str | None]:
    """Check a toolConfig; return its tools, the choice kind and the tool a `tool` choice names."""
    if value is None:
        return (), None, None
    config = structure(value, "toolConfig")
    require_tools(spec)
    listed = config.get("tools")
    if listed is None:
        raise constraint(None, "toolConfig.tools", "not be null")
    if not isinstance(listed, list):
        raise serialization("toolConfig.tools", "a list")
    if not listed:
        raise constraint(listed, "toolConfig.tools", "have length greater than or equal to 1")
    tools = [
        tool
        for index, item in enumerate(listed)
        if (tool := _tool(item, f"toolConfig.tools.{index}", tally)) is not None
    ]
    names = [tool.name for tool in tools]
    if len(set(names)) != len(names):
        raise validation(
            "The toolConfig.tools field has duplicate tool names; names must be unique."
        )
    choice, chosen = _tool_choice(config.get("toolChoice"), names)
    if choice in ("any", "tool") and not spec.supports(Capability.FORCED_TOOL_CHOICE):
        # ToolChoice (API reference): `tool` only for Claude 3 and Nova models. The message is
        # the one reported for `any` on Llama (llama_index #19886, strands-agents #1241); AWS
        # documents none.
        raise validation(
            f"This model doesn't support the toolConfig.toolChoice.{choice} field. Remove "
            f"toolConfig.toolChoice.{choice} and try again."
        )
    return tuple(tools), choice, chosen


def _tool(value: object, path: str, tally: Tally) -> Tool | None:
    """Check one tool; return it, or None for members that declare no callable tool."""
    tool = structure(value, path)
    if "toolSpec" not in tool:
        if "cachePoint" in tool or "systemTool" in tool:
            return None
        raise validation(
            f"The Tool object at {path} must set one of: toolSpec, systemTool, cachePoint."
        )
    tool_spec = structure(tool["toolSpec"], f"{path}.toolSpec")
    name = tool_spec.get("name")
    if not isinstance(name, str) or not _TOOL_NAME.fullmatch(name):
        raise constraint(
            name, f"{path}.toolSpec.name", "satisfy regular expression pattern: [a-zA-Z0-9_-]+"
        )
    description = tool_spec.get("description")
    if description is not None and (not isinstance(description, str) or not description):
        raise constraint(
            description, f"{path}.toolSpec.description", "have length greater than or equal to 1"
        )
    strict = tool_spec.get("strict")
    if strict is not None and not isinstance(strict, bool):
        raise serialization(f"{path}.toolSpec.strict", "a boolean")
    schema_union = structure(tool_spec.get("inputSchema"), f"{path}.toolSpec.inputSchema")
    schema = schema_union.get("json")
    if not isinstance(schema, dict):
        raise validation(
            f"The inputSchema at {path}.toolSpec must set json to a JSON schema object."
        )
    tally.tokens += (
        count_tokens(name) + count_tokens(description or "") + count_tokens(json.dumps(schema))
    )
    return Tool(name, schema)


def _tool_choice(value: object, names: list[str]) -> tuple[str, str | None]:
    if value is None:
        return "auto", None
    choice = structure(value, "toolConfig.toolChoice")
    kinds = [kind for kind in _TOOL_CHOICES if kind in choice]
    if len(kinds) != 1:
        raise validation(
            "The toolConfig.toolChoice field must set exactly one of: auto, any, tool."
        )
    if kinds[0] != "tool":
        return kinds[0], None
    named = structure(choice["tool"], "toolConfig.toolChoice.tool").get("name")
    if named not in names:
        raise validation(
            f"The tool {named} named in toolConfig.toolChoice isn't defined in toolConfig.tools."
        )
    return "tool", str(named)
