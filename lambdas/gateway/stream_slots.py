"""Per-team stream slots: how many streamed completions a team may have in flight at once.

A slot is a lease: a holder (a request id) keeps it until it releases it or until the lease
expires, so the slot of a crashed container frees itself. In AWS the leases of a team live in
one item of the usage table (period "streams", which no "YYYY-MM" period can equal), changed
only by conditional writes on a version number; process memory serves local runs and tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from .usage_store import LazyClient, dynamo_number

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

# The sort key of a team's lease item in the usage table (counter rows use "YYYY-MM").
STREAMS_PERIOD = "streams"
# Conditional writes an acquire tries before it gives up (the caller answers 429).
ATTEMPTS = 5

_LEASES = "leases"
_VERSION = "version"


class StreamSlots(Protocol):
    """Where the per-team stream leases live."""

    def acquire(self, team: str, holder: str, limit: int, now: float) -> bool:
        """Take one of the team's `limit` slots for `holder` until released or expired.

        Returns False when the team already holds `limit` live leases (or, for a shared
        store, when contention outlasts the retries): the caller must not start the stream.
        A holder counts once: acquiring again renews its lease, if the others leave room.
        """
        ...

    def release(self, team: str, holder: str) -> None:
        """Give back the holder's slot; a holder without one is a no-op."""
        ...


def _check_lease(lease_seconds: float) -> float:
    if not lease_seconds > 0:
        raise ValueError(f"lease_seconds must be positive, not {lease_seconds!r}")
    return lease_seconds


class DynamoStreamSlots:
    """Leases in the usage table: one item per team, `leases` (M) and `version` (N)."""

    def __init__(
        self,
        table_name: str,
        client_factory: Callable[[], DynamoDBClient],
        lease_seconds: float,
    ) -> None:
        self._table = table_name
        self._dynamo = LazyClient(client_factory)
        self._lease = _check_lease(lease_seconds)

    def acquire(self, team: str, holder: str, limit: int, now: float) -> bool:
        """Read the leases, then write them back with ours unless the version moved meanwhile.

        Expired leases are dropped on the way. A lost race re-reads, at most ATTEMPTS times;
        then the answer is False. Errors other than the lost race propagate.
        """
        if limit < 1:
            return False
        client = self._dynamo()
        mine: AttributeValueTypeDef = {"N": _number(now + self._lease)}
        for _ in range(ATTEMPTS):
            answer = client.get_item(
                TableName=self._table,
                Key=_key(team),
                ConsistentRead=True,
                ProjectionExpression="#l, #v",
                ExpressionAttributeNames={"#l": _LEASES, "#v": _VERSION},
            )
            leases, version = _state(answer.get("Item", {}))
            active = {h: v for h, v in leases.items() if h != holder and _expiry(v) > now}
            if len(active) >= limit:
                return False
            active[holder] = mine
            values: dict[str, AttributeValueTypeDef] = {":leases": {"M": active}}
            if version is None:
                condition = "attribute_not_exists(#v)"
                values[":next"] = {"N": "1"}
            else:
                condition = "#v = :read"
                values[":read"] = {"N": version}
                values[":next"] = {"N": dynamo_number(Decimal(version) + 1)}
            try:
                client.update_item(
                    TableName=self._table,
                    Key=_key(team),
                    UpdateExpression="SET #l = :leases, #v = :next",
                    ConditionExpression=condition,
                    ExpressionAttributeNames={"#l": _LEASES, "#v": _VERSION},
                    ExpressionAttributeValues=values,
                )
            except client.exceptions.ConditionalCheckFailedException:
                continue
            return True
        return False

    def release(self, team: str, holder: str) -> None:
        """Remove the holder's lease and bump the version, if it holds one; else do nothing.

        The version bump makes an acquire that read the old leases retry, so a released lease
        is never written back. The condition is also what makes a missing item or holder
        harmless: an unconditional REMOVE of `leases.<holder>` fails with a ValidationException
        when the item has no `leases` map.
        """
        client = self._dynamo()
        try:
            client.update_item(
                TableName=self._table,
                Key=_key(team),
                UpdateExpression="REMOVE #l.#h SET #v = if_not_exists(#v, :zero) + :one",
                ConditionExpression="attribute_exists(#l.#h)",
                ExpressionAttributeNames={"#l": _LEASES, "#h": holder, "#v": _VERSION},
                ExpressionAttributeValues={":zero": {"N": "0"}, ":one": {"N": "1"}},
            )
        except client.exceptions.ConditionalCheckFailedException:
            return


def _key(team: str) -> dict[str, AttributeValueTypeDef]:
    """The primary key of a team's lease item."""
    return {"team": {"S": team}, "period": {"S": STREAMS_PERIOD}}


def _number(value: float) -> str:
    """An epoch time as a DynamoDB N string (fixed point, as exact as the float's repr)."""
    return dynamo_number(Decimal(repr(value)))


def _state(
    item: dict[str, AttributeValueTypeDef],
) -> tuple[dict[str, AttributeValueTypeDef], str | None]:
    """The leases map and the version (None when absent) of a lease item."""
    leases = item.get(_LEASES, {}).get("M", {})
    version = item.get(_VERSION, {}).get("N")
    return dict(leases), version


def _expiry(value: AttributeValueTypeDef) -> Decimal:
    """A lease's expiry; a malformed one counts as expired."""
    number = value.get("N")
    return Decimal(number) if number is not None else Decimal(0)


class MemoryStreamSlots:
    """The same leases in process memory, for local runs and tests."""

    def __init__(self, lease_seconds: float) -> None:
        self._lease = _check_lease(lease_seconds)
        self._leases: dict[str, dict[str, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, team: str, holder: str, limit: int, now: float) -> bool:
        """Drop expired leases and take a slot under the lock, if one is free."""
        with self._lock:
            live = {h: e for h, e in self._leases.get(team, {}).items() if e > now}
            self._leases[team] = live
            if len(live) - (holder in live) >= limit:
                return False
            live[holder] = now + self._lease
            return True

    def release(self, team: str, holder: str) -> None:
        """Remove the holder's lease, if any."""
        with self._lock:
            self._leases.get(team, {}).pop(holder, None)
