"""Physical names that fit AWS's length limits and stay distinct."""

from __future__ import annotations

import hashlib


def fitted_name(name: str, limit: int) -> str:
    """`name` if it fits in `limit` characters, else its start and a hash of the whole."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9].rstrip('-')}-{digest}"
