"""What the kit did to the account's logging setting, kept in the custom resource's physical id.

CloudFormation hands the physical id back on every Update and Delete, so it is the one place
that survives between requests without another resource. Formats:
`bedrock-invocation-logging:created`, `...:adopted`, `...:replaced:<base64url(zlib(json))>`
(the configuration that was there before) and `...:replaced-unrecorded` (too large to keep).
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

PREFIX = "bedrock-invocation-logging"
# CloudFormation's limit for a physical id is 1 KB.
MAX_PHYSICAL_ID = 1000


class State(StrEnum):
    """The kit's relation to the configuration."""

    CREATED = "created"
    ADOPTED = "adopted"
    REPLACED = "replaced"
    REPLACED_UNRECORDED = "replaced-unrecorded"

    @property
    def owned(self) -> bool:
        """Return whether the kit put the current configuration (and may update it)."""
        return self is not State.ADOPTED


@dataclass(frozen=True, slots=True)
class Ownership:
    """A decoded physical id: the state and, after a replace, the configuration replaced."""

    state: State
    previous: dict[str, Any] | None = None


def _pack(config: dict[str, Any]) -> str:
    packed = zlib.compress(json.dumps(config, sort_keys=True, separators=(",", ":")).encode(), 9)
    return base64.urlsafe_b64encode(packed).decode().rstrip("=")


def _unpack(text: str) -> dict[str, Any]:
    padded = text + "=" * (-len(text) % 4)
    config = json.loads(zlib.decompress(base64.urlsafe_b64decode(padded)))
    if not isinstance(config, dict):
        raise ValueError("recorded configuration is not an object")
    return config


def physical_id(state: State, previous: dict[str, Any] | None = None) -> str:
    """Return the physical id for a state; a replace records `previous` when it fits."""
    if state is State.REPLACED:
        if previous is None:
            raise ValueError("a replace must record the previous configuration")
        recorded = f"{PREFIX}:{State.REPLACED}:{_pack(previous)}"
        if len(recorded) <= MAX_PHYSICAL_ID:
            return recorded
        state = State.REPLACED_UNRECORDED
    return f"{PREFIX}:{state}"


def parse(physical: str) -> Ownership | None:
    """Return what a physical id records, or None if this handler did not write it."""
    prefix, _, rest = physical.partition(":")
    if prefix != PREFIX:
        return None
    name, _, packed = rest.partition(":")
    try:
        state = State(name)
    except ValueError:
        return None
    if state is not State.REPLACED:
        return Ownership(state)
    try:
        return Ownership(state, _unpack(packed))
    except (binascii.Error, zlib.error, ValueError):
        # Unreadable record: still ours, but nothing can be restored from it.
        return Ownership(State.REPLACED_UNRECORDED)
