"""Per-team monthly budgets: a hard stop before a call, a charge and a soft alert after it.

Periods are UTC calendar months ("YYYY-MM"). A team at or over a limit is refused with a 429
that says when the budget resets; if the counters cannot be read, the request is refused with a
503 rather than let through unchecked (fail closed).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from .errors import ApiError
from .metering import Usage, format_cost
from .usage_store import Totals, UsageStore


@dataclass(frozen=True, slots=True)
class TeamBudget:
    """A team's monthly limits (None: no limit of that kind)."""

    monthly_token_limit: int | None = None
    monthly_cost_limit_usd: Decimal | None = None
    soft_limit_percent: Decimal = Decimal(80)

    @property
    def limited(self) -> bool:
        """Whether any hard limit applies."""
        return self.monthly_token_limit is not None or self.monthly_cost_limit_usd is not None


@dataclass(frozen=True, slots=True)
class Charge:
    """What charging one request did."""

    totals: Totals
    # True exactly once per team and period: for the first charge that reaches the soft limit.
    soft_limit_crossed: bool


def _utc_now() -> datetime:
    """The current time, in UTC."""
    return datetime.now(UTC)


def _as_utc(now: datetime) -> datetime:
    """`now` in UTC (a naive datetime is taken to be UTC already)."""
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def period_of(now: datetime) -> str:
    """The "YYYY-MM" period of the UTC month `now` falls in."""
    return _as_utc(now).strftime("%Y-%m")


def period_reset(now: datetime) -> datetime:
    """The first instant of the UTC month after the one `now` falls in."""
    utc = _as_utc(now)
    year, month = (utc.year + 1, 1) if utc.month == 12 else (utc.year, utc.month + 1)
    return datetime(year, month, 1, tzinfo=UTC)


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the second (e.g. 2026-12-01T00:00:00Z)."""
    return _as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _usd(value: Decimal) -> str:
    """A dollar amount for people: at least cents, up to 8 decimals, thousands separated."""
    whole, _, fraction = f"{value:,.8f}".rstrip("0").partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def _exhausted(totals: Totals, budget: TeamBudget) -> str | None:
    """Which hard limit the totals reached, as "(used of limit unit)"; None while within."""
    tokens = budget.monthly_token_limit
    if tokens is not None and totals.tokens >= tokens:
        return f"({totals.tokens:,} of {tokens:,} tokens)"
    cost = budget.monthly_cost_limit_usd
    if cost is not None and totals.cost_usd >= cost:
        return f"({_usd(totals.cost_usd)} of {_usd(cost)} USD)"
    return None


def _reaches_soft_limit(totals: Totals, budget: TeamBudget) -> bool:
    """Whether the totals reach soft_limit_percent of either limit (exact arithmetic)."""
    percent = budget.soft_limit_percent
    tokens = budget.monthly_token_limit
    if tokens is not None and totals.tokens * 100 >= tokens * percent:
        return True
    cost = budget.monthly_cost_limit_usd
    return cost is not None and totals.cost_usd * 100 >= cost * percent


def _number(value: Decimal) -> int | float:
    """A Decimal as a JSON number (an int when whole)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _unavailable() -> ApiError:
    """The fail-closed answer when the counters cannot be read."""
    return ApiError(
        503,
        "The budget check is unavailable; try again.",
        type_="api_error",
        code="budget_unavailable",
        headers={"Retry-After": "1"},
    )


def _below_share(totals: Totals, budget: TeamBudget, share: Decimal) -> bool:
    """Whether the totals stay under `share` of every limit the budget sets."""
    tokens, cost = budget.monthly_token_limit, budget.monthly_cost_limit_usd
    return (tokens is None or totals.tokens < tokens * share) and (
        cost is None or totals.cost_usd < cost * share
    )


class Budgets:
    """Checks and charges team budgets against a usage store.

    A team well under its limits (below FAR_FROM_LIMIT of each) is admitted on the totals this
    process saw at most FRESH_SECONDS ago (its last read, or the totals its last charge
    returned), saving a DynamoDB read on most requests of a busy container; near a limit every
    admission reads the counters. Other containers' spending in those seconds can then go
    unseen only while the team is far from its limit.
    """

    FRESH_SECONDS = 2.0
    FAR_FROM_LIMIT = Decimal("0.9")

    def __init__(self, store: UsageStore, clock: Callable[[], datetime] = _utc_now) -> None:
        self._store = store
        self._clock = clock
        self._seen: dict[tuple[str, str], tuple[datetime, Totals]] = {}
        self._lock = threading.Lock()

    def _read(self, team: str, period: str) -> Totals:
        """The team's totals, or the 503 that refuses the request when they cannot be read."""
        try:
            totals = self._store.totals(team, period)
        # Any failure (throttled, no permission, network, a bug) must refuse, never admit.
        except Exception as error:
            raise _unavailable() from error
        self._remember(team, period, totals)
        return totals

    def _remember(self, team: str, period: str, totals: Totals) -> None:
        with self._lock:
            self._seen[(team, period)] = (self._clock(), totals)

    def _recent(self, team: str, period: str, budget: TeamBudget, now: datetime) -> bool:
        """Whether totals seen lately put the team safely under every limit."""
        with self._lock:
            seen = self._seen.get((team, period))
        if seen is None:
            return False
        when, totals = seen
        age = (_as_utc(now) - _as_utc(when)).total_seconds()
        return 0 <= age < self.FRESH_SECONDS and _below_share(totals, budget, self.FAR_FROM_LIMIT)

    def admit(self, team: str, budget: TeamBudget) -> None:
        """Raise a 429 when the team has used a monthly limit, a 503 when that is unknown."""
        if not budget.limited:
            return
        now = self._clock()
        period = period_of(now)
        if self._recent(team, period, budget, now):
            return
        used = _exhausted(self._read(team, period), budget)
        if used is None:
            return
        reset = period_reset(now)
        # Whole seconds, rounded up: a client that waits this long finds the new month.
        wait = max(1, math.ceil((reset - _as_utc(now)).total_seconds()))
        raise ApiError(
            429,
            f"Team '{team}' has used its monthly budget {used}; it resets at {iso_utc(reset)}.",
            type_="insufficient_quota",
            code="budget_exceeded",
            headers={
                "Retry-After": str(wait),
                "x-gateway-budget-reset": iso_utc(reset),
                # The OpenAI SDKs retry a 429 unless told not to: retrying cannot help here.
                "x-should-retry": "false",
            },
        )

    def charge(self, team: str, budget: TeamBudget, usage: Usage, cost: Decimal) -> Charge | None:
        """Add a request's usage to the team's month; None when it used nothing.

        Teams without limits are charged too (their usage is reported). Store errors
        propagate: the answer was already produced, so the caller decides what to log.
        """
        if not (usage.input_tokens or usage.output_tokens or usage.images or cost):
            return None
        period = period_of(self._clock())
        totals = self._store.charge(team, period, usage, cost)
        self._remember(team, period, totals)
        crossed = False
        # The claim is a conditional write: only its winner reports the crossing.
        if budget.limited and not totals.soft_alerted and _reaches_soft_limit(totals, budget):
            crossed = self._store.mark_soft_alert(team, period)
        return Charge(totals=totals, soft_limit_crossed=crossed)

    def report(self, team: str, budget: TeamBudget) -> dict[str, object]:
        """The body of GET /v1/usage: the team's month so far, its limits and what is left."""
        now = self._clock()
        period = period_of(now)
        totals = self._read(team, period)
        tokens = budget.monthly_token_limit
        cost = budget.monthly_cost_limit_usd
        return {
            "object": "usage",
            "team": team,
            "period": period,
            "reset_at": iso_utc(period_reset(now)),
            "input_tokens": totals.input_tokens,
            "output_tokens": totals.output_tokens,
            "total_tokens": totals.tokens,
            "cost_usd": format_cost(totals.cost_usd),
            "requests": totals.requests,
            "limits": {
                "monthly_tokens": tokens,
                "monthly_cost_usd": format_cost(cost) if cost is not None else None,
                "soft_limit_percent": _number(budget.soft_limit_percent),
            },
            "remaining": {
                "tokens": max(0, tokens - totals.tokens) if tokens is not None else None,
                "cost_usd": (
                    format_cost(max(Decimal(0), cost - totals.cost_usd))
                    if cost is not None
                    else None
                ),
            },
            "exhausted": _exhausted(totals, budget) is not None,
        }
