"""Token authorizer: `Authorization: Bearer <key>` becomes the usage-plan API key.

API Gateway (API key source AUTHORIZER) then validates the key against the usage plans, applies
their throttles and quotas, and answers 403 for an unknown key. This function never logs,
stores or compares the key: it only moves it from the header to where API Gateway looks.
"""

from __future__ import annotations

from typing import Any


class UnauthorizedError(Exception):
    """Raised with the exact message API Gateway maps to a 401 answer."""


def handler(event: dict[str, Any], _context: object) -> dict[str, Any]:
    """Return an Allow policy for the whole stage, carrying the key as usageIdentifierKey."""
    scheme, _, key = str(event.get("authorizationToken", "")).partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise UnauthorizedError("Unauthorized")
    # methodArn: arn:aws:execute-api:REGION:ACCOUNT:API_ID/STAGE/METHOD/PATH. The answer is
    # cached per key, so it must allow every method of the stage, not just this one.
    api_and_stage = "/".join(str(event["methodArn"]).split("/")[:2])
    return {
        "principalId": "api-key-caller",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow",
                    "Resource": f"{api_and_stage}/*",
                }
            ],
        },
        "usageIdentifierKey": key,
    }
