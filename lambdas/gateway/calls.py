"""The metered-call step every route shares: budget, fallback, retry, and what was used.

A request gets a time budget (less than the function's timeout). Each Bedrock call reads with
a timeout taken from what is left of it, so a hung model ends in the gateway's own 504 in
time; an alias tries its next model on throttling, unavailability or a timeout while time
remains; and every successful call is added to the request's Meter exactly once, whatever
fails after it.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Generic, TypeVar

from .bedrock import CONNECT_TIMEOUT_SECONDS
from .errors import ApiError
from .metering import Usage, format_cost
from .routing import Target

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

T = TypeVar("T")
C = TypeVar("C")

# Failures worth trying the next model of an alias for: throttling, unavailable, timeout.
FALLBACK_STATUSES = frozenset({429, 503, 504})
# Failures worth trying the same model again for, when attempts per model allow it.
RETRY_STATUSES = frozenset({429, 503})
# Do not start another attempt with less time than this left.
MIN_ATTEMPT_SECONDS = 1.0
RETRY_BACKOFF_SECONDS = 0.2
_READ_MARGIN_SECONDS = 0.5


class Budget:
    """A request's deadline on the monotonic clock."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.deadline = clock() + seconds

    def remaining(self) -> float:
        """Seconds left before the deadline (negative once past it)."""
        return self.deadline - self._clock()

    def require(self, model_id: str) -> None:
        """Raise the gateway's 504 when too little time is left for another Bedrock call."""
        if self.remaining() < MIN_ATTEMPT_SECONDS:
            raise ApiError(
                504,
                f"The request ran out of its time budget while calling '{model_id}'.",
                type_="timeout_error",
                code="timeout",
            )

    def read_timeout(self) -> int:
        """Whole seconds a Bedrock read may take and still end before the deadline (>= 1)."""
        left = self.remaining() - CONNECT_TIMEOUT_SECONDS - _READ_MARGIN_SECONDS
        return max(1, math.floor(left))


class ClientPool(Generic[C]):
    """AWS clients (bedrock-runtime, bedrock-agent-runtime) by read timeout, made on first use.

    botocore fixes a client's read timeout when it is created; timeouts are whole seconds,
    so a long-lived process holds at most one client per second of budget.
    """

    def __init__(self, factory: Callable[[int], C]) -> None:
        self._factory = factory
        self._clients: dict[int, C] = {}
        self._lock = threading.Lock()

    def for_budget(self, budget: Budget) -> C:
        """Return a client whose reads end before `budget` runs out."""
        timeout = budget.read_timeout()
        client = self._clients.get(timeout)
        if client is None:
            with self._lock:
                client = self._clients.get(timeout)
                if client is None:
                    client = self._clients[timeout] = self._factory(timeout)
        return client


@dataclass(slots=True)
class Meter:
    """The model calls of one request: which model answered, what they used and cost."""

    target: Target | None = None
    usage: Usage = field(default_factory=Usage)
    cost: Decimal = Decimal(0)
    fallbacks: int = 0
    calls: int = 0

    def serving(self, target: Target) -> None:
        """Note the model about to be called (the last one tried is the one reported)."""
        self.target = target

    def add(self, usage: Usage, cost: Decimal) -> None:
        """Add one successful Bedrock call's usage and list price."""
        self.usage = self.usage + usage
        self.cost += cost
        self.calls += 1

    def add_tokens(self, target: Target, usage: Usage) -> None:
        """Add one successful call priced per token on the path `target` is called through."""
        self.add(usage, target.token_cost(usage.input_tokens, usage.output_tokens))

    def headers(self) -> dict[str, str]:
        """The x-gateway-* headers of a model call."""
        headers = {"x-gateway-cost-usd": format_cost(self.cost)}
        if self.target is not None:
            headers["x-gateway-model"] = self.target.spec.model_id
            target = self.target
            headers["x-gateway-invocation-id"] = target.shown_id or target.invocation_id
        return headers


def call_targets(
    targets: Sequence[Target],
    attempt: Callable[[Target, BedrockRuntimeClient], T],
    *,
    meter: Meter,
    budget: Budget,
    clients: ClientPool[BedrockRuntimeClient],
    attempts_per_model: int = 1,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call `attempt` on each target in order until one succeeds, within the budget.

    A fallback failure (429, 503, 504) moves on to the next target; on the last target, a
    retryable failure (429, 503) tries it again while `attempts_per_model` allows; any other
    error, or running out of time or targets, raises the last error.
    """
    last: ApiError | None = None
    for position, target in enumerate(targets):
        if position:
            meter.fallbacks += 1
        # The next model is the retry; only the last one gets attempts of its own.
        attempts = max(1, attempts_per_model) if position == len(targets) - 1 else 1
        for number in range(attempts):
            if last is not None and budget.remaining() < MIN_ATTEMPT_SECONDS:
                raise last
            meter.serving(target)
            try:
                return attempt(target, clients.for_budget(budget))
            except ApiError as error:
                last = error
                pause = RETRY_BACKOFF_SECONDS * 2**number
                retry = (
                    error.status in RETRY_STATUSES
                    and number + 1 < attempts
                    and budget.remaining() > MIN_ATTEMPT_SECONDS + pause
                )
                if not retry:
                    break
                sleep(pause)
        assert last is not None
        if last.status not in FALLBACK_STATUSES:
            raise last
    assert last is not None, "call_targets needs at least one target"
    raise last
