"""Token authorizer: checks a kit API key against the keys table and names its team's usage plan.

`Authorization: Bearer bkit_<key_id>_<secret>` -> GetItem of key_id on KEYS_TABLE_NAME, then a
constant-time compare of the secret's SHA-256. Unknown, malformed or wrong keys raise the
`Unauthorized` error (API Gateway answers 401); revoked or expired keys, and keys of a team that
has no usage plan any more, get a Deny policy (403). A valid key gets an Allow policy for the
whole stage with the team's usage-plan key value as usageIdentifierKey (API key source
AUTHORIZER), so API Gateway applies that team's throttle and quota.
Env: KEYS_TABLE_NAME; TEAM_USAGE_KEY_IDS, a JSON object team -> API Gateway API key id.
Each decision is one JSON line on stdout; never the token, the secret or a usage-plan key value.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from .keys import KeyRecord, KeyRecordError, KeyState, KeyValue, parse_bearer, secret_matches

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient
    from mypy_boto3_dynamodb import DynamoDBClient

TABLE_ENV = "KEYS_TABLE_NAME"
USAGE_KEYS_ENV = "TEAM_USAGE_KEY_IDS"
# What the decision needs, nothing more (description and history stay in the table).
PROJECTION = {
    "#key_id": "key_id",
    "#team": "team",
    "#hash": "secret_sha256",
    "#created": "created_at",
    "#expires": "expires_at",
    "#revoked": "revoked_at",
}
DENY_TEAM_NOT_CONFIGURED = "team_not_configured"

Outcome = Literal["allow", "deny", "unauthorized"]
Clock = Callable[[], float]


class UnauthorizedError(Exception):
    """Raised with the exact message API Gateway maps to a 401 answer."""


class ConfigurationError(Exception):
    """The function's environment is incomplete; API Gateway answers 500."""


@dataclass(frozen=True, slots=True)
class AuthorizerConfig:
    """The keys table and each team's usage-plan API key id, from the function's environment."""

    table_name: str
    team_usage_key_ids: Mapping[str, str]

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> AuthorizerConfig:
        """Read KEYS_TABLE_NAME and TEAM_USAGE_KEY_IDS; ConfigurationError names what is wrong."""
        table_name = environ.get(TABLE_ENV, "")
        if not table_name:
            raise ConfigurationError(f"{TABLE_ENV} is not set")
        try:
            usage_key_ids = json.loads(environ.get(USAGE_KEYS_ENV, ""))
        except json.JSONDecodeError:
            raise ConfigurationError(f"{USAGE_KEYS_ENV} is not set to a JSON object") from None
        if not isinstance(usage_key_ids, dict) or not all(
            isinstance(team, str) and isinstance(key_id, str) and key_id
            for team, key_id in usage_key_ids.items()
        ):
            raise ConfigurationError(
                f"{USAGE_KEYS_ENV} must be a JSON object of team name -> API key id"
            )
        return cls(table_name, usage_key_ids)


def _log(entry: Mapping[str, object], stream: TextIO | None) -> None:
    # sys.stdout looked up at call time: Lambda (and pytest's capture) may replace it.
    out = stream if stream is not None else sys.stdout
    out.write(json.dumps(entry, separators=(",", ":")) + "\n")
    out.flush()


def _policy(
    method_arn: str, effect: Literal["Allow", "Deny"], principal: str, context: dict[str, str]
) -> dict[str, Any]:
    # methodArn: arn:aws:execute-api:REGION:ACCOUNT:API_ID/STAGE/METHOD/PATH. The answer is
    # cached per token, so it must cover every method of the stage, not just this one.
    api_and_stage = "/".join(method_arn.split("/")[:2])
    return {
        "principalId": principal,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": effect,
                    "Resource": f"{api_and_stage}/*",
                }
            ],
        },
        "context": context,
    }


@dataclass(slots=True)
class Authorizer:
    """The authorizer's decision over injected clients; one instance lives per container."""

    config: AuthorizerConfig
    dynamodb: DynamoDBClient
    apigateway: APIGatewayClient
    clock: Clock = time.time
    stream: TextIO | None = None
    # Team -> usage-plan key value: fetched once per team per container, never logged.
    _usage_key_values: dict[str, str] = field(default_factory=dict, repr=False)

    def authorize(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """Return the policy for a TOKEN event, or raise UnauthorizedError("Unauthorized")."""
        method_arn = str(event["methodArn"])
        key = parse_bearer(event.get("authorizationToken"))
        if key is None:
            # Nothing from a malformed header is logged: it may be a secret pasted wrongly.
            self._decision("unauthorized", "malformed", key_id=None, team=None)
            raise UnauthorizedError("Unauthorized")
        record = self._record(key)
        if record is None:
            self._decision("unauthorized", "unknown_key", key_id=key.key_id, team=None)
            raise UnauthorizedError("Unauthorized")
        if record.secret_sha256 is None:
            self._error(key.key_id, "KeyRecordError: attribute secret_sha256 is missing")
            raise KeyRecordError("attribute secret_sha256 is missing")
        # Checked before the key's state: without the secret, nobody learns that a key id
        # exists, expired or was revoked.
        if not secret_matches(key.secret, record.secret_sha256):
            self._decision("unauthorized", "wrong_secret", key_id=key.key_id, team=record.team)
            raise UnauthorizedError("Unauthorized")
        state = record.state(self.clock())
        if state is not KeyState.ACTIVE:
            return self._deny(method_arn, record, state.value)
        usage_key_id = self.config.team_usage_key_ids.get(record.team)
        if usage_key_id is None:
            return self._deny(method_arn, record, DENY_TEAM_NOT_CONFIGURED)
        usage_key_value = self._usage_key_value(record, usage_key_id)
        self._decision("allow", None, key_id=record.key_id, team=record.team)
        policy = _policy(
            method_arn, "Allow", record.team, {"team": record.team, "key_id": record.key_id}
        )
        policy["usageIdentifierKey"] = usage_key_value
        return policy

    def _record(self, key: KeyValue) -> KeyRecord | None:
        try:
            answer = self.dynamodb.get_item(
                TableName=self.config.table_name,
                Key={"key_id": {"S": key.key_id}},
                # A revocation must count from the moment it is written.
                ConsistentRead=True,
                ProjectionExpression=", ".join(PROJECTION),
                ExpressionAttributeNames=PROJECTION,
            )
        except (ClientError, BotoCoreError) as error:
            self._error(key.key_id, f"GetItem failed: {_describe(error)}")
            raise
        item = answer.get("Item")
        if item is None:
            return None
        try:
            return KeyRecord.from_item(item)
        except KeyRecordError as error:
            self._error(key.key_id, f"KeyRecordError: {error}")
            raise

    def _usage_key_value(self, record: KeyRecord, usage_key_id: str) -> str:
        cached = self._usage_key_values.get(record.team)
        if cached is not None:
            return cached
        try:
            answer = self.apigateway.get_api_key(apiKey=usage_key_id, includeValue=True)
        except (ClientError, BotoCoreError) as error:
            self._error(record.key_id, f"GetApiKey failed: {_describe(error)}", team=record.team)
            raise
        value = answer.get("value")
        if not value:
            self._error(record.key_id, "GetApiKey returned no value", team=record.team)
            raise ConfigurationError(f"the usage-plan API key of team {record.team} has no value")
        self._usage_key_values[record.team] = value
        return value

    def _deny(self, method_arn: str, record: KeyRecord, reason: str) -> dict[str, Any]:
        self._decision("deny", reason, key_id=record.key_id, team=record.team)
        return _policy(method_arn, "Deny", record.team, {"reason": reason, "key_id": record.key_id})

    def _decision(
        self, outcome: Outcome, reason: str | None, *, key_id: str | None, team: str | None
    ) -> None:
        _log(
            {
                "type": "authorizer.decision",
                "key_id": key_id,
                "team": team,
                "outcome": outcome,
                "reason": reason,
            },
            self.stream,
        )

    def _error(self, key_id: str | None, reason: str, *, team: str | None = None) -> None:
        _log(
            {"type": "authorizer.error", "key_id": key_id, "team": team, "reason": reason},
            self.stream,
        )


def _describe(error: ClientError | BotoCoreError) -> str:
    # The error class and AWS code are enough to act on; neither ever holds a key's secret.
    if isinstance(error, ClientError):
        return f"{error.response.get('Error', {}).get('Code', 'ClientError')}"
    return type(error).__name__


@functools.cache
def current_authorizer() -> Authorizer:
    """The container's authorizer: env config and boto3 clients, created on first use."""
    try:
        config = AuthorizerConfig.from_env(os.environ)
    except ConfigurationError as error:
        _log({"type": "authorizer.error", "key_id": None, "team": None, "reason": str(error)}, None)
        raise
    import boto3
    from botocore.config import Config

    # The function has 3 seconds: fail fast and let API Gateway answer 500 (never Allow).
    client_config = Config(
        connect_timeout=1, read_timeout=1, retries={"mode": "standard", "total_max_attempts": 2}
    )
    return Authorizer(
        config=config,
        dynamodb=boto3.client("dynamodb", config=client_config),
        apigateway=boto3.client("apigateway", config=client_config),
    )


def handler(event: dict[str, Any], _context: object) -> dict[str, Any]:
    """Lambda entry point: the policy for an API Gateway TOKEN authorizer event."""
    return current_authorizer().authorize(event)
