"""The floor: the least a Lambda handler can do to answer a chat request with boto3.

It parses the API Gateway event's JSON body, calls Converse, and returns the answer as a proxy
result: no validation, routing, metering or logging. The gateway is measured against it.
"""

from __future__ import annotations

import json
from typing import Any

import boto3

client = boto3.client("bedrock-runtime")


def handler(event: dict[str, Any], _context: object = None) -> dict[str, Any]:
    """Answer one chat request from an API Gateway REST proxy event."""
    request = json.loads(event["body"])
    messages: Any = [
        {"role": message["role"], "content": [{"text": message["content"]}]}
        for message in request["messages"]
    ]
    answer = client.converse(modelId=request["model"], messages=messages)
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(answer["output"]),
    }
