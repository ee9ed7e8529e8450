"""Usage counters: DynamoDB (moto) and memory stores keep the same contract, under concurrency."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from lambdas.gateway.metering import Usage
from lambdas.gateway.usage_store import (
    DynamoUsageStore,
    MemoryUsageStore,
    Totals,
    UsageStore,
    dynamo_number,
    expiry_of,
)
from tests.gateway.usage_table import TABLE


@pytest.fixture(params=["dynamodb", "memory"])
def store(request: pytest.FixtureRequest) -> UsageStore:
    """Each store implementation in turn; both must pass the same contract."""
    if request.param == "memory":
        return MemoryUsageStore()
    client = request.getfixturevalue("dynamo")
    # One client shared by every thread (boto3 clients are thread-safe).
    return DynamoUsageStore(TABLE, lambda: client)


def item(client: Any, team: str, period: str) -> dict[str, Any]:
    return dict(
        client.get_item(TableName=TABLE, Key={"team": {"S": team}, "period": {"S": period}}).get(
            "Item", {}
        )
    )


def test_a_team_without_usage_has_zero_totals(store: UsageStore) -> None:
    assert store.totals("alpha", "2026-11") == Totals()
    assert Totals().tokens == 0


def test_charge_adds_and_returns_the_new_totals(store: UsageStore) -> None:
    first = store.charge("alpha", "2026-11", Usage(100, 20), Decimal("0.0015"))
    assert first == Totals(100, 20, Decimal("0.0015"), 1)
    second = store.charge("alpha", "2026-11", Usage(5, 7, images=2), Decimal("0.04"))
    assert second == Totals(105, 27, Decimal("0.0415"), 2)
    assert second.tokens == 132
    assert store.totals("alpha", "2026-11") == second


def test_teams_and_periods_are_counted_apart(store: UsageStore) -> None:
    store.charge("alpha", "2026-11", Usage(10, 1), Decimal("0.01"))
    store.charge("alpha", "2026-12", Usage(20, 2), Decimal("0.02"))
    store.charge("beta", "2026-11", Usage(30, 3), Decimal("0.03"))
    assert store.totals("alpha", "2026-11") == Totals(10, 1, Decimal("0.01"), 1)
    assert store.totals("alpha", "2026-12") == Totals(20, 2, Decimal("0.02"), 1)
    assert store.totals("beta", "2026-11") == Totals(30, 3, Decimal("0.03"), 1)
    assert store.totals("beta", "2026-12") == Totals()


def test_sub_cent_costs_add_up_exactly(store: UsageStore) -> None:
    for _ in range(10):
        totals = store.charge("alpha", "2026-11", Usage(1, 1), Decimal("0.00000123"))
    assert totals.cost_usd == Decimal("0.0000123")
    assert store.totals("alpha", "2026-11").cost_usd == Decimal("0.0000123")


def test_soft_alert_is_claimed_once_per_team_and_period(store: UsageStore) -> None:
    store.charge("alpha", "2026-11", Usage(1, 1), Decimal(0))
    assert store.mark_soft_alert("alpha", "2026-11") is True
    assert store.mark_soft_alert("alpha", "2026-11") is False
    assert store.totals("alpha", "2026-11").soft_alerted is True
    # A new charge keeps the claim and reports it.
    assert store.charge("alpha", "2026-11", Usage(1, 1), Decimal(0)).soft_alerted is True
    assert store.mark_soft_alert("alpha", "2026-12") is True
    assert store.mark_soft_alert("beta", "2026-11") is True


def test_concurrent_charges_never_lose_an_update(store: UsageStore) -> None:
    threads, per_thread = 16, 25

    def work(number: int) -> None:
        for _ in range(per_thread):
            store.charge("alpha", "2026-11", Usage(number + 1, 3), Decimal("0.00012345"))

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(work, range(threads)))
    totals = store.totals("alpha", "2026-11")
    charges = threads * per_thread
    assert totals.requests == charges
    assert totals.input_tokens == per_thread * sum(range(1, threads + 1))
    assert totals.output_tokens == 3 * charges
    assert totals.cost_usd == Decimal("0.00012345") * charges


def test_exactly_one_thread_wins_the_soft_alert(store: UsageStore) -> None:
    store.charge("alpha", "2026-11", Usage(1, 1), Decimal(0))
    start = threading.Barrier(16)

    def claim(_: int) -> bool:
        start.wait()
        return store.mark_soft_alert("alpha", "2026-11")

    with ThreadPoolExecutor(max_workers=16) as pool:
        wins = list(pool.map(claim, range(16)))
    assert wins.count(True) == 1


def test_dynamo_charge_is_one_atomic_add_with_an_exact_cost_and_a_ttl(dynamo: Any) -> None:
    calls: list[dict[str, Any]] = []
    dynamo.meta.events.register("provide-client-params.dynamodb.UpdateItem", _record(calls))
    store = DynamoUsageStore(TABLE, lambda: dynamo)
    store.charge("alpha", "2026-11", Usage(7, 3), Decimal("0.00000001"))
    [update] = calls
    assert update["UpdateExpression"].startswith("ADD ")
    assert update["ReturnValues"] == "ALL_NEW"
    assert update["ExpressionAttributeValues"][":c"] == {"N": "0.00000001"}
    stored = item(dynamo, "alpha", "2026-11")
    assert Decimal(stored["cost_usd"]["N"]) == Decimal("0.00000001")
    start = datetime(2026, 11, 1, tzinfo=UTC)
    assert stored["expires_at"] == {"N": str(int((start + timedelta(days=400)).timestamp()))}
    assert "soft_alerted" not in stored


def test_dynamo_ttl_is_set_by_the_first_charge_and_kept(dynamo: Any) -> None:
    store = DynamoUsageStore(TABLE, lambda: dynamo)
    store.charge("alpha", "2026-11", Usage(1, 0), Decimal(0))
    dynamo.update_item(
        TableName=TABLE,
        Key={"team": {"S": "alpha"}, "period": {"S": "2026-11"}},
        UpdateExpression="SET expires_at = :x",
        ExpressionAttributeValues={":x": {"N": "123"}},
    )
    store.charge("alpha", "2026-11", Usage(1, 0), Decimal(0))
    assert item(dynamo, "alpha", "2026-11")["expires_at"] == {"N": "123"}


def test_dynamo_totals_read_consistently(dynamo: Any) -> None:
    calls: list[dict[str, Any]] = []
    dynamo.meta.events.register("provide-client-params.dynamodb.GetItem", _record(calls))
    DynamoUsageStore(TABLE, lambda: dynamo).totals("alpha", "2026-11")
    assert calls[0]["ConsistentRead"] is True


def test_dynamo_soft_alert_is_a_conditional_write(dynamo: Any) -> None:
    store = DynamoUsageStore(TABLE, lambda: dynamo)
    store.charge("alpha", "2026-11", Usage(1, 0), Decimal(0))
    assert store.mark_soft_alert("alpha", "2026-11") is True
    assert item(dynamo, "alpha", "2026-11")["soft_alerted"] == {"BOOL": True}
    assert store.mark_soft_alert("alpha", "2026-11") is False


def test_dynamo_errors_other_than_the_lost_claim_propagate(dynamo: Any) -> None:
    store = DynamoUsageStore("no-such-table", lambda: dynamo)
    with pytest.raises(dynamo.exceptions.ResourceNotFoundException):
        store.mark_soft_alert("alpha", "2026-11")
    with pytest.raises(dynamo.exceptions.ResourceNotFoundException):
        store.charge("alpha", "2026-11", Usage(1, 0), Decimal(0))


def test_the_dynamo_client_is_created_on_first_use_once(dynamo: Any) -> None:
    made: list[Any] = []

    def factory() -> Any:
        made.append(dynamo)
        return dynamo

    store = DynamoUsageStore(TABLE, factory)
    assert made == []
    start = threading.Barrier(8)

    def read(_: int) -> Totals:
        start.wait()
        return store.totals("alpha", "2026-11")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(read, range(8)))
    store.charge("alpha", "2026-11", Usage(1, 0), Decimal(0))
    assert len(made) == 1


def test_numbers_render_exactly_for_dynamodb() -> None:
    assert dynamo_number(Decimal("1E-8")) == "0.00000001"
    assert dynamo_number(Decimal("12.50")) == "12.50"
    assert dynamo_number(1_000_000) == "1000000"
    assert expiry_of("2026-12") == int(datetime(2028, 1, 5, tzinfo=UTC).timestamp())


def _record(calls: list[dict[str, Any]]) -> Callable[..., None]:
    """A botocore hook that keeps a copy of each call's parameters."""

    def hook(params: dict[str, Any], **_: Any) -> None:
        calls.append(dict(params))

    return hook
