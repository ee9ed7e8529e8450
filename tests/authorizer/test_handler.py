"""The authorizer moves the Bearer key to API Gateway and never accepts anything else."""

from __future__ import annotations

import pytest

from lambdas.authorizer.handler import UnauthorizedError, handler

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/api/POST/v1/chat/completions"


def test_bearer_key_becomes_the_usage_identifier_for_the_whole_stage() -> None:
    result = handler({"authorizationToken": "Bearer team-key-1", "methodArn": METHOD_ARN}, None)
    assert result["usageIdentifierKey"] == "team-key-1"
    (statement,) = result["policyDocument"]["Statement"]
    assert statement == {
        "Action": "execute-api:Invoke",
        "Effect": "Allow",
        "Resource": "arn:aws:execute-api:us-east-1:123456789012:abc123/api/*",
    }
    assert "team-key-1" not in result["principalId"]


@pytest.mark.parametrize("token", ["", "Bearer", "Bearer   ", "Basic abc", "team-key-1"])
def test_anything_but_a_bearer_key_is_unauthorized(token: str) -> None:
    with pytest.raises(UnauthorizedError, match=r"^Unauthorized$"):
        handler({"authorizationToken": token, "methodArn": METHOD_ARN}, None)
