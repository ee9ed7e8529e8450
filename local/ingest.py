"""`make ingest KB=NAME`: sync a knowledge base with its documents and report what changed.

Starts an ingestion job (bedrock-agent StartIngestionJob) on the knowledge base's data source,
waits for it and prints its statistics and failures. Against AWS (your credentials) the ids
come from the Stateful stack's outputs; with --endpoint-url (the local emulator of `make run`)
they are the emulator's ids for the name.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.gateway.knowledge_bases import KnowledgeBaseKind
from local.doctor import cannot_check
from local.stack_outputs import MissingOutput, output_value
from stacks.components.knowledge_bases import knowledge_base_output_names
from stacks.config import ConfigError, load_config

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

ROOT = Path(__file__).resolve().parent.parent
EXIT_OK, EXIT_FAILED, EXIT_AWS = 0, 1, 2
# Ingestion job states after which nothing changes any more (bedrock-agent IngestionJob).
FINAL_STATES = frozenset({"COMPLETE", "FAILED", "STOPPED"})
# What each statistic counts, in the order printed (bedrock-agent IngestionJobStatistics).
STATISTICS = (
    ("numberOfDocumentsScanned", "documents scanned"),
    ("numberOfNewDocumentsIndexed", "new documents indexed"),
    ("numberOfModifiedDocumentsIndexed", "modified documents indexed"),
    ("numberOfDocumentsDeleted", "documents deleted"),
    ("numberOfDocumentsFailed", "documents failed"),
    ("numberOfMetadataDocumentsScanned", "metadata files scanned"),
    ("numberOfMetadataDocumentsModified", "metadata files modified"),
)


class IngestError(Exception):
    """A problem the operator can fix; the message is the one line printed."""


def ingest(
    agent: Any,
    knowledge_base_id: str,
    data_source_id: str,
    *,
    out: TextIO,
    timeout_seconds: float = 3600,
    poll_seconds: float = 5,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Start one ingestion job, wait for its end (or the timeout) and return the job."""
    try:
        started = agent.start_ingestion_job(
            knowledgeBaseId=knowledge_base_id,
            dataSourceId=data_source_id,
            description="bedrock-kit: make ingest",
        )["ingestionJob"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ConflictException":
            raise IngestError(
                "an ingestion job of this data source is already running (Bedrock runs one at "
                "a time per data source): wait for it, then run make ingest again"
            ) from None
        raise
    job_id = started["ingestionJobId"]
    out.write(f"Started ingestion job {job_id} ({started['status']}).\n")
    deadline = clock() + timeout_seconds
    job: dict[str, Any] = started
    status = str(started["status"])
    while status not in FINAL_STATES:
        if clock() >= deadline:
            raise IngestError(
                f"ingestion job {job_id} is still {status} after {timeout_seconds:g} s; it goes "
                "on in Bedrock (pass --timeout to wait longer)"
            )
        sleep(poll_seconds)
        job = agent.get_ingestion_job(
            knowledgeBaseId=knowledge_base_id, dataSourceId=data_source_id, ingestionJobId=job_id
        )["ingestionJob"]
        if job["status"] != status:
            status = str(job["status"])
            out.write(f"  {status}\n")
    return job


def report(job: dict[str, Any], out: TextIO) -> int:
    """Print the job's outcome, counts and failures; return the exit code it deserves."""
    statistics = job.get("statistics") or {}
    out.write(f"Ingestion job {job['ingestionJobId']}: {job['status']}\n")
    for key, label in STATISTICS:
        out.write(f"  {statistics.get(key, 0):>8}  {label}\n")
    for reason in job.get("failureReasons") or ():
        out.write(f"  failure: {reason}\n")
    failed = int(statistics.get("numberOfDocumentsFailed", 0))
    return EXIT_OK if job["status"] == "COMPLETE" and not failed else EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="make ingest", description=__doc__)
    parser.add_argument("--kb", required=True, help="the knowledge base's name in config")
    parser.add_argument("--env", default="dev", help="config/<env>.toml (default dev)")
    parser.add_argument("--config", type=Path, help="another config file for the environment")
    parser.add_argument("--region", help="default: deployment.region of the config")
    parser.add_argument(
        "--endpoint-url", help="a local Bedrock emulator (the one `make run` prints)"
    )
    parser.add_argument("--timeout", type=float, default=3600, help="seconds to wait (3600)")
    parser.add_argument("--poll", type=float, default=5, help="seconds between checks (5)")
    return parser


def _ids(
    args: argparse.Namespace, region: str | None, cloudformation: CloudFormationClient | None
) -> tuple[str, str]:
    if args.endpoint_url:
        from local.emulator.knowledge_bases import local_ids

        return local_ids(args.kb)
    if cloudformation is None:
        import boto3

        cloudformation = boto3.client("cloudformation", region_name=region)
    id_key, source_key, _bucket = knowledge_base_output_names(args.kb)
    try:
        return (
            output_value(cloudformation, args.env, id_key, instead="check ENV", exact=True),
            output_value(cloudformation, args.env, source_key, instead="check ENV", exact=True),
        )
    except MissingOutput as error:
        raise IngestError(str(error)) from None


def main(
    argv: Sequence[str] | None = None,
    *,
    agent: Any = None,
    cloudformation: CloudFormationClient | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run `make ingest`; clients and sleep injectable for tests."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config or ROOT / "config" / f"{args.env}.toml", args.env)
        known = {kb.name: kb for kb in config.knowledge_bases}
        kb = known.get(args.kb)
        if kb is None:
            names = ", ".join(sorted(known)) or "none"
            raise IngestError(
                f"{args.kb!r} is not a knowledge base of {config.source} (it has: {names})"
            )
        if kb.kind is KnowledgeBaseKind.KENDRA:
            raise IngestError(
                f"{args.kb} is a Kendra knowledge base: its documents are synced by the Kendra "
                "index's own data sources, not by Bedrock"
            )
        region = args.region or config.deployment.region
        knowledge_base_id, data_source_id = _ids(args, region, cloudformation)
        if agent is None:
            import boto3

            agent = boto3.client(
                "bedrock-agent", region_name=region or "us-east-1", endpoint_url=args.endpoint_url
            )
        out.write(f"Knowledge base {args.kb} ({knowledge_base_id}), data source {data_source_id}\n")
        job = ingest(
            agent,
            knowledge_base_id,
            data_source_id,
            out=out,
            timeout_seconds=args.timeout,
            poll_seconds=args.poll,
            sleep=sleep,
        )
        return report(job, out)
    except (ConfigError, IngestError) as error:
        err.write(f"ingest: {error}\n")
        return EXIT_FAILED
    except (ClientError, BotoCoreError) as error:
        hint = "pass --region, or set deployment.region in the config"
        where = args.endpoint_url or "AWS"
        err.write(f"ingest: {cannot_check(error, region_hint=hint, endpoint=where)}\n")
        return EXIT_AWS


if __name__ == "__main__":
    sys.exit(main())
