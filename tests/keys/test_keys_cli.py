"""`make keys` creates keys the authorizer accepts, shows each value once and never a hash."""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from lambdas.authorizer.handler import UnauthorizedError
from lambdas.authorizer.keys import KeyValue, parse_key
from local.keys import EXIT_AWS, EXIT_OK, EXIT_USER, iso, main
from tests.authorizer.helpers import (
    DAY,
    NOW,
    REGION,
    TABLE,
    USAGE_KEYS,
    UsageKeys,
    authorizer,
    bearer,
    create_keys_table,
    dynamodb,
    event,
)

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_dynamodb import DynamoDBClient

HOUR = 3600
KEY_VALUE = re.compile(r"bkit_[0-9a-f]{12}_[0-9a-f]{64}")
CONFIG = """\
[models]
enabled = ["amazon.nova-micro-v1:0"]

[api.teams.alpha]
throttle_rate_limit = 2
throttle_burst_limit = 4
quota_requests_per_day = 1000

[api.teams.beta]
throttle_rate_limit = 2
throttle_burst_limit = 4
quota_requests_per_day = 1000
"""
STACK = "BedrockKit-dev-Stateful"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    def created(self) -> KeyValue:
        """The one key value this run printed."""
        (value,) = KEY_VALUE.findall(self.out)
        key = parse_key(value)
        assert key is not None
        return key


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoDBClient]:
    """The keys table in moto, in the test region."""
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        client = dynamodb()
        create_keys_table(client)
        yield client


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "dev.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def keys(
    client: DynamoDBClient,
    config: Path,
    *argv: str,
    now: float = NOW,
    table: str | None = TABLE,
    cloudformation: CloudFormationClient | None = None,
) -> Run:
    """Run `python -m local.keys` in-process against `client` at the time `now`."""
    out, err = io.StringIO(), io.StringIO()
    options = ["--config", str(config), *(["--table", table] if table else [])]
    code = main(
        [*options, *argv],
        dynamodb=client,
        cloudformation=cloudformation,
        clock=lambda: now,
        out=out,
        err=err,
    )
    return Run(code, out.getvalue(), err.getvalue())


def items(client: DynamoDBClient) -> list[dict[str, dict[str, str]]]:
    return client.scan(TableName=TABLE)["Items"]  # type: ignore[return-value]


def allows(client: DynamoDBClient, key: KeyValue, now: float) -> bool:
    """Whether the authorizer, reading the same table at `now`, lets `key` in."""
    usage_keys = UsageKeys()
    usage_keys.stubber.add_response(
        "get_api_key", {"id": USAGE_KEYS["alpha"][0], "value": USAGE_KEYS["alpha"][1]}, None
    )
    result = authorizer(client, usage_keys, now=now).authorize(event(bearer(key)))
    return bool(result["policyDocument"]["Statement"][0]["Effect"] == "Allow")


def test_create_prints_the_value_once_and_stores_only_its_hash(
    table: DynamoDBClient, config: Path
) -> None:
    run = keys(table, config, "create", "--team", "alpha", "--description", "ci runner")

    assert run.code == EXIT_OK, run.err
    key = run.created()
    assert run.out.count(key.value) == 1
    assert run.out.count(key.secret) == 1
    assert "will not be shown again" in run.out
    assert f"key {key.key_id} for team alpha" in run.out
    assert f"expires {iso(NOW + 90 * DAY)}" in run.out
    (item,) = items(table)
    assert item == {
        "key_id": {"S": key.key_id},
        "team": {"S": "alpha"},
        "secret_sha256": {"S": hashlib.sha256(key.secret.encode()).hexdigest()},
        "created_at": {"N": str(NOW)},
        "expires_at": {"N": str(NOW + 90 * DAY)},
        "description": {"S": "ci runner"},
    }
    stored = [value for attribute in item.values() for value in attribute.values()]
    assert not any(key.secret in value for value in stored)


def test_created_key_is_allowed_by_the_authorizer(table: DynamoDBClient, config: Path) -> None:
    key = keys(table, config, "create", "--team", "alpha", "--expires-in-days", "1").created()

    assert allows(table, key, NOW + DAY - 1)
    assert not allows(table, key, NOW + DAY)


def test_create_refuses_a_team_the_config_does_not_define(
    table: DynamoDBClient, config: Path
) -> None:
    run = keys(table, config, "create", "--team", "gamma")

    assert run.code == EXIT_USER
    assert run.out == ""
    assert run.err.count("\n") == 1
    assert "'gamma'" in run.err
    assert "alpha, beta" in run.err
    assert items(table) == []


def test_create_reports_a_config_that_does_not_load(table: DynamoDBClient, tmp_path: Path) -> None:
    run = keys(table, tmp_path / "missing.toml", "create", "--team", "alpha")

    assert run.code == EXIT_USER
    assert "no such config file" in run.err


@pytest.mark.parametrize(
    "argv",
    [
        ["create", "--team", "alpha", "--expires-in-days", "0"],
        ["create", "--team", "alpha", "--expires-in-days", "731"],
        ["create", "--team", "alpha", "--expires-in-days", "soon"],
        ["create", "--team", "alpha", "--description", "x" * 201],
        ["create"],
        ["rotate", "0123456789ab", "--overlap-hours", "721"],
        ["delete", "0123456789ab"],
        [],
    ],
)
def test_bad_arguments_are_a_one_line_user_error(
    table: DynamoDBClient, config: Path, argv: list[str]
) -> None:
    run = keys(table, config, *argv)

    assert run.code == EXIT_USER
    assert run.err.startswith("keys: ")
    assert run.err.count("\n") == 1
    assert items(table) == []


def test_list_shows_each_state_and_never_a_hash_or_value(
    table: DynamoDBClient, config: Path
) -> None:
    active = keys(table, config, "create", "--team", "alpha", "--description", "web").created()
    revoked = keys(table, config, "create", "--team", "beta").created()
    expired = keys(table, config, "create", "--team", "beta", "--expires-in-days", "1").created()
    assert keys(table, config, "revoke", revoked.key_id, now=NOW + 1).code == EXIT_OK

    run = keys(table, config, "list", now=NOW + DAY)

    assert run.code == EXIT_OK, run.err
    lines = run.out.splitlines()
    assert lines[0].split() == ["KEY", "ID", "TEAM", "STATUS", "CREATED", "EXPIRES", "DESCRIPTION"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows[active.key_id][1:3] == ["alpha", "active"]
    assert rows[active.key_id][-1] == "web"
    assert rows[revoked.key_id][1:3] == ["beta", "revoked"]
    assert rows[expired.key_id][1:3] == ["beta", "expired"]
    assert rows[expired.key_id][3:5] == [iso(NOW), iso(NOW + DAY)]
    for item in items(table):
        assert item["secret_sha256"]["S"] not in run.out
    assert "bkit_" not in run.out


def test_list_hides_keys_gone_for_more_than_30_days_unless_all(
    table: DynamoDBClient, config: Path
) -> None:
    old = keys(table, config, "create", "--team", "alpha", "--expires-in-days", "1").created()
    recent = keys(table, config, "create", "--team", "alpha", "--expires-in-days", "20").created()
    beta = keys(table, config, "create", "--team", "beta").created()
    later = NOW + 40 * DAY

    default = keys(table, config, "list", now=later)
    every = keys(table, config, "list", "--all", now=later)
    alpha_only = keys(table, config, "list", "--team", "alpha", now=later)

    assert old.key_id not in default.out
    assert recent.key_id in default.out
    assert "1 key(s) revoked or expired more than 30 days ago not shown" in default.out
    assert old.key_id in every.out
    assert beta.key_id in default.out
    assert beta.key_id not in alpha_only.out


def test_rotation_keeps_both_keys_working_during_the_overlap_only(
    table: DynamoDBClient, config: Path
) -> None:
    old = keys(table, config, "create", "--team", "alpha").created()
    rotated_at = NOW + 10 * DAY

    run = keys(table, config, "rotate", old.key_id, "--overlap-hours", "24", now=rotated_at)

    assert run.code == EXIT_OK, run.err
    new = run.created()
    assert new.key_id != old.key_id
    assert "will not be shown again" in run.out
    assert f"now expires {iso(rotated_at + 24 * HOUR)}" in run.out
    during = rotated_at + 24 * HOUR - 1
    assert allows(table, old, during)
    assert allows(table, new, during)
    assert not allows(table, old, rotated_at + 24 * HOUR)
    assert allows(table, new, rotated_at + 24 * HOUR)
    old_item = table.get_item(TableName=TABLE, Key={"key_id": {"S": old.key_id}})["Item"]
    assert old_item["replaced_by"] == {"S": new.key_id}


def test_rotation_never_extends_the_old_key(table: DynamoDBClient, config: Path) -> None:
    old = keys(table, config, "create", "--team", "alpha", "--expires-in-days", "1").created()

    run = keys(table, config, "rotate", old.key_id, "--overlap-hours", "720")

    assert run.code == EXIT_OK, run.err
    assert f"now expires {iso(NOW + DAY)}" in run.out


@pytest.mark.parametrize(
    ("setup", "state"),
    [(["revoke"], "revoked"), ([], "expired")],
)
def test_rotation_refuses_a_key_that_no_longer_works(
    table: DynamoDBClient, config: Path, setup: list[str], state: str
) -> None:
    old = keys(table, config, "create", "--team", "alpha", "--expires-in-days", "1").created()
    if setup:
        keys(table, config, *setup, old.key_id)

    run = keys(table, config, "rotate", old.key_id, now=NOW + DAY)

    assert run.code == EXIT_USER
    assert f"key {old.key_id} is {state}" in run.err
    assert len(items(table)) == 1


def test_revoked_key_is_denied_and_revoking_again_changes_nothing(
    table: DynamoDBClient, config: Path
) -> None:
    key = keys(table, config, "create", "--team", "alpha").created()

    first = keys(table, config, "revoke", key.key_id, now=NOW + 60)
    again = keys(table, config, "revoke", key.key_id, now=NOW + 120)

    assert first.code == again.code == EXIT_OK
    assert f"Revoked key {key.key_id} (team alpha)" in first.out
    assert f"already revoked at {iso(NOW + 60)}" in again.out
    assert not allows(table, key, NOW + 61)
    (item,) = items(table)
    assert item["revoked_at"] == {"N": str(NOW + 60)}


@pytest.mark.parametrize("command", ["rotate", "revoke"])
def test_unknown_key_id_is_a_user_error_naming_it(
    table: DynamoDBClient, config: Path, command: str
) -> None:
    run = keys(table, config, command, "0123456789ab")

    assert run.code == EXIT_USER
    assert "no key 0123456789ab" in run.err
    assert items(table) == []


@pytest.mark.parametrize("command", ["rotate", "revoke"])
def test_a_whole_key_given_as_key_id_is_refused_without_echoing_it(
    table: DynamoDBClient, config: Path, command: str
) -> None:
    key = keys(table, config, "create", "--team", "alpha").created()

    run = keys(table, config, command, key.value)

    assert run.code == EXIT_USER
    assert "not the whole key" in run.err
    assert key.secret not in run.err
    assert allows(table, key, NOW)


def cloudformation(outputs: list[dict[str, str]] | None) -> tuple[CloudFormationClient, Stubber]:
    client = boto3.client("cloudformation", region_name=REGION)
    stubber = Stubber(client)
    expected = {"StackName": STACK}
    if outputs is None:
        stubber.add_client_error(
            "describe_stacks",
            "ValidationError",
            f"Stack with id {STACK} does not exist",
            expected_params=expected,
        )
    else:
        stack = {
            "StackName": STACK,
            "CreationTime": "2026-01-01T00:00:00Z",
            "StackStatus": "CREATE_COMPLETE",
            "Outputs": outputs,
        }
        stubber.add_response("describe_stacks", {"Stacks": [stack]}, expected)
    stubber.activate()
    return client, stubber


def test_table_is_found_through_the_stateful_stack_output(
    table: DynamoDBClient, config: Path
) -> None:
    client, stubber = cloudformation(
        [
            {"OutputKey": "ExportsOutputRefLogs", "OutputValue": "something-else"},
            {"OutputKey": "ApiKeysTableName5A1B2C3D", "OutputValue": TABLE},
        ]
    )

    run = keys(table, config, "create", "--team", "alpha", table=None, cloudformation=client)

    assert run.code == EXIT_OK, run.err
    stubber.assert_no_pending_responses()
    assert len(items(table)) == 1


@pytest.mark.parametrize(
    ("outputs", "problem"),
    [
        ([], f"stack {STACK} has no ApiKeysTable output"),
        (None, f"stack {STACK} does not exist"),
    ],
)
def test_missing_stack_or_output_says_deploy_first(
    table: DynamoDBClient, config: Path, outputs: list[dict[str, str]] | None, problem: str
) -> None:
    client, _ = cloudformation(outputs)

    run = keys(table, config, "list", table=None, cloudformation=client)

    assert run.code == EXIT_USER
    assert problem in run.err
    assert "deploy first" in run.err


def test_aws_errors_exit_2(table: DynamoDBClient, config: Path) -> None:
    run = keys(table, config, "list", table="no-such-table")

    assert run.code == EXIT_AWS
    assert "ResourceNotFoundException" in run.err


def test_no_authorizer_call_accepts_a_key_the_cli_never_created(table: DynamoDBClient) -> None:
    # Guards the helper above: a made-up key is refused, so `allows` proves something.
    with pytest.raises(UnauthorizedError):
        allows(table, KeyValue("0123456789ab", "0" * 64), NOW)


def test_a_pasted_or_truncated_key_is_never_echoed_in_an_error(
    table: DynamoDBClient, config: Path
) -> None:
    secret = "0123456789abcdef" * 4
    for argv in (
        ["revoke", f"bkit_0123456789ab_{secret}"[:-3]],  # truncated: not a key, not an id
        ["revoke", "Bearer", f"bkit_0123456789ab_{secret}"],  # argparse's "unrecognized"
    ):
        result = keys(table, config, *argv)
        assert result.code == EXIT_USER
        assert secret[:20] not in result.err and "bkit_<redacted>" in result.err
