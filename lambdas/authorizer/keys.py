"""The kit's API keys: value format, stored record and validity rule (standard library only).

Shared by the authorizer (Lambda asset) and `make keys` (local/keys.py). A key value is
`bkit_<key_id>_<secret>`; the keys table stores only the hex SHA-256 of the secret part.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import TypeVar

KEY_PREFIX = "bkit_"
KEY_ID_BYTES = 6
SECRET_BYTES = 32
# fullmatch, never `$`: `$` also matches before a trailing newline.
KEY_PATTERN = re.compile(r"bkit_([0-9a-f]{12})_([0-9a-f]{64})")
# The scheme is case-insensitive (RFC 9110, section 11.1); the key itself is not.
BEARER_PATTERN = re.compile(r"(?i:bearer) (bkit_[0-9a-f]{12}_[0-9a-f]{64})")
MAX_DESCRIPTION = 200
# How long API Gateway caches the authorizer's answer per token: a revoked key stops working
# within this time (stacks/components/key_authorizer.py sets it; `make keys revoke` says it).
AUTHORIZER_CACHE_SECONDS = 60

DynamoItem = Mapping[str, Mapping[str, object]]
T = TypeVar("T")


class KeyState(StrEnum):
    """Whether a stored key opens the API now; stable strings for logs and `make keys list`."""

    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


class KeyRecordError(ValueError):
    """A keys-table item lacks an attribute or holds one of the wrong type."""


@dataclass(frozen=True, slots=True)
class KeyValue:
    """A key as a caller presents it; the secret stays out of repr so it never lands in a log."""

    key_id: str
    secret: str = field(repr=False)

    @property
    def value(self) -> str:
        """The full key value, `bkit_<key_id>_<secret>`."""
        return f"{KEY_PREFIX}{self.key_id}_{self.secret}"


def parse_key(value: str) -> KeyValue | None:
    """Return the parts of a well-formed key value, or None for anything else."""
    match = KEY_PATTERN.fullmatch(value)
    return KeyValue(match[1], match[2]) if match else None


def parse_bearer(header: object) -> KeyValue | None:
    """Return the key of an `Authorization: Bearer bkit_...` header value, or None."""
    if not isinstance(header, str):
        return None
    match = BEARER_PATTERN.fullmatch(header)
    return parse_key(match[1]) if match else None


def new_key() -> KeyValue:
    """Generate a key with a random id and secret (the `secrets` module's CSPRNG)."""
    return KeyValue(secrets.token_hex(KEY_ID_BYTES), secrets.token_hex(SECRET_BYTES))


def secret_sha256(secret: str) -> str:
    """Return the hex SHA-256 of a key's secret part, as the keys table stores it."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def secret_matches(secret: str, stored_sha256: str) -> bool:
    """Compare the secret's hash with the stored one in constant time."""
    # Bytes: compare_digest refuses str with non-ASCII characters (a corrupt item). Called
    # through the module attribute (not a from-import), so tests can see the call.
    return hmac.compare_digest(secret_sha256(secret).encode(), stored_sha256.encode())


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One item of the keys table; times are epoch seconds."""

    key_id: str
    team: str
    created_at: int
    expires_at: int
    # None only when a read left it out on purpose (`make keys list` never fetches it).
    secret_sha256: str | None = field(default=None, repr=False)
    revoked_at: int | None = None
    description: str | None = None
    replaced_by: str | None = None

    def state(self, now: float) -> KeyState:
        """Revoked wins over expired; a key is expired from the instant expires_at is reached."""
        if self.revoked_at is not None:
            return KeyState.REVOKED
        if now >= self.expires_at:
            return KeyState.EXPIRED
        return KeyState.ACTIVE

    def inactive_since(self) -> int:
        """When the key stopped working (revocation or expiry, whichever came first)."""
        if self.revoked_at is None:
            return self.expires_at
        return min(self.revoked_at, self.expires_at)

    def to_item(self) -> dict[str, dict[str, str]]:
        """The record as a low-level DynamoDB item (optional attributes only when set)."""
        item = {
            "key_id": {"S": self.key_id},
            "team": {"S": self.team},
            "created_at": {"N": str(self.created_at)},
            "expires_at": {"N": str(self.expires_at)},
        }
        if self.secret_sha256 is not None:
            item["secret_sha256"] = {"S": self.secret_sha256}
        if self.revoked_at is not None:
            item["revoked_at"] = {"N": str(self.revoked_at)}
        if self.description is not None:
            item["description"] = {"S": self.description}
        if self.replaced_by is not None:
            item["replaced_by"] = {"S": self.replaced_by}
        return item

    @classmethod
    def from_item(cls, item: DynamoItem) -> KeyRecord:
        """Read a low-level DynamoDB item; KeyRecordError when a required attribute is wrong."""
        return cls(
            key_id=_required(item, "key_id", _string),
            team=_required(item, "team", _string),
            created_at=_required(item, "created_at", _number),
            # Every key expires: an item without expires_at is broken, never "valid forever".
            expires_at=_required(item, "expires_at", _number),
            secret_sha256=_string(item, "secret_sha256"),
            revoked_at=_number(item, "revoked_at"),
            description=_string(item, "description"),
            replaced_by=_string(item, "replaced_by"),
        )


def _string(item: DynamoItem, name: str) -> str | None:
    if name not in item:
        return None
    value = item[name].get("S")
    if not isinstance(value, str):
        raise KeyRecordError(f"attribute {name} is not a string")
    return value


def _number(item: DynamoItem, name: str) -> int | None:
    if name not in item:
        return None
    value = item[name].get("N")
    try:
        return int(Decimal(str(value)))
    except (InvalidOperation, ValueError, OverflowError):
        raise KeyRecordError(f"attribute {name} is not a finite number") from None


def _required(item: DynamoItem, name: str, read: Callable[[DynamoItem, str], T | None]) -> T:
    value = read(item, name)
    if value is None:
        raise KeyRecordError(f"attribute {name} is missing")
    return value
