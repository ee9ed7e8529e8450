"""Fixtures for the authorizer tests: fake AWS in us-west-2 (moto) and a fresh container."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from moto import mock_aws

from lambdas.authorizer.handler import current_authorizer

from .helpers import REGION, create_keys_table, dynamodb

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


@pytest.fixture(autouse=True)
def _fresh_container() -> Iterator[None]:
    """Each test starts as a cold container: no clients, no cached usage-plan key values."""
    current_authorizer.cache_clear()
    yield
    current_authorizer.cache_clear()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Dummy credentials in the test region, every call answered by moto."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        yield


@pytest.fixture
def table(aws: None) -> DynamoDBClient:
    """A DynamoDB client with the keys table created."""
    client = dynamodb()
    create_keys_table(client)
    return client
