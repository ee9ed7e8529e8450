"""One request's team rules: the allow-list, the team's inference profiles and its budget."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from decimal import Decimal

from .budgets import Budgets, Charge
from .errors import ApiError
from .metering import Usage
from .routing import Routing, Target
from .stream_slots import StreamSlots
from .teams import TeamPolicy


class TeamAccess:
    """Applies the caller's team policy to a request (none: every model, no budget)."""

    def __init__(
        self,
        policy: TeamPolicy | None = None,
        budgets: Budgets | None = None,
        stream_slots: StreamSlots | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.policy = policy
        self._budgets = budgets
        self._stream_slots = stream_slots
        self._clock = clock
        self._admitted = False
        # The request id holding one of the team's stream slots, until the request ends.
        self._stream_holder: str | None = None
        # compare's per-model threads share one admission.
        self._lock = threading.Lock()

    def resolve(self, routing: Routing, name: str) -> tuple[Target, ...]:
        """The targets of `name`, refused (403) outside the team's list, through its profiles."""
        targets = routing.resolve(name)
        if self.policy is None:
            return targets
        self.policy.check(name, targets, is_alias=routing.is_alias(name))
        return self.policy.through_profiles(targets)

    def may_use(self, routing: Routing, name: str) -> bool:
        """Whether the team may call `name` (for listing models)."""
        if self.policy is None:
            return True
        return self.policy.allows(name, routing.resolve(name), is_alias=routing.is_alias(name))

    def admit(self) -> None:
        """Check the team's monthly budget once per request, before its first model call."""
        policy, budgets = self.policy, self._budgets
        if policy is None or budgets is None or not policy.budget.limited or self._admitted:
            return
        with self._lock:
            if not self._admitted:
                budgets.admit(policy.name, policy.budget)
                self._admitted = True

    def hold_stream(self, request_id: str) -> None:
        """Take one of the team's concurrent-stream slots (429 when all are taken)."""
        policy, slots = self.policy, self._stream_slots
        if policy is None or slots is None or policy.max_concurrent_streams is None:
            return
        limit = policy.max_concurrent_streams
        try:
            held = slots.acquire(policy.name, request_id, limit, self._clock())
        except Exception as error:
            raise ApiError(
                503,
                "The concurrent-stream check is unavailable; try again.",
                type_="api_error",
                code="stream_limit_unavailable",
                headers={"Retry-After": "1"},
            ) from error
        if not held:
            raise ApiError(
                429,
                f"Team '{policy.name}' already has {limit} streamed completions in flight "
                "(its max_concurrent_streams); wait for one to end or call without stream.",
                type_="rate_limit_error",
                code="too_many_streams",
                headers={"Retry-After": "1"},
            )
        self._stream_holder = request_id

    def release_stream(self) -> None:
        """Give back the stream slot this request holds, if any (raises what the store raises)."""
        holder, self._stream_holder = self._stream_holder, None
        if holder is not None and self.policy is not None and self._stream_slots is not None:
            self._stream_slots.release(self.policy.name, holder)

    def charge(self, usage: Usage, cost: Decimal) -> Charge | None:
        """Add what the request used to the team's month (called once, after the request)."""
        if self.policy is None or self._budgets is None:
            return None
        return self._budgets.charge(self.policy.name, self.policy.budget, usage, cost)

    def report(self) -> dict[str, object] | None:
        """The team's usage this month (GET /v1/usage); None without a team."""
        if self.policy is None or self._budgets is None:
            return None
        return self._budgets.report(self.policy.name, self.policy.budget)
