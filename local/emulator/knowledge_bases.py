"""Knowledge bases the emulator serves: a local folder stands in for each one's S3 data source.

The emulator speaks the wire protocol of `bedrock-agent` (StartIngestionJob, GetIngestionJob)
and `bedrock-agent-runtime` (Retrieve) for them. Ids are derived from the name, so the local
runner, the ingest command and the tests agree on them without sharing any state.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

# Bedrock's knowledge base, data source and ingestion job ids (bedrock-agent's `Id` shape).
ID_PATTERN = re.compile(r"[0-9a-zA-Z]{10}")
CHUNKING_STRATEGIES = ("FIXED_SIZE", "NONE")
_ID_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ID_LENGTH = 10


def derived_id(seed: str) -> str:
    """Return a 10-character [0-9A-Z] id derived from `seed` (the shape of Bedrock's ids)."""
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big")
    digits: list[str] = []
    for _ in range(_ID_LENGTH):
        number, digit = divmod(number, len(_ID_ALPHABET))
        digits.append(_ID_ALPHABET[digit])
    return "".join(digits)


def local_ids(name: str) -> tuple[str, str]:
    """Return the knowledge base id and data source id the emulator gives knowledge base `name`."""
    return derived_id(f"knowledge-base\0{name}"), derived_id(f"data-source\0{name}")


@dataclass(frozen=True, slots=True)
class LocalKnowledgeBase:
    """One knowledge base: its ids, the folder its documents come from, and how they are chunked.

    `bucket` only names the documents as Bedrock does (s3://<bucket>/<path in the folder>).
    Chunking follows Bedrock's FIXED_SIZE strategy (at most `chunk_max_tokens` tokens, adjacent
    chunks overlapping by `chunk_overlap_percent`) or NONE (one chunk per document).
    """

    name: str
    knowledge_base_id: str
    data_source_id: str
    folder: Path
    bucket: str
    chunk_max_tokens: int = 300
    chunk_overlap_percent: int = 20
    chunking: str = "FIXED_SIZE"

    def __post_init__(self) -> None:
        for label, value in (
            ("knowledge_base_id", self.knowledge_base_id),
            ("data_source_id", self.data_source_id),
        ):
            if not ID_PATTERN.fullmatch(value):
                raise ValueError(f"{label} must be 10 characters [0-9a-zA-Z], not {value!r}")
        if self.chunking not in CHUNKING_STRATEGIES:
            raise ValueError(f"chunking must be FIXED_SIZE or NONE, not {self.chunking!r}")
        # Bedrock's FixedSizeChunkingConfiguration bounds (maxTokens 1-8192); 0% overlap is
        # allowed here too (Bedrock asks for 1-99), so a test can chunk without overlap.
        if not 1 <= self.chunk_max_tokens <= 8192:
            raise ValueError("chunk_max_tokens must be from 1 to 8192")
        if not 0 <= self.chunk_overlap_percent <= 99:
            raise ValueError("chunk_overlap_percent must be from 0 to 99")
        if not self.name or not self.bucket:
            raise ValueError("a knowledge base needs a name and a bucket")

    @classmethod
    def named(
        cls,
        name: str,
        folder: Path,
        *,
        bucket: str | None = None,
        chunk_max_tokens: int = 300,
        chunk_overlap_percent: int = 20,
        chunking: str = "FIXED_SIZE",
    ) -> LocalKnowledgeBase:
        """Return knowledge base `name` over `folder` with the ids `local_ids(name)` gives."""
        knowledge_base_id, data_source_id = local_ids(name)
        return cls(
            name=name,
            knowledge_base_id=knowledge_base_id,
            data_source_id=data_source_id,
            folder=folder,
            bucket=bucket or f"local-kb-{name.lower()}",
            chunk_max_tokens=chunk_max_tokens,
            chunk_overlap_percent=chunk_overlap_percent,
            chunking=chunking,
        )

    def source_uri(self, relative: str) -> str:
        """Return the S3 URI Bedrock would give the document at `relative` in the folder."""
        return f"s3://{self.bucket}/{relative}"
