"""Who is calling (team, key id, principal) and what the caller's team may use.

The team always comes from who authenticated the request: the authorizer's context behind API
Gateway, the IAM principal for SigV4 callers, the matching key locally; never from a header or
a field the client chooses.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

from .budgets import TeamBudget
from .errors import ApiError
from .routing import Target

# The quoted part of a client's model name in an error (a 5 MB name stays out of the answer).
_MAX_QUOTED = 200


@dataclass(frozen=True, slots=True)
class Caller:
    """Who made a request: the team and key (API keys) or the IAM principal (SigV4)."""

    team: str | None = None
    key_id: str | None = None
    principal: str | None = None


ANONYMOUS = Caller()


def caller_from_context(context: object) -> Caller:
    """The caller API Gateway authenticated, from the stage's request context."""
    if not isinstance(context, Mapping):
        return ANONYMOUS
    authorizer = context.get("authorizer")
    if isinstance(authorizer, Mapping) and isinstance(authorizer.get("team"), str):
        return Caller(
            team=authorizer["team"],
            key_id=_text(authorizer.get("key_id")),
            principal=_text(authorizer.get("principalId")),
        )
    identity = context.get("identity")
    if isinstance(identity, Mapping):
        # SigV4 callers (api.auth = "iam"): API Gateway puts the verified caller's ARN here.
        return Caller(principal=_text(identity.get("userArn")))
    return ANONYMOUS


def _text(value: object) -> str | None:
    return value[:256] if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class TeamPolicy:
    """One team's allow-list, monthly budget and cost-allocation inference profiles."""

    name: str
    # Both None: every enabled model and alias. Model ids include the members of allowed aliases.
    aliases: frozenset[str] | None = None
    model_ids: frozenset[str] | None = None
    budget: TeamBudget = field(default_factory=TeamBudget)
    # Streamed chat completions in flight at once, across every container; None: no limit.
    max_concurrent_streams: int | None = None
    # SigV4 callers of this team (auth "iam"): role, user or account-root ARNs.
    iam_principals: tuple[str, ...] = ()
    # Model id -> the team's application inference profile ARN (its line on the AWS bill).
    profiles: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # Knowledge bases the team may search; None: every one of the deployment.
    knowledge_bases: frozenset[str] | None = None
    # The guardrail of the team's requests ("none": none); None: the alias's or the default.
    guardrail: str | None = None

    def may_search(self, knowledge_base: str) -> bool:
        """Whether the team may use the knowledge base named `knowledge_base`."""
        return self.knowledge_bases is None or knowledge_base in self.knowledge_bases

    def allows(self, name: str, targets: tuple[Target, ...], *, is_alias: bool) -> bool:
        """Whether the team may call `name` (an alias, or a model or profile id)."""
        if self.aliases is None or self.model_ids is None:
            return True
        if is_alias:
            return name in self.aliases
        return all(target.spec.model_id in self.model_ids for target in targets)

    def check(self, name: str, targets: tuple[Target, ...], *, is_alias: bool) -> None:
        """Refuse, naming the model and the team, what the team may not call."""
        if self.allows(name, targets, is_alias=is_alias):
            return
        quoted = name if len(name) <= _MAX_QUOTED else name[:_MAX_QUOTED] + "..."
        raise ApiError(
            403,
            f"Team '{self.name}' may not use the model '{quoted}'. GET /v1/models lists the "
            "models and aliases your team may use.",
            type_="permission_error",
            code="model_not_allowed",
            param="model",
        )

    def through_profiles(self, targets: tuple[Target, ...]) -> tuple[Target, ...]:
        """The targets, each through the team's own inference profile where it has one."""
        if not self.profiles:
            return targets
        return tuple(
            dataclasses.replace(target, invocation_id=arn, shown_id=target.invocation_id)
            if (arn := self.profiles.get(target.spec.model_id)) is not None
            else target
            for target in targets
        )

    def to_dict(self) -> dict[str, object]:
        """The policy as the deployment file carries it (profiles travel separately)."""
        budget = self.budget
        return {
            "aliases": sorted(self.aliases) if self.aliases is not None else None,
            "model_ids": sorted(self.model_ids) if self.model_ids is not None else None,
            "monthly_token_limit": budget.monthly_token_limit,
            "monthly_cost_limit_usd": str(budget.monthly_cost_limit_usd)
            if budget.monthly_cost_limit_usd is not None
            else None,
            "soft_limit_percent": str(budget.soft_limit_percent),
            "max_concurrent_streams": self.max_concurrent_streams,
            "iam_principals": list(self.iam_principals),
            "knowledge_bases": sorted(self.knowledge_bases)
            if self.knowledge_bases is not None
            else None,
            "guardrail": self.guardrail,
        }

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, object]) -> TeamPolicy:
        """Read one team from the deployment file (the inverse of to_dict)."""
        aliases, model_ids = data.get("aliases"), data.get("model_ids")
        tokens, cost = data.get("monthly_token_limit"), data.get("monthly_cost_limit_usd")
        streams = data.get("max_concurrent_streams")
        knowledge_bases = data.get("knowledge_bases")
        if (aliases is None) != (model_ids is None):
            raise ValueError(f"team {name!r}: aliases and model_ids are both lists or both null")
        return cls(
            name=name,
            aliases=frozenset(_strings(aliases)) if aliases is not None else None,
            model_ids=frozenset(_strings(model_ids)) if model_ids is not None else None,
            budget=TeamBudget(
                monthly_token_limit=int(str(tokens)) if tokens is not None else None,
                monthly_cost_limit_usd=Decimal(str(cost)) if cost is not None else None,
                soft_limit_percent=Decimal(str(data.get("soft_limit_percent", "80"))),
            ),
            max_concurrent_streams=int(str(streams)) if streams is not None else None,
            iam_principals=tuple(_strings(data.get("iam_principals", []))),
            knowledge_bases=frozenset(_strings(knowledge_bases))
            if knowledge_bases is not None
            else None,
            guardrail=str(data["guardrail"]) if data.get("guardrail") is not None else None,
        )


def _strings(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError("must be a list of strings")
    return value


def principal_key(arn: str) -> tuple[str, str] | None:
    """(account, "role/NAME" | "user/NAME" | "root") of an IAM principal or an assumed role.

    API Gateway reports a role's callers as `arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`,
    while config names the role `arn:aws:iam::ACCOUNT:role/PATH/NAME`: both become the same
    key (role names are unique in an account, whatever their path).
    """
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    service, account, resource = parts[2], parts[4], parts[5]
    kind, _, rest = resource.partition("/")
    if service == "sts" and kind == "assumed-role" and rest:
        return account, "role/" + rest.split("/", 1)[0]
    if service == "iam" and kind in ("role", "user") and rest:
        return account, f"{kind}/{rest.rsplit('/', 1)[-1]}"
    if service == "iam" and resource == "root":
        return account, "root"
    return None


@dataclass(frozen=True, slots=True)
class Teams:
    """Every team of a deployment, by name (and by IAM principal for SigV4 callers)."""

    policies: Mapping[str, TeamPolicy] = field(default_factory=lambda: MappingProxyType({}))
    _by_principal: Mapping[tuple[str, str], str] = field(
        init=False, repr=False, compare=False, default_factory=lambda: MappingProxyType({})
    )

    def __post_init__(self) -> None:
        by_principal = {
            key: policy.name
            for policy in self.policies.values()
            for arn in policy.iam_principals
            if (key := principal_key(arn)) is not None
        }
        object.__setattr__(self, "_by_principal", MappingProxyType(by_principal))

    def identify(self, caller: Caller) -> Caller:
        """The caller with its team: a SigV4 caller's from its principal (exact, else :root)."""
        if caller.team is not None or caller.principal is None:
            return caller
        key = principal_key(caller.principal)
        if key is None:
            return caller
        team = self._by_principal.get(key) or self._by_principal.get((key[0], "root"))
        return dataclasses.replace(caller, team=team) if team is not None else caller

    def get(self, caller: Caller) -> TeamPolicy | None:
        """The caller's team policy; a caller of a team this deployment lacks is refused."""
        if caller.team is None:
            return None
        policy = self.policies.get(caller.team)
        if policy is None:
            raise ApiError(
                403,
                f"Team '{caller.team[:64]}' is not configured in this deployment; ask the "
                "platform team.",
                type_="permission_error",
                code="team_not_configured",
            )
        return policy

    def to_dict(self) -> dict[str, object]:
        """The teams as the deployment file carries them."""
        return {name: policy.to_dict() for name, policy in self.policies.items()}

    @classmethod
    def from_data(cls, teams: object, profiles_json: str | None = None) -> Teams:
        """Read the deployment file's `teams` and, from the environment, their profile ARNs."""
        if teams is None:
            teams = {}
        if not isinstance(teams, Mapping):
            raise ValueError("'teams' must be an object of team name to policy")
        # {"prefix": "arn:...:application-inference-profile/", "teams": {team: {model: id}}}:
        # ids, not ARNs, keep the variable within Lambda's 4 KB of environment.
        document = json.loads(profiles_json) if profiles_json else {}
        if not isinstance(document, Mapping):
            raise ValueError("team profiles must be an object with 'prefix' and 'teams'")
        prefix = str(document.get("prefix", ""))
        profiles = document.get("teams", {})
        if not isinstance(profiles, Mapping):
            raise ValueError("team profiles' 'teams' must map team names to model-id maps")
        policies: dict[str, TeamPolicy] = {}
        for name, data in teams.items():
            if not isinstance(data, Mapping):
                raise ValueError(f"team {name!r} must be an object")
            policy = TeamPolicy.from_dict(str(name), data)
            arns = profiles.get(name) or {}
            if not isinstance(arns, Mapping):
                raise ValueError(f"team {name!r}: profiles must map model ids to ARNs")
            policies[str(name)] = dataclasses.replace(
                policy,
                profiles=MappingProxyType({str(k): prefix + str(v) for k, v in arns.items()}),
            )
        return cls(MappingProxyType(policies))
