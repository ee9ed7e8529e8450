"""Shared builders for the authorizer and `make keys` tests: a moto keys table, stubbed usage keys.

moto's API Gateway needs openapi-spec-validator, which the dev requirements do not install, so
GetApiKey is answered by botocore's Stubber on a real client (it still checks the request
against the API model).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import boto3
from botocore.stub import Stubber

from lambdas.authorizer.handler import Authorizer, AuthorizerConfig
from lambdas.authorizer.keys import KeyRecord, KeyValue, new_key, secret_sha256

if TYPE_CHECKING:
    from mypy_boto3_apigateway import APIGatewayClient
    from mypy_boto3_dynamodb import DynamoDBClient

REGION = "us-west-2"
TABLE = "bkit-dev-keys"
NOW = 1_800_000_000
DAY = 86_400
METHOD_ARN = f"arn:aws:execute-api:{REGION}:123456789012:abc123/api/POST/v1/chat/completions"
STAGE_RESOURCE = f"arn:aws:execute-api:{REGION}:123456789012:abc123/api/*"
# Team -> (its usage-plan API key id, that key's value).
USAGE_KEYS = {
    "alpha": ("alphakeyid1", "alpha-usage-plan-key-value-0123456789abcdef"),
    "beta": ("betakeyid22", "beta-usage-plan-key-value-0123456789abcdef"),
}


def dynamodb() -> DynamoDBClient:
    """A DynamoDB client in the test region (call inside mock_aws)."""
    return boto3.client("dynamodb", region_name=REGION)


def create_keys_table(client: DynamoDBClient, name: str = TABLE) -> str:
    """Create the keys table as the kit defines it: key_id HASH, on demand."""
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "key_id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "key_id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def put_key(
    client: DynamoDBClient,
    team: str = "alpha",
    *,
    expires_at: int = NOW + 30 * DAY,
    revoked_at: int | None = None,
    table: str = TABLE,
) -> KeyValue:
    """Store a fresh key for `team` and return it (value included, as a caller holds it)."""
    key = new_key()
    record = KeyRecord(
        key_id=key.key_id,
        team=team,
        created_at=NOW - DAY,
        expires_at=expires_at,
        secret_sha256=secret_sha256(key.secret),
        revoked_at=revoked_at,
    )
    client.put_item(TableName=table, Item=record.to_item())
    return key


def bearer(key: KeyValue | str) -> str:
    """The Authorization header value for a key."""
    return f"Bearer {key.value if isinstance(key, KeyValue) else key}"


def event(token: str, method_arn: str = METHOD_ARN) -> dict[str, Any]:
    """An API Gateway TOKEN authorizer event."""
    return {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}


class UsageKeys:
    """A real API Gateway client whose GetApiKey answers are queued, one per expected call."""

    def __init__(self) -> None:
        self.client: APIGatewayClient = boto3.client("apigateway", region_name=REGION)
        self.stubber = Stubber(self.client)
        self.stubber.activate()

    def expect(self, *teams: str) -> UsageKeys:
        """Queue one GetApiKey (includeValue) answer per team, in order."""
        for team in teams:
            key_id, value = USAGE_KEYS[team]
            self.stubber.add_response(
                "get_api_key",
                {"id": key_id, "value": value, "name": f"{team}-key", "enabled": True},
                {"apiKey": key_id, "includeValue": True},
            )
        return self

    def assert_all_called(self) -> None:
        """Every queued answer was asked for."""
        self.stubber.assert_no_pending_responses()


def authorizer(
    client: DynamoDBClient,
    usage_keys: UsageKeys,
    *,
    now: float = NOW,
    table: str = TABLE,
    teams: Mapping[str, str] | None = None,
) -> Authorizer:
    """An authorizer over the given clients at a fixed time; every USAGE_KEYS team configured."""
    configured = {team: ids[0] for team, ids in USAGE_KEYS.items()} if teams is None else teams
    return Authorizer(
        config=AuthorizerConfig(table, dict(configured)),
        dynamodb=client,
        apigateway=usage_keys.client,
        clock=lambda: now,
    )
