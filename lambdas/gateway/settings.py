"""Gateway settings, read once from the process environment at start-up (never at import)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from .cors import Cors
from .guardrails import GuardrailRules
from .knowledge_bases import KnowledgeBases
from .metering import METRIC_NAMESPACE
from .routing import Routing
from .teams import Caller, Teams

# Worker threads for blocking Bedrock calls in a long-lived server (not Lambda): many calls
# wait on Bedrock at once, so the pool is sized for waiting, not for CPUs.
DEFAULT_WORKERS = 64


class AuthMode(StrEnum):
    """Who checks the caller's API key."""

    # The gateway compares the key itself (local runs).
    KEY = "key"
    # API Gateway has already validated the usage-plan key before the request reached us; the
    # gateway only checks that the request came through the API's stage (core.py).
    API_GATEWAY = "api-gateway"


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the gateway needs to serve requests."""

    routing: Routing
    auth_mode: AuthMode
    # Key mode (local): each accepted key and who presents it.
    api_keys: Mapping[str, Caller]
    region: str | None
    # How long a request may spend calling Bedrock, fallbacks and retries included: under the
    # function's timeout (API Gateway buffers for 29 s), so the gateway answers its own 504.
    time_budget_seconds: float
    # Attempts per model on throttling or unavailability (the alias's next model comes after).
    bedrock_max_attempts: int = 1
    # Run blocking Bedrock calls in a pool of worker threads so a slow call does not stall the
    # server. Lambda sends one request at a time to an environment, so it turns this off.
    threaded_calls: bool = True
    workers: int = DEFAULT_WORKERS
    # Write prompts and completions into the request log line. Off unless explicitly enabled.
    log_content: bool = False
    # CloudWatch namespace of the per-model metrics (one per environment in the stacks).
    metrics_namespace: str = METRIC_NAMESPACE
    # The teams: allow-lists, budgets and inference profiles.
    teams: Teams = field(default_factory=Teams)
    # The DynamoDB table of the teams' monthly usage; None: counted in memory (local runs).
    usage_table: str | None = None
    # How long a team's stream slot is held at most (a crashed stream frees it then).
    stream_lease_seconds: float = 960.0
    # Behind the key authorizer every caller has a team: a request without one is refused
    # rather than served without its team's list and budget.
    require_team: bool = False
    # Browser origins allowed to call (CORS); none by default.
    cors: Cors = field(default_factory=Cors)
    # The knowledge bases clients may search (retrieve, grounded chat), by name.
    knowledge_bases: KnowledgeBases = field(default_factory=KnowledgeBases)
    # The guardrails and which one applies to a request.
    guardrails: GuardrailRules = field(default_factory=GuardrailRules)

    @property
    def bedrock_read_timeout_seconds(self) -> float:
        """The read timeout of a client made outside a request (the whole budget)."""
        return self.time_budget_seconds

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from environment variables; raise ValueError naming a bad variable."""
        routing_json = env.get("GATEWAY_ROUTING") or _read_routing_file(env)
        try:
            # Decoded once: the routing and the teams are read from the same document.
            document = json.loads(routing_json)
            routing = Routing.from_data(document)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            # AttributeError: valid JSON of the wrong shape ([] or null instead of an object).
            raise ValueError(f"GATEWAY_ROUTING is invalid: {error}") from None
        # Fail closed: no default mode and no built-in key, so a deployment that lost a variable
        # answers a logged 500 instead of serving with a key everyone can read in the source.
        try:
            auth_mode = AuthMode(env.get("GATEWAY_AUTH", ""))
        except ValueError:
            raise ValueError("GATEWAY_AUTH must be set to 'key' or 'api-gateway'") from None
        try:
            teams = Teams.from_data(document.get("teams"), env.get("GATEWAY_TEAM_PROFILES"))
        except (ValueError, TypeError, ArithmeticError) as error:
            raise ValueError(f"the teams of GATEWAY_ROUTING are invalid: {error}") from None
        try:
            knowledge_bases = KnowledgeBases.from_data(
                document.get("knowledge_bases"), env.get("GATEWAY_KNOWLEDGE_BASE_IDS")
            )
        except (ValueError, TypeError, KeyError) as error:
            raise ValueError(f"the knowledge bases are invalid: {error}") from None
        for policy in teams.policies.values():
            unknown = sorted((policy.knowledge_bases or set()) - set(knowledge_bases.by_name))
            if unknown:
                raise ValueError(f"team {policy.name!r} names unknown knowledge bases {unknown}")
        try:
            guardrails = GuardrailRules.from_data(
                document.get("guardrails"), env.get("GATEWAY_GUARDRAILS")
            )
        except (ValueError, TypeError, KeyError) as error:
            raise ValueError(f"the guardrails are invalid: {error}") from None
        for policy in teams.policies.values():
            named = policy.guardrail
            if named is not None and named != "none" and named not in guardrails.by_name:
                raise ValueError(f"team {policy.name!r} names unknown guardrail {named!r}")
        api_keys = _local_keys(env, teams) if auth_mode is AuthMode.KEY else {}
        if auth_mode is AuthMode.KEY and not api_keys:
            raise ValueError(
                "GATEWAY_API_KEY or GATEWAY_API_KEYS must be set when GATEWAY_AUTH is 'key'"
            )
        return cls(
            routing=routing,
            auth_mode=auth_mode,
            api_keys=api_keys,
            # Lambda sets AWS_REGION; botocore itself only reads AWS_DEFAULT_REGION.
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            time_budget_seconds=_number(env, "GATEWAY_TIME_BUDGET_SECONDS", 27.0, 1.0, 900.0),
            bedrock_max_attempts=int(_number(env, "GATEWAY_BEDROCK_MAX_ATTEMPTS", 2, 1, 5)),
            threaded_calls=env.get("GATEWAY_THREADED_CALLS", "true").lower() != "false",
            workers=int(_number(env, "GATEWAY_WORKERS", DEFAULT_WORKERS, 1, 1024)),
            log_content=env.get("GATEWAY_LOG_CONTENT", "false").lower() == "true",
            metrics_namespace=env.get("GATEWAY_METRICS_NAMESPACE") or METRIC_NAMESPACE,
            teams=teams,
            usage_table=env.get("GATEWAY_USAGE_TABLE") or None,
            require_team=env.get("GATEWAY_REQUIRE_TEAM", "false").lower() == "true",
            cors=Cors.parse(env.get("GATEWAY_CORS_ORIGINS", "")),
            stream_lease_seconds=_number(env, "GATEWAY_STREAM_LEASE_SECONDS", 960.0, 30.0, 3600.0),
            knowledge_bases=knowledge_bases,
            guardrails=guardrails,
        )


def _local_keys(env: Mapping[str, str], teams: Teams) -> dict[str, Caller]:
    """Key mode's keys: GATEWAY_API_KEYS (team -> key, JSON) and GATEWAY_API_KEY (no team)."""
    keys: dict[str, Caller] = {}
    single = env.get("GATEWAY_API_KEY")
    if single:
        keys[single] = Caller(key_id="local", principal="local")
    try:
        by_team = json.loads(env.get("GATEWAY_API_KEYS") or "{}")
    except ValueError:
        raise ValueError("GATEWAY_API_KEYS must be JSON: an object of team name to key") from None
    if not isinstance(by_team, dict) or not all(
        isinstance(key, str) and key for key in by_team.values()
    ):
        raise ValueError("GATEWAY_API_KEYS must be an object of team name to key")
    for team, key in by_team.items():
        if team not in teams.policies:
            raise ValueError(f"GATEWAY_API_KEYS names team {team!r}, which is not configured")
        if key in keys:
            raise ValueError(f"GATEWAY_API_KEYS gives team {team!r} a key already in use")
        keys[key] = Caller(team=team, key_id=f"local-{team}", principal=team)
    return keys


def _number(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    """Read a number from `env`, naming the variable when it is not one or is out of range."""
    text = env.get(name)
    if text is None or text == "":
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {text[:40]!r}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be from {low:g} to {high:g}, got {text[:40]!r}")
    return value


# The bundle's root: the gateway package sits in it, next to the routing file.
_BUNDLE_ROOT = Path(__file__).resolve().parent.parent


def _read_routing_file(env: Mapping[str, str]) -> str:
    """Return the routing JSON from GATEWAY_ROUTING_FILE (relative paths: the bundle's root)."""
    name = env.get("GATEWAY_ROUTING_FILE")
    if not name:
        raise ValueError(
            "set GATEWAY_ROUTING (JSON of the enabled models and aliases) or GATEWAY_ROUTING_FILE"
        )
    path = Path(name) if Path(name).is_absolute() else _BUNDLE_ROOT / name
    try:
        text: str = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ValueError(f"GATEWAY_ROUTING_FILE {name!r} cannot be read: {error}") from None
    return text
