"""An ingestion job's work: bring a knowledge base's index up to date with its folder.

Syncing is incremental, as on Bedrock: documents are compared with the previous index by the
hash of their bytes, and the statistics count only what was added, modified or deleted.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .kb_documents import Document, chunk_text, scan_folder
from .kb_search import EMPTY_INDEX, Chunk, SearchIndex
from .knowledge_bases import LocalKnowledgeBase

# Metadata Bedrock adds to every chunk it returns (seen in Retrieve answers; AWS lists them in
# no reference page). Filters may use them like any other attribute.
SOURCE_URI_KEY = "x-amz-bedrock-kb-source-uri"
CHUNK_ID_KEY = "x-amz-bedrock-kb-chunk-id"
DATA_SOURCE_ID_KEY = "x-amz-bedrock-kb-data-source-id"
# IngestionJobStatistics, in the service model's order.
STATISTICS = (
    "numberOfDocumentsScanned",
    "numberOfMetadataDocumentsScanned",
    "numberOfNewDocumentsIndexed",
    "numberOfModifiedDocumentsIndexed",
    "numberOfMetadataDocumentsModified",
    "numberOfDocumentsDeleted",
    "numberOfDocumentsFailed",
    "numberOfDocumentsSkipped",
)
NO_STATISTICS: Mapping[str, int] = MappingProxyType(dict.fromkeys(STATISTICS, 0))
_MAX_LISTED_SKIPS = 10


@dataclass(frozen=True, slots=True)
class IndexedDocument:
    """What the index remembers of a document to tell whether it changed."""

    content_hash: str
    metadata_hash: str | None


@dataclass(frozen=True, slots=True)
class Indexed:
    """A knowledge base's index: its documents by path in the folder, and their chunks."""

    documents: Mapping[str, IndexedDocument]
    search: SearchIndex


EMPTY: Indexed = Indexed(MappingProxyType({}), EMPTY_INDEX)


@dataclass(frozen=True, slots=True)
class Ingested:
    """The outcome of one job: the new index, the statistics and why documents failed."""

    indexed: Indexed
    statistics: Mapping[str, int]
    failure_reasons: tuple[str, ...]
    # False when the job as a whole failed (the index is then left as it was).
    complete: bool


def ingest(knowledge_base: LocalKnowledgeBase, previous: Indexed) -> Ingested:
    """Index `knowledge_base`'s folder, counting changes against `previous`."""
    folder = knowledge_base.folder
    try:
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder} is not a folder")
        scan = scan_folder(folder)
    except OSError as error:
        # Emulator's choice of wording; on Bedrock a job fails like this when it cannot list
        # the bucket.
        reason = f"The data source folder could not be read ({error}); nothing was ingested."
        return Ingested(previous, NO_STATISTICS, (reason,), complete=False)
    documents: dict[str, IndexedDocument] = {}
    chunks: list[Chunk] = []
    new = modified = metadata_modified = 0
    for document in scan.documents:
        before = previous.documents.get(document.relative)
        if before is None:
            new += 1
        else:
            modified += before.content_hash != document.content_hash
            metadata_modified += before.metadata_hash != document.metadata_hash
        documents[document.relative] = IndexedDocument(
            document.content_hash, document.metadata_hash
        )
        chunks.extend(_chunks(knowledge_base, document))
    failed = {relative for relative, _ in scan.failed}
    # Emulator's choice: a document that now fails leaves the index (it is counted as failed,
    # not deleted), so no stale text or metadata is served for it.
    deleted = sum(
        1 for relative in previous.documents if relative not in documents and relative not in failed
    )
    statistics = dict(
        zip(
            STATISTICS,
            (
                len(scan.documents) + len(scan.failed),
                scan.metadata_files,
                new,
                modified,
                metadata_modified,
                deleted,
                len(scan.failed),
                len(scan.skipped),
            ),
            strict=True,
        )
    )
    reasons = [f"{knowledge_base.source_uri(relative)}: {why}" for relative, why in scan.failed]
    if scan.skipped:
        shown = scan.skipped[:_MAX_LISTED_SKIPS]
        listed = ", ".join(knowledge_base.source_uri(path) for path in shown)
        hidden = len(scan.skipped) - len(shown)
        more = f" and {hidden} more" if hidden else ""
        reasons.append(
            f"Skipped {len(scan.skipped)} file(s) of a format Bedrock does not ingest: "
            f"{listed}{more}."
        )
    indexed = Indexed(MappingProxyType(documents), SearchIndex.of(chunks))
    return Ingested(indexed, MappingProxyType(statistics), tuple(reasons), complete=True)


def _chunks(knowledge_base: LocalKnowledgeBase, document: Document) -> list[Chunk]:
    uri = knowledge_base.source_uri(document.relative)
    texts = chunk_text(
        document.text,
        chunking=knowledge_base.chunking,
        max_tokens=knowledge_base.chunk_max_tokens,
        overlap_percent=knowledge_base.chunk_overlap_percent,
    )
    return [
        Chunk.of(
            text,
            uri,
            position,
            {
                **document.attributes,
                SOURCE_URI_KEY: uri,
                CHUNK_ID_KEY: _chunk_id(knowledge_base, document, position),
                DATA_SOURCE_ID_KEY: knowledge_base.data_source_id,
            },
        )
        for position, text in enumerate(texts)
    ]


def _chunk_id(knowledge_base: LocalKnowledgeBase, document: Document, position: int) -> str:
    # UUID-shaped and derived from the content: the same chunk keeps its id across syncs, and
    # a modified document's chunks get new ones.
    seed = f"{knowledge_base.data_source_id}\0{document.relative}\0{document.content_hash}"
    digest = hashlib.sha256(f"{seed}\0{position}".encode()).digest()
    return str(uuid.UUID(bytes=digest[:16]))
