"""GET /v1/usage: the caller's team this month: tokens, cost, budget left and reset time."""

from __future__ import annotations

from .errors import ApiError
from .exchange import Exchange
from .responses import JsonResponse


def usage_route(exchange: Exchange) -> JsonResponse:
    """Serve the caller's own team's usage (never another team's)."""
    report = exchange.access.report()
    if report is None:
        raise ApiError(
            404,
            "Usage is counted per team, and this caller belongs to none (IAM callers and the "
            "local single key have no team).",
            type_="not_found_error",
            code="no_team",
        )
    return JsonResponse(report)
