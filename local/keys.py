"""The kit's API keys with your own AWS credentials: `python -m local.keys --env dev create ...`.

Subcommands create, list, rotate and revoke work on the keys table of an environment (found
through the `BedrockKit-<env>-Stateful` stack's output, or named with --table). A key value is
printed once, at creation; the table keeps only the SHA-256 of its secret.
Exit codes: 0 done; 1 a usage or input problem (one line on stderr); 2 AWS refused or failed.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.authorizer.keys import (
    AUTHORIZER_CACHE_SECONDS,
    KEY_ID_BYTES,
    MAX_DESCRIPTION,
    DynamoItem,
    KeyRecord,
    KeyRecordError,
    KeyState,
    KeyValue,
    new_key,
    parse_key,
    secret_sha256,
)
from local.doctor import cannot_check
from local.stack_outputs import MissingOutput, output_value
from stacks.config import ConfigError, KitConfig, load_config

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient
    from mypy_boto3_dynamodb import DynamoDBClient

ROOT = Path(__file__).resolve().parent.parent
EXIT_OK, EXIT_USER, EXIT_AWS = 0, 1, 2
OUTPUT_PREFIX = "ApiKeysTable"
HOUR, DAY = 3600, 86_400
# `list` leaves out keys that stopped working longer ago than this, unless --all.
HIDE_AFTER_DAYS = 30
# The authorizer's result cache (stacks/components/key_authorizer.py): a revoked key may still
# pass for this long.
PUT_ATTEMPTS = 3
# Everything `list`, `rotate` and `revoke` read: never the secret's hash.
LISTED = {
    "#key_id": "key_id",
    "#team": "team",
    "#created": "created_at",
    "#expires": "expires_at",
    "#revoked": "revoked_at",
    "#description": "description",
    "#replaced": "replaced_by",
}
NOT_REVOKED = "attribute_exists(#key_id) AND attribute_not_exists(#revoked)"

Clock = Callable[[], float]


class UserError(Exception):
    """A problem the operator can fix; the message is the one line printed."""


class _Parser(argparse.ArgumentParser):
    """argparse that reports through UserError (exit 1) instead of exiting with 2."""

    def error(self, message: str) -> NoReturn:
        # argparse quotes what it did not understand, which may be a pasted key.
        raise UserError(_redacted(message))


def _int_range(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is not within {low}..{high}")
        return value

    return parse


def iso(epoch: int) -> str:
    """Format epoch seconds as ISO 8601 UTC, to the second."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _key_id(text: str) -> str:
    if parse_key(text) is not None:
        # Never echo it: it is a whole key, secret included.
        raise UserError("pass the key id (the 12 characters after bkit_), not the whole key")
    if len(text) != 2 * KEY_ID_BYTES or any(c not in "0123456789abcdef" for c in text):
        raise UserError(
            f"{_redacted(text)!r} is not a key id (12 lowercase hexadecimal characters)"
        )
    return text


# Anything that looks like (part of) a key value: a pasted or truncated key is never echoed.
_KEY_LIKE = re.compile(r"bkit_[0-9A-Za-z_]*")


def _redacted(text: str) -> str:
    """`text` with anything key-like replaced, for error messages."""
    return _KEY_LIKE.sub("bkit_<redacted>", text)


class KeysTable:
    """The operations on one environment's keys table, over an injected DynamoDB client."""

    def __init__(self, client: DynamoDBClient, name: str, clock: Clock, out: TextIO) -> None:
        self.client = client
        self.name = name
        self.clock = clock
        self.out = out

    def _now(self) -> int:
        return int(self.clock())

    def get(self, key_id: str) -> KeyRecord | None:
        """Read one key (strongly consistent), without its hash."""
        answer = self.client.get_item(
            TableName=self.name,
            Key={"key_id": {"S": key_id}},
            ConsistentRead=True,
            ProjectionExpression=", ".join(LISTED),
            ExpressionAttributeNames=LISTED,
        )
        item = answer.get("Item")
        return None if item is None else self._record(item)

    def _record(self, item: DynamoItem) -> KeyRecord:
        try:
            return KeyRecord.from_item(item)
        except KeyRecordError as error:
            raise UserError(f"table {self.name}: a broken key item: {error}") from None

    def _existing(self, key_id: str) -> KeyRecord:
        record = self.get(key_id)
        if record is None:
            raise UserError(f"no key {key_id} in table {self.name}")
        return record

    def create(self, team: str, days: int, description: str | None) -> KeyRecord:
        """Store a new key for `team` and print its value, once."""
        now = self._now()
        for _ in range(PUT_ATTEMPTS):
            key = new_key()
            record = KeyRecord(
                key_id=key.key_id,
                team=team,
                created_at=now,
                expires_at=now + days * DAY,
                secret_sha256=secret_sha256(key.secret),
                description=description,
            )
            try:
                self.client.put_item(
                    TableName=self.name,
                    Item=record.to_item(),
                    ConditionExpression="attribute_not_exists(key_id)",
                )
            except ClientError as error:
                # A 48-bit id collision: astronomically rare, and never an overwrite.
                if _error_code(error) == "ConditionalCheckFailedException":
                    continue
                raise
            self._print_new(key, record)
            return record
        raise UserError(f"no free key id after {PUT_ATTEMPTS} attempts: try again")

    def _print_new(self, key: KeyValue, record: KeyRecord) -> None:
        write = self.out.write
        write(f"Created key {record.key_id} for team {record.team}, ")
        write(f"expires {iso(record.expires_at)}.\n")
        write("Key value (shown only now, it will not be shown again; store it securely):\n")
        write(f"{key.value}\n")

    def records(self, team: str | None) -> list[KeyRecord]:
        """Every key of the table (or of one team), without hashes, by team then age."""
        pages = self.client.get_paginator("scan").paginate(
            TableName=self.name,
            ProjectionExpression=", ".join(LISTED),
            ExpressionAttributeNames=LISTED,
        )
        # A filter expression would read (and bill) the whole table all the same.
        records = [self._record(item) for page in pages for item in page.get("Items", [])]
        return sorted(
            (record for record in records if team is None or record.team == team),
            key=lambda record: (record.team, record.created_at, record.key_id),
        )

    def print_table(self, team: str | None, *, show_all: bool) -> None:
        """Print a table of keys: id, team, state, created, expires, description."""
        now = self._now()
        cutoff = now - HIDE_AFTER_DAYS * DAY
        records = self.records(team)
        shown = [
            record
            for record in records
            if show_all or record.state(now) is KeyState.ACTIVE or record.inactive_since() > cutoff
        ]
        rows = [("KEY ID", "TEAM", "STATUS", "CREATED", "EXPIRES", "DESCRIPTION")]
        rows += [
            (
                record.key_id,
                record.team,
                record.state(now).value,
                iso(record.created_at),
                iso(record.expires_at),
                record.description or "",
            )
            for record in shown
        ]
        if shown:
            widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
            for row in rows:
                line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
                self.out.write(line.rstrip() + "\n")
        else:
            self.out.write("No keys.\n")
        hidden = len(records) - len(shown)
        if hidden:
            self.out.write(
                f"{hidden} key(s) revoked or expired more than {HIDE_AFTER_DAYS} days ago "
                "not shown (--all shows them).\n"
            )

    def rotate(self, key_id: str, *, overlap_hours: int, days: int) -> KeyRecord:
        """Create the key's successor, then let the old key expire after the overlap."""
        old = self._existing(key_id)
        now = self._now()
        state = old.state(now)
        if state is not KeyState.ACTIVE:
            raise UserError(
                f"key {key_id} is {state.value}: nothing to rotate; create a new key with "
                f"`create --team {old.team}`"
            )
        new = self.create(old.team, days, old.description)
        expires_at = min(old.expires_at, now + overlap_hours * HOUR)
        try:
            self.client.update_item(
                TableName=self.name,
                Key={"key_id": {"S": key_id}},
                UpdateExpression="SET #expires = :expires, #replaced = :replaced",
                ConditionExpression=NOT_REVOKED,
                ExpressionAttributeNames={
                    "#key_id": "key_id",
                    "#revoked": "revoked_at",
                    "#expires": "expires_at",
                    "#replaced": "replaced_by",
                },
                ExpressionAttributeValues={
                    ":expires": {"N": str(expires_at)},
                    ":replaced": {"S": new.key_id},
                },
            )
        except ClientError as error:
            if _error_code(error) == "ConditionalCheckFailedException":
                raise UserError(
                    f"key {key_id} was revoked or deleted meanwhile; the new key {new.key_id} "
                    "above is active"
                ) from None
            raise
        self.out.write(
            f"Old key {key_id} now expires {iso(expires_at)} (replaced by {new.key_id}): "
            "move its callers to the new key before then.\n"
        )
        return new

    def revoke(self, key_id: str) -> None:
        """Revoke the key now; revoking a revoked key changes nothing."""
        now = self._now()
        try:
            answer = self.client.update_item(
                TableName=self.name,
                Key={"key_id": {"S": key_id}},
                UpdateExpression="SET #revoked = :now",
                ConditionExpression=NOT_REVOKED,
                ExpressionAttributeNames={"#key_id": "key_id", "#revoked": "revoked_at"},
                ExpressionAttributeValues={":now": {"N": str(now)}},
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if _error_code(error) != "ConditionalCheckFailedException":
                raise
            record = self._existing(key_id)
            self.out.write(
                f"Key {key_id} (team {record.team}) was already revoked at "
                f"{iso(record.revoked_at or 0)}: nothing to do.\n"
            )
            return
        team = answer.get("Attributes", {}).get("team", {}).get("S", "?")
        self.out.write(
            f"Revoked key {key_id} (team {team}). API Gateway may still accept it for up to "
            f"{AUTHORIZER_CACHE_SECONDS} seconds (the authorizer's result cache).\n"
        )


class _Session:
    """What the command line names: config, region, clients and table, each resolved once."""

    def __init__(
        self,
        args: argparse.Namespace,
        *,
        dynamodb: DynamoDBClient | None,
        cloudformation: CloudFormationClient | None,
    ) -> None:
        self.args = args
        self._dynamodb = dynamodb
        self._cloudformation = cloudformation
        self._config: KitConfig | None = None

    @property
    def config_path(self) -> Path:
        path: Path | None = self.args.config
        return path or ROOT / "config" / f"{self.args.env}.toml"

    def config(self) -> KitConfig:
        if self._config is None:
            try:
                self._config = load_config(self.config_path, self.args.env)
            except ConfigError as error:
                raise UserError(str(error)) from None
        return self._config

    def region(self) -> str | None:
        region: str | None = self.args.region
        return region or self.config().deployment.region

    def dynamodb(self) -> DynamoDBClient:
        if self._dynamodb is None:
            import boto3

            self._dynamodb = boto3.client("dynamodb", region_name=self.region())
        return self._dynamodb

    def cloudformation(self) -> CloudFormationClient:
        if self._cloudformation is None:
            import boto3

            self._cloudformation = boto3.client("cloudformation", region_name=self.region())
        return self._cloudformation

    def table_name(self) -> str:
        table: str | None = self.args.table
        return table or discover_table(self.cloudformation(), self.args.env)


def discover_table(client: CloudFormationClient, env: str) -> str:
    """The keys table named by the `ApiKeysTable...` output of `BedrockKit-<env>-Stateful`."""
    try:
        return output_value(client, env, OUTPUT_PREFIX, instead="pass --table")
    except MissingOutput as error:
        raise UserError(str(error)) from None


def _create(session: _Session, table: Callable[[], KeysTable]) -> None:
    args = session.args
    teams = [team.name for team in session.config().api.teams]
    if args.team not in teams:
        raise UserError(
            f"team {args.team!r} is not defined in {session.config_path}: its teams are "
            f"{', '.join(teams)}"
        )
    if args.description is not None and len(args.description) > MAX_DESCRIPTION:
        raise UserError(f"--description is longer than {MAX_DESCRIPTION} characters")
    table().create(args.team, args.expires_in_days, args.description)


def _list(session: _Session, table: Callable[[], KeysTable]) -> None:
    table().print_table(session.args.team, show_all=session.args.all)


def _rotate(session: _Session, table: Callable[[], KeysTable]) -> None:
    args = session.args
    key_id = _key_id(args.key_id)
    table().rotate(key_id, overlap_hours=args.overlap_hours, days=args.expires_in_days)


def _revoke(session: _Session, table: Callable[[], KeysTable]) -> None:
    table().revoke(_key_id(session.args.key_id))


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m local.keys", description="The kit's API keys.")
    parser.add_argument("--env", default="dev", help="environment (default: dev)")
    parser.add_argument("--config", type=Path, help="config file (default: config/<env>.toml)")
    parser.add_argument("--table", help="keys table name (default: from the Stateful stack)")
    parser.add_argument("--region", help="AWS region (default: the config's, then AWS_REGION)")
    commands = parser.add_subparsers(dest="command", required=True)
    days = _int_range(1, 730)

    create = commands.add_parser("create", help="create a key for a team (printed once)")
    create.add_argument("--team", required=True)
    create.add_argument("--expires-in-days", type=days, default=90, help="1..730 (default 90)")
    create.add_argument("--description", help=f"up to {MAX_DESCRIPTION} characters")
    create.set_defaults(run=_create)

    listing = commands.add_parser("list", help="list keys (never their values)")
    listing.add_argument("--team")
    listing.add_argument(
        "--all",
        action="store_true",
        help=f"also keys revoked or expired more than {HIDE_AFTER_DAYS} days ago",
    )
    listing.set_defaults(run=_list)

    rotate = commands.add_parser("rotate", help="replace a key; the old one works a while longer")
    rotate.add_argument("key_id")
    rotate.add_argument(
        "--overlap-hours", type=_int_range(0, 720), default=24, help="0..720 (default 24)"
    )
    rotate.add_argument("--expires-in-days", type=days, default=90, help="new key: 1..730")
    rotate.set_defaults(run=_rotate)

    revoke = commands.add_parser("revoke", help="revoke a key now")
    revoke.add_argument("key_id")
    revoke.set_defaults(run=_revoke)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    dynamodb: DynamoDBClient | None = None,
    cloudformation: CloudFormationClient | None = None,
    clock: Clock = time.time,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run one subcommand and return the exit code (clients and clock injectable for tests)."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    try:
        args = _parser().parse_args(argv)
        session = _Session(args, dynamodb=dynamodb, cloudformation=cloudformation)

        def table() -> KeysTable:
            return KeysTable(session.dynamodb(), session.table_name(), clock, out)

        args.run(session, table)
    except UserError as error:
        err.write(f"keys: {error}\n")
        return EXIT_USER
    except (ClientError, BotoCoreError) as error:
        hint = "pass --region, or set deployment.region in the config"
        err.write(f"keys: {cannot_check(error, region_hint=hint, endpoint='AWS')}\n")
        return EXIT_AWS
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
