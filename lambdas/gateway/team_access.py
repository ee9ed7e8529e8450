"""One request's team rules: the allow-list, the team's inference profiles and its budget."""

from __future__ import annotations

import threading
from decimal import Decimal

from .budgets import Budgets, Charge
from .metering import Usage
from .routing import Routing, Target
from .teams import TeamPolicy


class TeamAccess:
    """Applies the caller's team policy to a request (none: every model, no budget)."""

    def __init__(self, policy: TeamPolicy | None = None, budgets: Budgets | None = None) -> None:
        self.policy = policy
        self._budgets = budgets
        self._admitted = False
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
