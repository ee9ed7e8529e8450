"""Team budgets: a hard stop at the limit until the UTC month ends, one soft alert, fail closed."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from lambdas.gateway.budgets import Budgets, Charge, TeamBudget, period_of, period_reset
from lambdas.gateway.errors import ApiError
from lambdas.gateway.metering import Usage
from lambdas.gateway.usage_store import DynamoUsageStore, MemoryUsageStore, Totals

NOV_LAST = datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)
DEC_FIRST = datetime(2026, 12, 1, tzinfo=UTC)
TOKENS = TeamBudget(monthly_token_limit=1_000_000)
DOLLARS = TeamBudget(monthly_cost_limit_usd=Decimal("10.00"))


class Clock:
    """A settable clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class RecordingStore(MemoryUsageStore):
    """A memory store that counts the calls made to it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def totals(self, team: str, period: str) -> Totals:
        self.calls.append("totals")
        return super().totals(team, period)

    def charge(self, team: str, period: str, usage: Usage, cost: Decimal) -> Totals:
        self.calls.append("charge")
        return super().charge(team, period, usage, cost)

    def mark_soft_alert(self, team: str, period: str) -> bool:
        self.calls.append("mark_soft_alert")
        return super().mark_soft_alert(team, period)


class BrokenStore:
    """A store whose every call fails with the given error."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def totals(self, team: str, period: str) -> Totals:
        raise self.error

    def charge(self, team: str, period: str, usage: Usage, cost: Decimal) -> Totals:
        raise self.error

    def mark_soft_alert(self, team: str, period: str) -> bool:
        raise self.error


def budgets_at(now: datetime, store: MemoryUsageStore | None = None) -> tuple[Budgets, Clock]:
    clock = Clock(now)
    return Budgets(store if store is not None else MemoryUsageStore(), clock), clock


def refusal(budgets: Budgets, team: str, budget: TeamBudget) -> ApiError:
    with pytest.raises(ApiError) as caught:
        budgets.admit(team, budget)
    return caught.value


def test_the_period_is_the_utc_month() -> None:
    assert period_of(NOV_LAST) == "2026-11"
    assert period_of(DEC_FIRST) == "2026-12"
    # 00:30 on December 1 in UTC+1 is still November in UTC.
    assert period_of(datetime(2026, 12, 1, 0, 30, tzinfo=timezone(timedelta(hours=1)))) == "2026-11"


def test_the_reset_is_the_first_instant_of_the_next_utc_month() -> None:
    assert period_reset(NOV_LAST) == DEC_FIRST
    assert period_reset(datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)) == datetime(
        2027, 1, 1, tzinfo=UTC
    )
    assert period_reset(DEC_FIRST) == datetime(2027, 1, 1, tzinfo=UTC)
    assert period_reset(datetime(2028, 2, 29, 12, tzinfo=UTC)) == datetime(2028, 3, 1, tzinfo=UTC)


def test_charges_either_side_of_midnight_utc_land_in_different_months() -> None:
    store = MemoryUsageStore()
    budgets, clock = budgets_at(NOV_LAST, store)
    budgets.charge("alpha", TOKENS, Usage(10, 5), Decimal("0.01"))
    clock.now = DEC_FIRST
    budgets.charge("alpha", TOKENS, Usage(20, 5), Decimal("0.02"))
    assert store.totals("alpha", "2026-11") == Totals(10, 5, Decimal("0.01"), 1)
    assert store.totals("alpha", "2026-12") == Totals(20, 5, Decimal("0.02"), 1)


def test_a_team_at_its_limit_in_november_is_admitted_again_on_december_first() -> None:
    budgets, clock = budgets_at(datetime(2026, 11, 20, tzinfo=UTC))
    budgets.charge("alpha", TOKENS, Usage(900_000, 100_000), Decimal(5))
    clock.now = NOV_LAST
    error = refusal(budgets, "alpha", TOKENS)
    assert error.status == 429
    assert error.headers["Retry-After"] == "1"
    clock.now = DEC_FIRST
    budgets.admit("alpha", TOKENS)


@pytest.mark.parametrize(
    ("now", "seconds"),
    [
        (NOV_LAST, 1),
        (datetime(2026, 11, 30, 23, 59, 59, 500_000, tzinfo=UTC), 1),
        (datetime(2026, 11, 30, tzinfo=UTC), 86_400),
        (datetime(2026, 11, 1, tzinfo=UTC), 30 * 86_400),
        # Rounded up: a client that waits this long is in the new month.
        (datetime(2026, 11, 29, 23, 59, 58, 250_000, tzinfo=UTC), 86_402),
    ],
)
def test_retry_after_is_the_whole_seconds_until_the_reset(now: datetime, seconds: int) -> None:
    budgets, _ = budgets_at(now)
    budgets.charge("alpha", TOKENS, Usage(1_000_000, 0), Decimal(0))
    error = refusal(budgets, "alpha", TOKENS)
    assert error.headers["Retry-After"] == str(seconds)
    assert error.headers["x-gateway-budget-reset"] == "2026-12-01T00:00:00Z"


def test_the_token_limit_refuses_at_exactly_the_limit() -> None:
    budgets, _ = budgets_at(datetime(2026, 11, 15, tzinfo=UTC))
    budgets.charge("alpha", TOKENS, Usage(600_000, 399_999), Decimal(1))
    budgets.admit("alpha", TOKENS)
    budgets.charge("alpha", TOKENS, Usage(0, 1), Decimal(0))
    error = refusal(budgets, "alpha", TOKENS)
    assert error.status == 429
    assert error.type == "insufficient_quota"
    assert error.code == "budget_exceeded"
    assert error.message == (
        "Team 'alpha' has used its monthly budget (1,000,000 of 1,000,000 tokens); "
        "it resets at 2026-12-01T00:00:00Z."
    )
    assert error.headers == {
        "Retry-After": str(16 * 86_400),
        "x-gateway-budget-reset": "2026-12-01T00:00:00Z",
        "x-should-retry": "false",
    }


def test_the_cost_limit_refuses_at_exactly_the_limit() -> None:
    budgets, _ = budgets_at(datetime(2026, 11, 15, tzinfo=UTC))
    budgets.charge("beta", DOLLARS, Usage(10, 10), Decimal("9.99999999"))
    budgets.admit("beta", DOLLARS)
    budgets.charge("beta", DOLLARS, Usage(1, 1), Decimal("0.00000001"))
    error = refusal(budgets, "beta", DOLLARS)
    assert (error.status, error.code) == (429, "budget_exceeded")
    assert error.message == (
        "Team 'beta' has used its monthly budget (10.00 of 10.00 USD); "
        "it resets at 2026-12-01T00:00:00Z."
    )


def test_the_cost_in_the_message_keeps_sub_cent_digits() -> None:
    budgets, _ = budgets_at(datetime(2026, 11, 15, tzinfo=UTC))
    budgets.charge("beta", DOLLARS, Usage(1, 1), Decimal("1234.0042"))
    assert "(1,234.0042 of 10.00 USD)" in refusal(budgets, "beta", DOLLARS).message


def test_either_limit_refuses_when_a_team_has_both() -> None:
    both = TeamBudget(monthly_token_limit=1000, monthly_cost_limit_usd=Decimal(1))
    budgets, _ = budgets_at(datetime(2026, 11, 15, tzinfo=UTC))
    budgets.charge("alpha", both, Usage(10, 10), Decimal(1))
    assert "(1.00 of 1.00 USD)" in refusal(budgets, "alpha", both).message
    budgets.charge("beta", both, Usage(999, 1), Decimal(0))
    assert "(1,000 of 1,000 tokens)" in refusal(budgets, "beta", both).message


def test_a_team_without_limits_is_admitted_without_reading_the_store() -> None:
    budgets = Budgets(BrokenStore(RuntimeError("must not be read")))
    assert not TeamBudget().limited
    budgets.admit("alpha", TeamBudget())


@pytest.fixture
def missing_table(dynamo: Any) -> DynamoUsageStore:
    """A DynamoDB store whose table does not exist (every call is a ClientError)."""
    return DynamoUsageStore("missing", lambda: dynamo)


def unavailable(error: ApiError) -> None:
    assert error.status == 503
    assert error.message == "The budget check is unavailable; try again."
    assert error.type == "api_error"
    assert error.code == "budget_unavailable"
    assert error.headers == {"Retry-After": "1"}


def test_a_dynamodb_failure_refuses_with_503_never_admits(missing_table: DynamoUsageStore) -> None:
    budgets = Budgets(missing_table)
    unavailable(refusal(budgets, "alpha", TOKENS))
    with pytest.raises(ApiError) as caught:
        budgets.report("alpha", TOKENS)
    unavailable(caught.value)


@pytest.mark.parametrize(
    "failure",
    [
        EndpointConnectionError(endpoint_url="https://dynamodb.us-west-2.amazonaws.com"),
        KeyError("x"),
    ],
)
def test_any_store_failure_refuses_with_503(failure: Exception) -> None:
    error = refusal(Budgets(BrokenStore(failure)), "alpha", DOLLARS)
    unavailable(error)
    assert error.__cause__ is failure


@pytest.mark.parametrize(
    ("usage", "cost"),
    [(Usage(), Decimal(0)), (Usage(estimated=True), Decimal("0.00000000"))],
)
def test_a_call_that_used_nothing_writes_nothing(usage: Usage, cost: Decimal) -> None:
    store = RecordingStore()
    budgets, _ = budgets_at(NOV_LAST, store)
    assert budgets.charge("alpha", TOKENS, usage, cost) is None
    assert store.calls == []


def test_images_and_teams_without_limits_are_charged() -> None:
    store = RecordingStore()
    budgets, _ = budgets_at(NOV_LAST, store)
    image = budgets.charge("alpha", TOKENS, Usage(images=1), Decimal("0.04"))
    assert image == Charge(Totals(0, 0, Decimal("0.04"), 1), soft_limit_crossed=False)
    free = budgets.charge("beta", TeamBudget(), Usage(5_000_000, 0), Decimal(100))
    assert free == Charge(Totals(5_000_000, 0, Decimal(100), 1), soft_limit_crossed=False)
    assert store.calls == ["charge", "charge"]


def test_the_soft_alert_is_reported_once_at_the_crossing() -> None:
    store = RecordingStore()
    budgets, clock = budgets_at(datetime(2026, 11, 2, tzinfo=UTC), store)
    budget = TeamBudget(monthly_token_limit=1000)
    steps = [(700, False), (99, False), (1, True), (50, False), (500, False)]
    for tokens, crossed in steps:
        charge = budgets.charge("alpha", budget, Usage(tokens, 0), Decimal(0))
        assert charge is not None
        assert charge.soft_limit_crossed is crossed, tokens
    # Once claimed, later charges do not even try to claim it.
    assert store.calls.count("mark_soft_alert") == 1
    # A new month has a new alert.
    clock.now = DEC_FIRST
    charge = budgets.charge("alpha", budget, Usage(900, 0), Decimal(0))
    assert charge is not None and charge.soft_limit_crossed


def test_the_soft_alert_follows_the_cost_limit_and_its_percent() -> None:
    budgets, _ = budgets_at(NOV_LAST)
    budget = TeamBudget(monthly_cost_limit_usd=Decimal(10), soft_limit_percent=Decimal("50.5"))
    first = budgets.charge("beta", budget, Usage(1, 1), Decimal("5.04999999"))
    second = budgets.charge("beta", budget, Usage(1, 1), Decimal("0.00000001"))
    assert first is not None and not first.soft_limit_crossed
    assert second is not None and second.soft_limit_crossed


def test_a_team_without_limits_never_claims_a_soft_alert() -> None:
    store = RecordingStore()
    budgets, _ = budgets_at(NOV_LAST, store)
    charge = budgets.charge("alpha", TeamBudget(), Usage(10**9, 0), Decimal(10**6))
    assert charge is not None and not charge.soft_limit_crossed
    assert "mark_soft_alert" not in store.calls


def test_exactly_one_of_many_concurrent_charges_reports_the_soft_alert() -> None:
    budgets, _ = budgets_at(NOV_LAST)
    budget = TeamBudget(monthly_token_limit=1000)
    start = threading.Barrier(16)

    def charge(_: int) -> bool:
        start.wait()
        crossed = False
        for _ in range(10):
            result = budgets.charge("alpha", budget, Usage(10, 0), Decimal(0))
            assert result is not None
            crossed |= result.soft_limit_crossed
        return crossed

    with ThreadPoolExecutor(max_workers=16) as pool:
        reports = list(pool.map(charge, range(16)))
    assert reports.count(True) == 1


def test_the_report_shows_usage_limits_and_what_is_left() -> None:
    budgets, _ = budgets_at(datetime(2026, 11, 15, tzinfo=UTC))
    budget = TeamBudget(
        monthly_token_limit=1000,
        monthly_cost_limit_usd=Decimal("2.50"),
        soft_limit_percent=Decimal("75"),
    )
    budgets.charge("alpha", budget, Usage(300, 100), Decimal("0.12345678"))
    budgets.charge("alpha", budget, Usage(50, 50), Decimal("0.5"))
    assert budgets.report("alpha", budget) == {
        "object": "usage",
        "team": "alpha",
        "period": "2026-11",
        "reset_at": "2026-12-01T00:00:00Z",
        "input_tokens": 350,
        "output_tokens": 150,
        "total_tokens": 500,
        "cost_usd": "0.62345678",
        "requests": 2,
        "limits": {
            "monthly_tokens": 1000,
            "monthly_cost_usd": "2.50000000",
            "soft_limit_percent": 75,
        },
        "remaining": {"tokens": 500, "cost_usd": "1.87654322"},
        "exhausted": False,
    }


def test_the_report_never_shows_a_negative_remainder() -> None:
    budgets, _ = budgets_at(datetime(2026, 11, 15, tzinfo=UTC))
    budget = TeamBudget(monthly_token_limit=1000, monthly_cost_limit_usd=Decimal(1))
    # A request admitted just under the limit may end well over it.
    budgets.charge("alpha", budget, Usage(900, 5000), Decimal("3.25"))
    report: dict[str, Any] = budgets.report("alpha", budget)
    assert report["remaining"] == {"tokens": 0, "cost_usd": "0.00000000"}
    assert report["exhausted"] is True
    assert report["total_tokens"] == 5900


def test_the_report_of_a_team_without_limits_or_usage() -> None:
    report: dict[str, Any] = budgets_at(DEC_FIRST)[0].report("alpha", TeamBudget())
    assert report["period"] == "2026-12"
    assert report["reset_at"] == "2027-01-01T00:00:00Z"
    assert (report["total_tokens"], report["cost_usd"], report["requests"]) == (0, "0.00000000", 0)
    assert report["limits"] == {
        "monthly_tokens": None,
        "monthly_cost_usd": None,
        "soft_limit_percent": 80,
    }
    assert report["remaining"] == {"tokens": None, "cost_usd": None}
    assert report["exhausted"] is False


def test_a_fractional_soft_percent_is_reported_as_a_number() -> None:
    budget = TeamBudget(monthly_token_limit=10, soft_limit_percent=Decimal("62.5"))
    report: dict[str, Any] = budgets_at(DEC_FIRST)[0].report("alpha", budget)
    assert report["limits"]["soft_limit_percent"] == 62.5


# --- admission on recently seen totals ------------------------------------------------------


def test_a_team_far_from_its_limit_is_admitted_on_totals_seen_moments_ago() -> None:
    store = RecordingStore()
    budgets, clock = budgets_at(NOV_LAST - timedelta(hours=1), store)
    budgets.charge("alpha", TOKENS, Usage(1_000, 0), Decimal(0))
    clock.now += timedelta(seconds=1)
    budgets.admit("alpha", TOKENS)
    assert store.calls == ["charge"]  # the charge's own totals were recent enough
    clock.now += timedelta(seconds=Budgets.FRESH_SECONDS)
    budgets.admit("alpha", TOKENS)
    assert store.calls == ["charge", "totals"]  # too old: read again


def test_near_its_limit_every_admission_reads_the_counters() -> None:
    store = RecordingStore()
    budgets, _ = budgets_at(NOV_LAST - timedelta(hours=1), store)
    budgets.charge("alpha", TOKENS, Usage(900_000, 0), Decimal(0))  # 90 % of the tokens
    budgets.admit("alpha", TOKENS)
    budgets.admit("alpha", TOKENS)
    assert store.calls == ["charge", "mark_soft_alert", "totals", "totals"]


def test_another_containers_spending_stops_the_team_once_it_nears_the_limit() -> None:
    shared = MemoryUsageStore()
    here, clock = budgets_at(NOV_LAST - timedelta(hours=1), shared)
    elsewhere = Budgets(shared, clock)
    here.charge("alpha", TOKENS, Usage(10, 0), Decimal(0))
    elsewhere.charge("alpha", TOKENS, Usage(1_000_000, 0), Decimal(0))
    # Far from the limit moments ago, as this container saw it: admitted without a read...
    here.admit("alpha", TOKENS)
    # ...until its view ages out, then the counters say the month is spent.
    clock.now += timedelta(seconds=Budgets.FRESH_SECONDS)
    assert refusal(here, "alpha", TOKENS).status == 429
