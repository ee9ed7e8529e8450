"""The route table: method, path pattern with `{model}`, handler and how the body is read.

Matched once per request on the raw (still percent-encoded) path, segment by segment, so a
model id may hold ':' or '%3A' but never a '/'. A path that exists with another method is a
405 with `Allow`; HEAD is served wherever GET is; anything else is a 404.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar
from urllib.parse import unquote

from .errors import ApiError

H = TypeVar("H")


class Body(Enum):
    """How a route reads the request body."""

    NONE = "none"
    JSON = "json"
    RAW = "raw"


@dataclass(frozen=True, slots=True)
class Route(Generic[H]):
    """One method and path pattern; `{name}` segments capture path parameters."""

    method: str
    pattern: str
    handler: H
    body: Body = Body.NONE
    # Whether the caller must present a key (everything under /v1/).
    authenticated: bool = True

    @property
    def segments(self) -> tuple[str, ...]:
        """The pattern split on '/'."""
        return tuple(self.pattern.removeprefix("/").split("/"))


@dataclass(frozen=True, slots=True)
class Match(Generic[H]):
    """A matched route and its decoded path parameters."""

    route: Route[H]
    params: Mapping[str, str]


def _capture(pattern: Sequence[str], segments: Sequence[str]) -> dict[str, str] | None:
    if len(pattern) != len(segments):
        return None
    params: dict[str, str] = {}
    for expected, actual in zip(pattern, segments, strict=True):
        if expected.startswith("{") and expected.endswith("}"):
            value = unquote(actual)
            if not value or "/" in value:
                return None
            params[expected[1:-1]] = value
        elif expected != actual:
            return None
    return params


class Router(Generic[H]):
    """Finds the route of a request, or raises the 404 or 405 it deserves."""

    def __init__(self, routes: Sequence[Route[H]]) -> None:
        # Grouped by segment count, in table order: a path is compared only with its peers.
        self._by_length: dict[int, list[tuple[Route[H], tuple[str, ...]]]] = {}
        for route in routes:
            self._by_length.setdefault(len(route.segments), []).append((route, route.segments))

    def match(self, method: str, raw_path: str) -> Match[H]:
        """Return the route for `method` on `raw_path` (HEAD matches GET routes)."""
        # A trailing or doubled '/' leaves an empty segment: it names nothing (404).
        segments = raw_path.split("?", 1)[0].removeprefix("/").split("/")
        wanted = "GET" if method == "HEAD" else method
        allowed: list[str] = []
        for route, pattern in self._by_length.get(len(segments), ()):
            params = _capture(pattern, segments)
            if params is None:
                continue
            if route.method == wanted:
                return Match(route, params)
            allowed.append(route.method)
        shown = _shown(raw_path)
        if allowed:
            methods = sorted({*allowed, *(["HEAD"] if "GET" in allowed else [])})
            raise ApiError(
                405,
                f"Method {method[:16]} is not allowed on {shown}; allowed: {', '.join(methods)}.",
                code="method_not_allowed",
                headers={"allow": ", ".join(methods)},
            )
        raise ApiError(
            404, f"No route {method[:16]} {shown}.", type_="not_found_error", code="not_found"
        )


def _shown(path: str, limit: int = 200) -> str:
    return path if len(path) <= limit else path[:limit] + "..."
