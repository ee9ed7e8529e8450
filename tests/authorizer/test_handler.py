"""The authorizer lets in only valid keys of configured teams, fails closed, leaks nothing."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber

from lambdas.authorizer.handler import (
    ConfigurationError,
    UnauthorizedError,
    current_authorizer,
    handler,
)
from lambdas.authorizer.keys import KeyRecordError, KeyValue, new_key, parse_bearer

from .helpers import (
    DAY,
    METHOD_ARN,
    NOW,
    STAGE_RESOURCE,
    TABLE,
    USAGE_KEYS,
    UsageKeys,
    authorizer,
    bearer,
    dynamodb,
    event,
    put_key,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def decisions(output: str) -> list[dict[str, Any]]:
    """The JSON lines the authorizer wrote."""
    return [json.loads(line) for line in output.splitlines() if line.startswith("{")]


def deny_of(result: dict[str, Any]) -> tuple[str, dict[str, str]]:
    (statement,) = result["policyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Resource"] == STAGE_RESOURCE
    assert "usageIdentifierKey" not in result
    return result["principalId"], result["context"]


def test_valid_key_is_allowed_on_the_whole_stage_as_its_team_with_its_usage_plan_key(
    table: DynamoDBClient, capsys: pytest.CaptureFixture[str]
) -> None:
    key = put_key(table, "alpha")
    usage_keys = UsageKeys().expect("alpha")

    result = authorizer(table, usage_keys).authorize(event(bearer(key)))

    assert result["principalId"] == "alpha"
    assert result["policyDocument"] == {
        "Version": "2012-10-17",
        "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": STAGE_RESOURCE}
        ],
    }
    assert result["context"] == {"team": "alpha", "key_id": key.key_id}
    assert result["usageIdentifierKey"] == USAGE_KEYS["alpha"][1]
    usage_keys.assert_all_called()
    assert decisions(capsys.readouterr().out) == [
        {
            "type": "authorizer.decision",
            "key_id": key.key_id,
            "team": "alpha",
            "outcome": "allow",
            "reason": None,
        }
    ]


def test_key_is_looked_up_consistently_and_only_for_the_attributes_the_decision_needs() -> None:
    usage_keys = UsageKeys()
    client = dynamodb()
    key = new_key()
    with Stubber(client) as stubber:
        stubber.add_response(
            "get_item",
            {},
            {
                "TableName": TABLE,
                "Key": {"key_id": {"S": key.key_id}},
                "ConsistentRead": True,
                "ProjectionExpression": "#key_id, #team, #hash, #created, #expires, #revoked",
                "ExpressionAttributeNames": {
                    "#key_id": "key_id",
                    "#team": "team",
                    "#hash": "secret_sha256",
                    "#created": "created_at",
                    "#expires": "expires_at",
                    "#revoked": "revoked_at",
                },
            },
        )
        with pytest.raises(UnauthorizedError):
            authorizer(client, usage_keys).authorize(event(bearer(key)))
        stubber.assert_no_pending_responses()


def test_wrong_secret_is_unauthorized(
    table: DynamoDBClient, capsys: pytest.CaptureFixture[str]
) -> None:
    key = put_key(table, "alpha")
    wrong = KeyValue(key.key_id, new_key().secret)

    with pytest.raises(UnauthorizedError, match=r"^Unauthorized$"):
        authorizer(table, UsageKeys()).authorize(event(bearer(wrong)))

    (line,) = decisions(capsys.readouterr().out)
    assert line["outcome"] == "unauthorized"
    assert line["reason"] == "wrong_secret"
    assert line["key_id"] == key.key_id


def test_unknown_key_id_is_unauthorized(
    table: DynamoDBClient, capsys: pytest.CaptureFixture[str]
) -> None:
    put_key(table, "alpha")
    unknown = new_key()

    with pytest.raises(UnauthorizedError, match=r"^Unauthorized$"):
        authorizer(table, UsageKeys()).authorize(event(bearer(unknown)))

    (line,) = decisions(capsys.readouterr().out)
    assert (line["outcome"], line["reason"], line["key_id"]) == (
        "unauthorized",
        "unknown_key",
        unknown.key_id,
    )


VALID = new_key().value


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer"])
def test_the_scheme_is_case_insensitive_as_http_says(scheme: str) -> None:
    key = parse_bearer(f"{scheme} {VALID}")
    assert key is not None and key.value == VALID


@pytest.mark.parametrize(
    "token",
    [
        "",
        "Bearer",
        "Bearer ",
        "team-key-1",  # an old-style plain key, no scheme
        "Bearer team-key-1",  # an old-style plain key
        "Bearer 0123456789abcdefghij0123456789",
        f"Basic {VALID}",
        VALID,
        f"Bearer  {VALID}",
        f"Bearer {VALID} ",
        f"Bearer {VALID}\n",
        f"Bearer {VALID.upper()}",
        f"Bearer {VALID[:-1]}",
        f"Bearer {VALID}0",
        f"Bearer {VALID.replace('bkit_', 'bkey_')}",
        f"Bearer {VALID}, Bearer {VALID}",
    ],
)
def test_malformed_token_is_unauthorized_without_a_lookup(
    token: str, capsys: pytest.CaptureFixture[str]
) -> None:
    client = dynamodb()
    # Nothing queued: any DynamoDB call would fail the test.
    with Stubber(client), pytest.raises(UnauthorizedError, match=r"^Unauthorized$"):
        authorizer(client, UsageKeys()).authorize(event(token))

    (line,) = decisions(capsys.readouterr().out)
    assert line == {
        "type": "authorizer.decision",
        "key_id": None,
        "team": None,
        "outcome": "unauthorized",
        "reason": "malformed",
    }


@pytest.mark.parametrize("token", [None, 42])
def test_missing_token_is_unauthorized(token: object) -> None:
    with pytest.raises(UnauthorizedError, match=r"^Unauthorized$"):
        authorizer(None, UsageKeys()).authorize(  # type: ignore[arg-type]
            {"type": "TOKEN", "authorizationToken": token, "methodArn": METHOD_ARN}
        )


def test_key_is_expired_from_the_instant_expires_at_is_reached(table: DynamoDBClient) -> None:
    expires_at = NOW + DAY
    key = put_key(table, "alpha", expires_at=expires_at)

    last_second = authorizer(table, UsageKeys().expect("alpha"), now=expires_at - 0.001)
    assert last_second.authorize(event(bearer(key)))["principalId"] == "alpha"
    result = authorizer(table, UsageKeys(), now=expires_at).authorize(event(bearer(key)))

    assert deny_of(result) == ("alpha", {"reason": "expired", "key_id": key.key_id})


def test_revoked_key_is_denied_even_before_it_expires(
    table: DynamoDBClient, capsys: pytest.CaptureFixture[str]
) -> None:
    key = put_key(table, "alpha", revoked_at=NOW - 60)

    result = authorizer(table, UsageKeys()).authorize(event(bearer(key)))

    assert deny_of(result) == ("alpha", {"reason": "revoked", "key_id": key.key_id})
    (line,) = decisions(capsys.readouterr().out)
    assert (line["outcome"], line["reason"], line["team"]) == ("deny", "revoked", "alpha")


def test_revoked_and_expired_key_reports_revoked(table: DynamoDBClient) -> None:
    key = put_key(table, "alpha", expires_at=NOW - DAY, revoked_at=NOW - 2 * DAY)

    result = authorizer(table, UsageKeys()).authorize(event(bearer(key)))

    assert deny_of(result)[1]["reason"] == "revoked"


def test_revoked_key_with_a_wrong_secret_reveals_nothing_about_its_state(
    table: DynamoDBClient,
) -> None:
    key = put_key(table, "alpha", revoked_at=NOW - 60)

    with pytest.raises(UnauthorizedError, match=r"^Unauthorized$"):
        authorizer(table, UsageKeys()).authorize(
            event(bearer(KeyValue(key.key_id, new_key().secret)))
        )


def test_key_of_a_team_without_a_usage_plan_is_denied_as_team_not_configured(
    table: DynamoDBClient,
) -> None:
    key = put_key(table, "gamma")
    usage_keys = UsageKeys()  # nothing queued: no GetApiKey for this team

    result = authorizer(table, usage_keys).authorize(event(bearer(key)))

    assert deny_of(result) == ("gamma", {"reason": "team_not_configured", "key_id": key.key_id})
    usage_keys.assert_all_called()


def test_missing_keys_table_fails_closed_with_the_error(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    key = new_key()
    no_table = dynamodb()

    with pytest.raises(ClientError) as caught:
        authorizer(no_table, UsageKeys()).authorize(event(bearer(key)))

    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"
    (line,) = decisions(capsys.readouterr().out)
    assert line["type"] == "authorizer.error"
    assert line["key_id"] == key.key_id
    assert "ResourceNotFoundException" in line["reason"]


def test_unreachable_dynamodb_fails_closed(
    table: DynamoDBClient, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key = put_key(table, "alpha")

    def unreachable(**_: object) -> None:
        raise EndpointConnectionError(endpoint_url="https://dynamodb.us-west-2.amazonaws.com")

    monkeypatch.setattr(table, "get_item", unreachable)
    with pytest.raises(EndpointConnectionError):
        authorizer(table, UsageKeys()).authorize(event(bearer(key)))

    output = capsys.readouterr().out
    assert [line["type"] for line in decisions(output)] == ["authorizer.error"]
    assert '"allow"' not in output


def test_throttled_dynamodb_fails_closed(table: DynamoDBClient) -> None:
    key = put_key(table, "alpha")
    with Stubber(table) as stubber:
        stubber.add_client_error("get_item", "ProvisionedThroughputExceededException")
        with pytest.raises(ClientError):
            authorizer(table, UsageKeys()).authorize(event(bearer(key)))


def test_usage_plan_key_lookup_failure_fails_closed(table: DynamoDBClient) -> None:
    key = put_key(table, "alpha")
    usage_keys = UsageKeys()
    usage_keys.stubber.add_client_error("get_api_key", "NotFoundException")

    with pytest.raises(ClientError):
        authorizer(table, usage_keys).authorize(event(bearer(key)))


def test_item_without_an_expiry_fails_closed(table: DynamoDBClient) -> None:
    key = put_key(table, "alpha")
    table.update_item(
        TableName=TABLE, Key={"key_id": {"S": key.key_id}}, UpdateExpression="REMOVE expires_at"
    )

    with pytest.raises(KeyRecordError, match="expires_at"):
        authorizer(table, UsageKeys()).authorize(event(bearer(key)))


def test_usage_plan_key_value_is_fetched_once_per_team_per_container(
    table: DynamoDBClient,
) -> None:
    alpha, alpha_2, beta = put_key(table, "alpha"), put_key(table, "alpha"), put_key(table, "beta")
    usage_keys = UsageKeys().expect("alpha", "beta")  # one answer each, in first-use order
    container = authorizer(table, usage_keys)

    results = [container.authorize(event(bearer(key))) for key in (alpha, alpha_2, beta, alpha)]
    results.append(container.authorize(event(bearer(beta))))

    assert [r["usageIdentifierKey"] for r in results] == [
        USAGE_KEYS[team][1] for team in ("alpha", "alpha", "beta", "alpha", "beta")
    ]
    usage_keys.assert_all_called()


def test_secret_is_compared_in_constant_time(
    table: DynamoDBClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = put_key(table, "alpha")
    calls: list[tuple[object, object]] = []
    original = hmac.compare_digest

    def recording(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    authorizer(table, UsageKeys().expect("alpha")).authorize(event(bearer(key)))

    expected = hashlib.sha256(key.secret.encode()).hexdigest().encode()
    assert calls == [(expected, expected)]


def test_no_token_secret_or_usage_plan_key_value_ever_reaches_the_logs(
    table: DynamoDBClient,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = put_key(table, "alpha")
    expired = put_key(table, "alpha", expires_at=NOW - 1)
    wrong = KeyValue(good.key_id, new_key().secret)
    container = authorizer(table, UsageKeys().expect("alpha"))

    container.authorize(event(bearer(good)))
    container.authorize(event(bearer(expired)))
    for token in (bearer(wrong), f"Basic {good.value}", f"Bearer {good.secret}"):
        with pytest.raises(UnauthorizedError):
            container.authorize(event(token))

    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert len(decisions(captured.out)) == 5
    for secret in (good.secret, expired.secret, wrong.secret, USAGE_KEYS["alpha"][1]):
        assert secret not in logged
    assert "bkit_" not in logged


def test_handler_reads_its_configuration_from_the_environment_once_per_container(
    table: DynamoDBClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = put_key(table, "alpha")
    monkeypatch.setenv("KEYS_TABLE_NAME", TABLE)
    monkeypatch.setenv("TEAM_USAGE_KEY_IDS", json.dumps({"alpha": USAGE_KEYS["alpha"][0]}))
    container = current_authorizer()
    container.clock = lambda: NOW
    usage_keys = Stubber(container.apigateway)
    key_id, value = USAGE_KEYS["alpha"]
    usage_keys.add_response("get_api_key", {"id": key_id, "value": value}, None)
    usage_keys.activate()

    first = handler(event(bearer(key)), None)
    second = handler(event(bearer(key)), None)

    assert current_authorizer() is container
    assert first["usageIdentifierKey"] == second["usageIdentifierKey"] == value
    usage_keys.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("environment", "problem"),
    [
        ({"TEAM_USAGE_KEY_IDS": "{}"}, "KEYS_TABLE_NAME is not set"),
        ({"KEYS_TABLE_NAME": TABLE}, "TEAM_USAGE_KEY_IDS is not set to a JSON object"),
        ({"KEYS_TABLE_NAME": TABLE, "TEAM_USAGE_KEY_IDS": "[]"}, "TEAM_USAGE_KEY_IDS must be"),
        (
            {"KEYS_TABLE_NAME": TABLE, "TEAM_USAGE_KEY_IDS": '{"alpha": 3}'},
            "TEAM_USAGE_KEY_IDS must be",
        ),
    ],
)
def test_incomplete_environment_fails_every_call_and_says_why(
    environment: dict[str, str],
    problem: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name in ("KEYS_TABLE_NAME", "TEAM_USAGE_KEY_IDS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    with pytest.raises(ConfigurationError, match=problem):
        handler(event(bearer(new_key())), None)

    (line,) = decisions(capsys.readouterr().out)
    assert line["type"] == "authorizer.error"
    assert problem in line["reason"]
