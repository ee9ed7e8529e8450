"""Stream slots: DynamoDB (moto) and memory leases keep the same contract, under concurrency."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import boto3
import pytest

from lambdas.gateway.metering import Usage
from lambdas.gateway.stream_slots import (
    ATTEMPTS,
    STREAMS_PERIOD,
    DynamoStreamSlots,
    MemoryStreamSlots,
    StreamSlots,
)
from lambdas.gateway.usage_store import DynamoUsageStore
from tests.gateway.usage_table import REGION, TABLE

LEASE = 60.0
NOW = 1_800_000_000.0

# A source of StreamSlots over one shared backing store: for DynamoDB each call is a new
# instance with its own client (as separate Lambda containers are); memory has one instance.
Slots = Callable[[], StreamSlots]


@pytest.fixture(params=["dynamodb", "memory"])
def slots(request: pytest.FixtureRequest) -> Slots:
    """Each implementation in turn; both must pass the same contract."""
    if request.param == "memory":
        shared = MemoryStreamSlots(LEASE)
        return lambda: shared
    request.getfixturevalue("dynamo")

    def container() -> StreamSlots:
        client = boto3.client("dynamodb", region_name=REGION)
        return DynamoStreamSlots(TABLE, lambda: client, LEASE)

    return container


def leases(client: Any, team: str) -> dict[str, Any]:
    answer = client.get_item(
        TableName=TABLE, Key={"team": {"S": team}, "period": {"S": STREAMS_PERIOD}}
    )
    return dict(answer.get("Item", {}).get("leases", {}).get("M", {}))


def take(store: StreamSlots, team: str, count: int, limit: int, prefix: str = "r") -> list[bool]:
    return [store.acquire(team, f"{prefix}{i}", limit, NOW) for i in range(count)]


# The contract.


def test_the_limit_is_respected(slots: Slots) -> None:
    store = slots()
    assert take(store, "alpha", 4, limit=3) == [True, True, True, False]
    # Another container sees the same slots.
    assert slots().acquire("alpha", "other", 3, NOW) is False
    # The limit is the caller's, per call: a raised limit admits more.
    assert store.acquire("alpha", "r3", 4, NOW) is True
    assert store.acquire("alpha", "r4", 4, NOW) is False


def test_a_limit_below_one_admits_nothing(slots: Slots) -> None:
    store = slots()
    assert store.acquire("alpha", "r0", 0, NOW) is False
    assert store.acquire("alpha", "r0", -1, NOW) is False
    assert store.acquire("alpha", "r0", 1, NOW) is True


def test_release_frees_a_slot(slots: Slots) -> None:
    store = slots()
    assert take(store, "alpha", 2, limit=2) == [True, True]
    slots().release("alpha", "r0")
    assert store.acquire("alpha", "r2", 2, NOW) is True
    assert store.acquire("alpha", "r3", 2, NOW) is False
    # Releasing twice is harmless and frees nothing more.
    store.release("alpha", "r0")
    assert store.acquire("alpha", "r3", 2, NOW) is False


def test_release_of_an_unknown_holder_is_a_no_op(slots: Slots) -> None:
    store = slots()
    store.release("nobody", "r0")  # No item at all.
    assert take(store, "alpha", 2, limit=2) == [True, True]
    store.release("alpha", "stranger")
    assert store.acquire("alpha", "r2", 2, NOW) is False
    store.release("beta", "r0")  # Another team's holder of the same name.
    assert store.acquire("alpha", "r2", 2, NOW) is False


def test_an_expired_lease_frees_its_slot(slots: Slots) -> None:
    store = slots()
    assert store.acquire("alpha", "old", 1, NOW) is True
    assert store.acquire("alpha", "new", 1, NOW + LEASE - 0.5) is False
    # Expiry at now + lease: a lease whose expiry is <= now is gone.
    assert store.acquire("alpha", "new", 1, NOW + LEASE) is True
    assert store.acquire("alpha", "late", 1, NOW + LEASE) is False
    # Releasing the expired holder later does not free the new holder's slot.
    store.release("alpha", "old")
    assert store.acquire("alpha", "late", 1, NOW + LEASE) is False


def test_a_holder_that_acquires_again_renews_its_lease(slots: Slots) -> None:
    store = slots()
    assert store.acquire("alpha", "r0", 2, NOW) is True
    assert store.acquire("alpha", "r0", 2, NOW + 30) is True  # Still one slot; renewed.
    assert store.acquire("alpha", "r1", 2, NOW + 30) is True
    assert store.acquire("alpha", "r2", 2, NOW + 30) is False
    # The first lease would have expired at NOW + LEASE; the renewal holds to NOW + 30 + LEASE.
    assert store.acquire("alpha", "r2", 2, NOW + LEASE) is False
    assert store.acquire("alpha", "r2", 2, NOW + 30 + LEASE) is True


def test_teams_are_independent(slots: Slots) -> None:
    store = slots()
    assert take(store, "alpha", 3, limit=2) == [True, True, False]
    assert take(store, "beta", 3, limit=2) == [True, True, False]
    store.release("beta", "r0")
    assert store.acquire("alpha", "x", 2, NOW) is False
    assert store.acquire("beta", "x", 2, NOW) is True


def test_concurrent_acquires_admit_exactly_the_limit(slots: Slots) -> None:
    threads, limit = 16, 5
    stores = [slots() for _ in range(threads)]
    start = threading.Barrier(threads)

    def acquire(number: int) -> bool:
        start.wait()
        return stores[number].acquire("alpha", f"r{number}", limit, NOW)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        won = list(pool.map(acquire, range(threads)))
    assert won.count(True) == limit
    assert stores[0].acquire("alpha", "late", limit, NOW) is False
    for number, held in enumerate(won):
        if held:
            stores[0].release("alpha", f"r{number}")
    assert take(stores[0], "alpha", limit + 1, limit, prefix="n") == [True] * limit + [False]


def test_churn_never_exceeds_the_limit_and_ends_with_nothing_held(slots: Slots) -> None:
    threads, rounds, limit = 12, 15, 3
    stores = [slots() for _ in range(threads)]
    lock = threading.Lock()
    inside = [0]
    most = [0]
    admitted = [0]
    start = threading.Barrier(threads)

    def work(number: int) -> None:
        store = stores[number]
        start.wait()
        for turn in range(rounds):
            holder = f"t{number}-{turn}"
            if not store.acquire("alpha", holder, limit, NOW):
                continue
            with lock:
                inside[0] += 1
                admitted[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.002)  # Hold the slot while others try.
            with lock:
                inside[0] -= 1
            store.release("alpha", holder)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(work, range(threads)))
    assert 0 < most[0] <= limit
    assert admitted[0] >= rounds  # Contention may refuse some, never most.
    assert take(stores[0], "alpha", limit + 1, limit, prefix="n") == [True] * limit + [False]


# DynamoDB specifics.


def test_dynamo_item_is_apart_from_the_usage_item_of_the_same_team(dynamo: Any) -> None:
    usage = DynamoUsageStore(TABLE, lambda: dynamo)
    usage.charge("alpha", "2026-11", Usage(10, 2), Decimal("0.5"))
    usage.mark_soft_alert("alpha", "2026-11")
    key = {"team": {"S": "alpha"}, "period": {"S": "2026-11"}}
    before = dynamo.get_item(TableName=TABLE, Key=key)["Item"]
    store = DynamoStreamSlots(TABLE, lambda: dynamo, LEASE)
    assert take(store, "alpha", 3, limit=2) == [True, True, False]
    store.release("alpha", "r0")
    store.release("alpha", "unknown")
    assert dynamo.get_item(TableName=TABLE, Key=key)["Item"] == before
    # And a charge does not touch the leases.
    usage.charge("alpha", "2026-11", Usage(1, 1), Decimal(0))
    assert set(leases(dynamo, "alpha")) == {"r1"}
    items = dynamo.query(
        TableName=TABLE,
        KeyConditionExpression="team = :t",
        ExpressionAttributeValues={":t": {"S": "alpha"}},
    )["Items"]
    assert sorted(item["period"]["S"] for item in items) == ["2026-11", STREAMS_PERIOD]


def test_dynamo_acquire_reads_consistently_and_writes_conditionally(dynamo: Any) -> None:
    gets: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    dynamo.meta.events.register("provide-client-params.dynamodb.GetItem", _record(gets))
    dynamo.meta.events.register("provide-client-params.dynamodb.UpdateItem", _record(updates))
    store = DynamoStreamSlots(TABLE, lambda: dynamo, LEASE)
    assert store.acquire("alpha", "r0", 2, NOW) is True
    assert store.acquire("alpha", "r1", 2, NOW) is True
    assert all(get["ConsistentRead"] is True for get in gets)
    first, second = updates
    assert first["ConditionExpression"] == "attribute_not_exists(#v)"
    assert second["ConditionExpression"] == "#v = :read"
    assert second["ExpressionAttributeValues"][":read"] == {"N": "1"}
    assert second["ExpressionAttributeValues"][":next"] == {"N": "2"}
    stored = leases(dynamo, "alpha")
    assert {holder: Decimal(value["N"]) for holder, value in stored.items()} == {
        "r0": Decimal(repr(NOW + LEASE)),
        "r1": Decimal(repr(NOW + LEASE)),
    }
    store.release("alpha", "r0")
    release = updates[-1]
    assert release["UpdateExpression"].startswith("REMOVE #l.#h ")
    assert release["ExpressionAttributeNames"]["#h"] == "r0"
    for call in [*gets, *updates]:
        _assert_every_attribute_is_a_placeholder(call)


def test_dynamo_expired_leases_are_dropped_from_the_item(dynamo: Any) -> None:
    store = DynamoStreamSlots(TABLE, lambda: dynamo, LEASE)
    assert take(store, "alpha", 2, limit=5) == [True, True]
    assert store.acquire("alpha", "fresh", 5, NOW + LEASE) is True
    assert set(leases(dynamo, "alpha")) == {"fresh"}


def test_dynamo_release_bumps_the_version_only_for_a_held_lease(dynamo: Any) -> None:
    store = DynamoStreamSlots(TABLE, lambda: dynamo, LEASE)
    store.release("alpha", "r0")
    key = {"team": {"S": "alpha"}, "period": {"S": STREAMS_PERIOD}}
    assert "Item" not in dynamo.get_item(TableName=TABLE, Key=key)  # Nothing created.
    store.acquire("alpha", "r0", 2, NOW)
    store.release("alpha", "r0")
    store.release("alpha", "r0")
    item = dynamo.get_item(TableName=TABLE, Key=key)["Item"]
    assert item["version"] == {"N": "2"}
    assert item["leases"] == {"M": {}}


def test_dynamo_a_lost_race_is_retried(dynamo: Any) -> None:
    store = DynamoStreamSlots(TABLE, lambda: dynamo, LEASE)
    rival = DynamoStreamSlots(TABLE, lambda: boto3.client("dynamodb", region_name=REGION), LEASE)
    rivals = iter(["rival1", "rival2"])

    def race(**_: Any) -> None:
        # Before each of this store's writes, a rival container takes a slot, until none left.
        holder = next(rivals, None)
        if holder is not None:
            assert rival.acquire("alpha", holder, 3, NOW) is True

    dynamo.meta.events.register("before-call.dynamodb.UpdateItem", race)
    assert store.acquire("alpha", "r0", 3, NOW) is True
    assert set(leases(dynamo, "alpha")) == {"rival1", "rival2", "r0"}


def test_dynamo_a_retry_that_finds_the_slots_taken_refuses(dynamo: Any) -> None:
    store = DynamoStreamSlots(TABLE, lambda: dynamo, LEASE)
    rival = DynamoStreamSlots(TABLE, lambda: boto3.client("dynamodb", region_name=REGION), LEASE)
    assert rival.acquire("alpha", "rival1", 2, NOW) is True
    rivals = iter(["rival2"])

    def race(**_: Any) -> None:
        holder = next(rivals, None)
        if holder is not None:
            assert rival.acquire("alpha", holder, 2, NOW) is True

    dynamo.meta.events.register("before-call.dynamodb.UpdateItem", race)
    assert store.acquire("alpha", "r0", 2, NOW) is False
    assert set(leases(dynamo, "alpha")) == {"rival1", "rival2"}


def test_dynamo_a_release_during_an_acquire_is_not_written_back(dynamo: Any) -> None:
    store = DynamoStreamSlots(TABLE, lambda: dynamo, LEASE)
    other = DynamoStreamSlots(TABLE, lambda: boto3.client("dynamodb", region_name=REGION), LEASE)
    assert other.acquire("alpha", "done", 2, NOW) is True
    released = [False]

    def release_first(**_: Any) -> None:
        if not released[0]:
            released[0] = True
            other.release("alpha", "done")

    # Between this acquire's read (which saw "done") and its write, "done" is released.
    dynamo.meta.events.register("before-call.dynamodb.UpdateItem", release_first)
    assert store.acquire("alpha", "r0", 2, NOW) is True
    assert set(leases(dynamo, "alpha")) == {"r0"}


def test_dynamo_contention_beyond_the_attempts_refuses(dynamo: Any) -> None:
    gets: list[dict[str, Any]] = []
    dynamo.meta.events.register("provide-client-params.dynamodb.GetItem", _record(gets))
    store = DynamoStreamSlots(TABLE, lambda: dynamo, LEASE)
    rival = DynamoStreamSlots(TABLE, lambda: boto3.client("dynamodb", region_name=REGION), LEASE)
    churn = [0]

    def race(**_: Any) -> None:
        churn[0] += 1
        assert rival.acquire("alpha", "rival", 100, NOW + churn[0]) is True  # Renewals.

    dynamo.meta.events.register("before-call.dynamodb.UpdateItem", race)
    assert store.acquire("alpha", "r0", 100, NOW) is False
    assert len(gets) == ATTEMPTS == churn[0]
    assert set(leases(dynamo, "alpha")) == {"rival"}


def test_dynamo_errors_propagate(dynamo: Any) -> None:
    store = DynamoStreamSlots("no-such-table", lambda: dynamo, LEASE)
    with pytest.raises(dynamo.exceptions.ResourceNotFoundException):
        store.acquire("alpha", "r0", 2, NOW)
    with pytest.raises(dynamo.exceptions.ResourceNotFoundException):
        store.release("alpha", "r0")


def test_the_dynamo_client_is_created_on_first_use_once(dynamo: Any) -> None:
    made: list[Any] = []

    def factory() -> Any:
        made.append(dynamo)
        return dynamo

    store = DynamoStreamSlots(TABLE, factory, LEASE)
    assert made == []
    start = threading.Barrier(8)

    def acquire(number: int) -> bool:
        start.wait()
        return store.acquire("alpha", f"r{number}", 8, NOW)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(acquire, range(8)))
    store.release("alpha", "r0")
    assert len(made) == 1


@pytest.mark.parametrize("lease", [0.0, -1.0, float("nan")])
def test_a_lease_must_be_positive(lease: float) -> None:
    with pytest.raises(ValueError, match="lease_seconds"):
        MemoryStreamSlots(lease)
    with pytest.raises(ValueError, match="lease_seconds"):
        DynamoStreamSlots(TABLE, _no_client, lease)


def _no_client() -> Any:
    raise AssertionError("no client is needed")


def _assert_every_attribute_is_a_placeholder(call: dict[str, Any]) -> None:
    """Expressions name attributes only through #placeholders (no reserved-word surprises)."""
    for field in ("UpdateExpression", "ConditionExpression", "ProjectionExpression"):
        expression = call.get(field)
        if expression is None:
            continue
        words = re.findall(r"(?<![#:\w])[A-Za-z_]\w*", expression)
        keywords = {"SET", "REMOVE", "if_not_exists", "attribute_exists", "attribute_not_exists"}
        assert set(words) <= keywords, (field, expression)


def _record(calls: list[dict[str, Any]]) -> Callable[..., None]:
    """A botocore hook that keeps a copy of each call's parameters."""

    def hook(params: dict[str, Any], **_: Any) -> None:
        calls.append(dict(params))

    return hook
