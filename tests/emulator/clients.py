"""boto3 clients pointed at a local emulator, and how to read the error a call gets."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError


def make_client(url: str, region: str = "us-east-1", **config: Any) -> Any:
    """A bedrock-runtime client for the emulator at `url`, signing for `region`."""
    return boto3.client(
        "bedrock-runtime",
        region_name=region,
        endpoint_url=url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(**config),
    )


def error_of(call: Any, **kwargs: Any) -> tuple[str, int, str]:
    """Make the call, which must fail; return Bedrock's error code, HTTP status and message."""
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response
    return (
        error["Error"]["Code"],
        error["ResponseMetadata"]["HTTPStatusCode"],
        error["Error"]["Message"],
    )
