"""Per-team usage counters by UTC month: DynamoDB in AWS, process memory for local runs.

Each (team, period) pair is one counter row. A charge is one atomic add, so concurrent
requests of a team (many Lambda instances) never lose an update, and a soft alert is claimed
by a conditional write, so exactly one caller per team and period reports it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from .metering import Usage

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

# Counter rows outlive their month long enough for a year-over-year look, then expire (TTL).
RETENTION = timedelta(days=400)

# Placeholders for every attribute an expression names: no reserved-word surprises.
_NAMES = {
    "#i": "input_tokens",
    "#o": "output_tokens",
    "#c": "cost_usd",
    "#r": "requests",
    "#e": "expires_at",
    "#s": "soft_alerted",
}
_CHARGE = "ADD #i :i, #o :o, #c :c, #r :one SET #e = if_not_exists(#e, :ttl)"
_SOFT_ALERT = "SET #s = :true, #e = if_not_exists(#e, :ttl)"


@dataclass(frozen=True, slots=True)
class Totals:
    """One team's usage in one period."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    requests: int = 0
    # Whether the period's soft alert was already claimed (saves a conditional write).
    soft_alerted: bool = False

    @property
    def tokens(self) -> int:
        """Input and output tokens together."""
        return self.input_tokens + self.output_tokens


class UsageStore(Protocol):
    """Where the per-team, per-period counters live."""

    def totals(self, team: str, period: str) -> Totals:
        """Return the team's totals for the period (zeros when it has none)."""
        ...

    def charge(self, team: str, period: str, usage: Usage, cost: Decimal) -> Totals:
        """Atomically add one request's usage and cost; return the new totals."""
        ...

    def mark_soft_alert(self, team: str, period: str) -> bool:
        """Claim the period's soft alert: True only for the first caller per team and period."""
        ...


def period_start(period: str) -> datetime:
    """The first instant (UTC) of a "YYYY-MM" period."""
    return datetime.strptime(period, "%Y-%m").replace(tzinfo=UTC)


def expiry_of(period: str) -> int:
    """Epoch seconds when a period's row may expire (DynamoDB TTL)."""
    return int((period_start(period) + RETENTION).timestamp())


def dynamo_number(value: int | Decimal) -> str:
    """Render a number as a DynamoDB N string: exact fixed point, never a float."""
    return format(value, "f") if isinstance(value, Decimal) else str(value)


class LazyClient:
    """A DynamoDB client made on first use (not at import or cold start), then reused."""

    def __init__(self, factory: Callable[[], DynamoDBClient]) -> None:
        self._factory = factory
        self._client: DynamoDBClient | None = None
        self._lock = threading.Lock()

    def __call__(self) -> DynamoDBClient:
        """The client (made once, whichever thread asks first)."""
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._factory()
                client = self._client
        return client


class DynamoUsageStore:
    """Counters in a DynamoDB table keyed by `team` (S) and `period` (S)."""

    def __init__(self, table_name: str, client_factory: Callable[[], DynamoDBClient]) -> None:
        self._table = table_name
        self._dynamo = LazyClient(client_factory)

    def totals(self, team: str, period: str) -> Totals:
        """Return the team's totals for the period, read consistently (zeros when none)."""
        answer = self._dynamo().get_item(
            TableName=self._table, Key=_key(team, period), ConsistentRead=True
        )
        return _totals(answer.get("Item", {}))

    def charge(self, team: str, period: str, usage: Usage, cost: Decimal) -> Totals:
        """Add usage and cost in one UpdateItem (atomic ADD); return the new totals."""
        answer = self._dynamo().update_item(
            TableName=self._table,
            Key=_key(team, period),
            UpdateExpression=_CHARGE,
            ExpressionAttributeNames={k: _NAMES[k] for k in ("#i", "#o", "#c", "#r", "#e")},
            ExpressionAttributeValues={
                ":i": {"N": dynamo_number(usage.input_tokens)},
                ":o": {"N": dynamo_number(usage.output_tokens)},
                ":c": {"N": dynamo_number(cost)},
                ":one": {"N": "1"},
                ":ttl": {"N": str(expiry_of(period))},
            },
            ReturnValues="ALL_NEW",
        )
        return _totals(answer.get("Attributes", {}))

    def mark_soft_alert(self, team: str, period: str) -> bool:
        """Set `soft_alerted` unless already set; True only for the writer that set it."""
        client = self._dynamo()
        try:
            client.update_item(
                TableName=self._table,
                Key=_key(team, period),
                UpdateExpression=_SOFT_ALERT,
                ConditionExpression="attribute_not_exists(#s)",
                ExpressionAttributeNames={k: _NAMES[k] for k in ("#s", "#e")},
                ExpressionAttributeValues={
                    ":true": {"BOOL": True},
                    ":ttl": {"N": str(expiry_of(period))},
                },
            )
        except client.exceptions.ConditionalCheckFailedException:
            return False
        return True


def _key(team: str, period: str) -> dict[str, AttributeValueTypeDef]:
    """The primary key of a counter row."""
    return {"team": {"S": team}, "period": {"S": period}}


def _totals(item: dict[str, AttributeValueTypeDef]) -> Totals:
    """Totals from a DynamoDB item (absent attributes are zero)."""

    def number(name: str) -> Decimal:
        value = item.get(name)
        return Decimal(value["N"]) if value is not None and "N" in value else Decimal(0)

    return Totals(
        input_tokens=int(number("input_tokens")),
        output_tokens=int(number("output_tokens")),
        cost_usd=number("cost_usd"),
        requests=int(number("requests")),
        # Only ever written once, conditionally: its presence is the claim (whatever its type).
        soft_alerted="soft_alerted" in item,
    )


class MemoryUsageStore:
    """The same counters in process memory, for local runs and tests."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], Totals] = {}
        self._lock = threading.Lock()

    def totals(self, team: str, period: str) -> Totals:
        """Return the team's totals for the period (zeros when none)."""
        with self._lock:
            return self._rows.get((team, period), Totals())

    def charge(self, team: str, period: str, usage: Usage, cost: Decimal) -> Totals:
        """Add usage and cost under the lock; return the new totals."""
        with self._lock:
            old = self._rows.get((team, period), Totals())
            new = replace(
                old,
                input_tokens=old.input_tokens + usage.input_tokens,
                output_tokens=old.output_tokens + usage.output_tokens,
                cost_usd=old.cost_usd + cost,
                requests=old.requests + 1,
            )
            self._rows[(team, period)] = new
            return new

    def mark_soft_alert(self, team: str, period: str) -> bool:
        """Set the soft-alert flag unless already set; True only for the caller that set it."""
        with self._lock:
            old = self._rows.get((team, period), Totals())
            if old.soft_alerted:
                return False
            self._rows[(team, period)] = replace(old, soft_alerted=True)
            return True
