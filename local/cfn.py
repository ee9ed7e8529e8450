"""Reads synthesized CloudFormation: intrinsic functions rendered as readable `${...}` strings."""

from __future__ import annotations

import re
from typing import Any

_ASSET_HASH = re.compile(r"[0-9a-f]{64}")


def render(value: Any) -> Any:
    """Turn Fn::Join, Ref, Fn::GetAtt, Fn::ImportValue and Fn::Sub into strings, recursively.

    Asset hashes (64 hex characters) become `<asset-hash>`, so renderings stay stable.
    """
    if isinstance(value, dict):
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(str(render(part)) for part in parts)
        if "Ref" in value:
            return "${" + value["Ref"] + "}"
        if "Fn::GetAtt" in value:
            return "${" + ".".join(value["Fn::GetAtt"]) + "}"
        if "Fn::ImportValue" in value:
            return "${Import:" + str(render(value["Fn::ImportValue"])) + "}"
        if "Fn::Sub" in value:
            return str(render(value["Fn::Sub"]))
        return {key: render(item) for key, item in value.items()}
    if isinstance(value, list):
        return [render(item) for item in value]
    return _ASSET_HASH.sub("<asset-hash>", value) if isinstance(value, str) else value
