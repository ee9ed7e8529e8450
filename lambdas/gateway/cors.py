"""CORS for browser apps: preflights of the allowed origins, and the headers every answer carries.

Off unless origins are configured (GATEWAY_CORS_ORIGINS). Deployed, API Gateway answers the
preflights itself (they never carry a key); the gateway adds the headers to its own answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

# What a browser app may read from an answer: the gateway's own headers and the retry hints.
EXPOSED_HEADERS = ", ".join(
    (
        "x-request-id",
        "x-gateway-model",
        "x-gateway-invocation-id",
        "x-gateway-cost-usd",
        "x-gateway-latency-ms",
        "x-gateway-input-tokens",
        "x-gateway-output-tokens",
        "x-gateway-budget-reset",
        "retry-after",
        "x-should-retry",
    )
)
ALLOWED_METHODS = "GET, POST, OPTIONS"
# The headers every OpenAI client sends; a preflight asking for others gets them echoed.
ALLOWED_HEADERS = "authorization, content-type, x-api-key"
MAX_AGE_SECONDS = 600


@dataclass(frozen=True, slots=True)
class Cors:
    """The origins allowed to call from a browser ("*": any)."""

    origins: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str) -> Cors:
        """Read GATEWAY_CORS_ORIGINS: origins separated by commas (empty: CORS off)."""
        origins = frozenset(part.strip().rstrip("/") for part in text.split(",") if part.strip())
        for origin in origins:
            if origin != "*" and not origin.startswith(("https://", "http://")):
                raise ValueError(f"GATEWAY_CORS_ORIGINS: {origin[:60]!r} is not an origin")
        return cls(origins)

    def allow_origin(self, origin: str | None) -> str | None:
        """The Access-Control-Allow-Origin value for `origin`, or None when it is not allowed."""
        if origin is None or not self.origins:
            return None
        if "*" in self.origins:
            return "*"
        return origin if origin in self.origins else None

    def answer_headers(self, origin: str | None) -> list[tuple[str, str]]:
        """Headers for any answer to an allowed origin (none otherwise)."""
        allowed = self.allow_origin(origin)
        if allowed is None:
            return []
        return [
            ("access-control-allow-origin", allowed),
            ("access-control-expose-headers", EXPOSED_HEADERS),
            ("vary", "Origin"),
        ]

    def preflight_headers(
        self, origin: str | None, requested: Sequence[str]
    ) -> list[tuple[str, str]] | None:
        """The headers of a preflight's answer, or None when the origin is not allowed."""
        if self.allow_origin(origin) is None:
            return None
        headers = ", ".join(requested) if requested else ALLOWED_HEADERS
        return [
            *self.answer_headers(origin),
            ("access-control-allow-methods", ALLOWED_METHODS),
            ("access-control-allow-headers", headers),
            ("access-control-max-age", str(MAX_AGE_SECONDS)),
        ]
