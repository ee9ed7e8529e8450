"""A moto DynamoDB usage table that behaves like DynamoDB under concurrent writers."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

TABLE = "bkit-usage"
REGION = "us-west-2"


@pytest.fixture
def dynamo(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto DynamoDB client with the usage table, under fake credentials."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    # DynamoDB applies the writes to one item one at a time and a consistent read sees one whole
    # version of it; moto's backend changes an item in place without a lock, and loses
    # concurrent updates. Serialize its UpdateItem and give GetItem a snapshot taken under the
    # same lock (server side only: the clients' calls still run concurrently).
    atomic = threading.Lock()
    update_item = DynamoDBBackend.update_item
    get_item = DynamoDBBackend.get_item

    def serialized_update(*args: Any, **kwargs: Any) -> Any:
        with atomic:
            return update_item(*args, **kwargs)

    def snapshot_get(*args: Any, **kwargs: Any) -> Any:
        with atomic:
            return copy.deepcopy(get_item(*args, **kwargs))

    monkeypatch.setattr(DynamoDBBackend, "update_item", serialized_update)
    monkeypatch.setattr(DynamoDBBackend, "get_item", snapshot_get)
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "team", "KeyType": "HASH"},
                {"AttributeName": "period", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "team", "AttributeType": "S"},
                {"AttributeName": "period", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        yield client
