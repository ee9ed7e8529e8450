"""`make run`'s knowledge bases: each config entry served by the emulator over local/kb/NAME."""

from __future__ import annotations

import io
import json
from pathlib import Path

from local.emulator.knowledge_bases import LocalKnowledgeBase
from local.ingest import ingest
from stacks.config import KitConfig
from stacks.config.knowledge_bases import Chunking, KnowledgeBaseConfig

ROOT = Path(__file__).resolve().parent.parent


def folder_of(kb: KnowledgeBaseConfig, root: Path = ROOT) -> Path:
    """Where the documents of `kb` are locally: its local_folder, else local/kb/NAME."""
    folder = Path(kb.local_folder) if kb.local_folder else Path("local") / "kb" / kb.name
    return folder if folder.is_absolute() else root / folder


def local_knowledge_bases(config: KitConfig, root: Path = ROOT) -> list[LocalKnowledgeBase]:
    """Every knowledge base of `config` as the emulator serves it (Kendra ones over a folder)."""
    return [
        LocalKnowledgeBase.named(
            kb.name,
            folder_of(kb, root),
            chunk_max_tokens=kb.chunk_max_tokens,
            chunk_overlap_percent=kb.chunk_overlap_percent,
            chunking="NONE" if kb.chunking is Chunking.NONE else "FIXED_SIZE",
        )
        for kb in config.knowledge_bases
    ]


def ids_json(knowledge_bases: list[LocalKnowledgeBase]) -> str:
    """GATEWAY_KNOWLEDGE_BASE_IDS for the emulator's knowledge bases."""
    return json.dumps({kb.name: kb.knowledge_base_id for kb in knowledge_bases})


def deployed_ids_json(config: KitConfig, region: str) -> str:
    """The ids of `config`'s deployed knowledge bases, from its Stateful stack's outputs."""
    import boto3

    from local.stack_outputs import output_value
    from stacks.components.knowledge_bases import knowledge_base_output_names

    cloudformation = boto3.client("cloudformation", region_name=region)
    instead = "set GATEWAY_KNOWLEDGE_BASE_IDS (JSON: name -> id)"
    return json.dumps(
        {
            kb.name: output_value(
                cloudformation,
                config.env_name,
                knowledge_base_output_names(kb.name)[0],
                instead=instead,
                exact=True,
            )
            for kb in config.knowledge_bases
        }
    )


def ingest_all(endpoint_url: str, knowledge_bases: list[LocalKnowledgeBase]) -> list[str]:
    """Index every local folder through the emulator, as `make ingest` would; one line each."""
    import boto3

    agent = boto3.client("bedrock-agent", region_name="us-east-1", endpoint_url=endpoint_url)
    lines = []
    for kb in knowledge_bases:
        job = ingest(
            agent, kb.knowledge_base_id, kb.data_source_id, out=io.StringIO(), poll_seconds=0.05
        )
        statistics = job.get("statistics") or {}
        indexed = statistics.get("numberOfNewDocumentsIndexed", 0)
        failed = statistics.get("numberOfDocumentsFailed", 0)
        lines.append(
            f"{kb.name}: {indexed} documents indexed, {failed} failed, from {kb.folder} "
            f"({job['status']})"
        )
    return lines
