"""A data source folder read as Bedrock reads an S3 data source: documents, metadata, chunks."""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

# Bedrock's S3 data source formats (user guide, "Set up a data source"). The emulator reads the
# text ones; the others fail their document, as they would need a parser the emulator lacks.
TEXT_SUFFIXES = frozenset({".txt", ".md", ".html", ".csv"})
BINARY_SUFFIXES = frozenset({".pdf", ".doc", ".docx", ".xls", ".xlsx"})
# `<document>.metadata.json` beside the document (user guide, "Set up a data source").
METADATA_SUFFIX = ".metadata.json"
# Bedrock's quotas: 50 MB per document, 10 KB per metadata file.
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
MAX_METADATA_BYTES = 10 * 1024
_WORD = re.compile(r"\S+")
# Tags whose start or end breaks a line, so words on either side of them stay apart.
_BLOCK_TAGS = frozenset(
    {"p", "div", "br", "li", "ul", "ol", "tr", "td", "th", "table", "h1", "h2", "h3", "h4"}
    | {"h5", "h6", "title", "section", "article", "header", "footer", "pre", "blockquote"}
)

MetadataValue = str | int | float | bool | list[str]


@dataclass(frozen=True, slots=True)
class Document:
    """One readable document: its path in the folder, its text and its metadata attributes."""

    relative: str
    content_hash: str
    # The hash of its metadata file's bytes; None without a metadata file.
    metadata_hash: str | None
    text: str
    attributes: Mapping[str, MetadataValue]


@dataclass(frozen=True, slots=True)
class FolderScan:
    """What one pass over a folder found."""

    documents: tuple[Document, ...]
    # Documents of a supported format that could not be indexed: (relative path, why).
    failed: tuple[tuple[str, str], ...]
    # Files of a format Bedrock does not ingest (metadata files aside).
    skipped: tuple[str, ...]
    # Metadata files of the documents scanned (readable or not).
    metadata_files: int


class UnreadableMetadataError(ValueError):
    """A metadata file Bedrock would refuse."""


def scan_folder(folder: Path) -> FolderScan:
    """Read every file under `folder` (which must exist), in path order."""
    documents: list[Document] = []
    failed: list[tuple[str, str]] = []
    skipped: list[str] = []
    metadata_files = 0
    files = sorted(path for path in folder.rglob("*") if path.is_file())
    for path in files:
        relative = path.relative_to(folder).as_posix()
        if relative.endswith(METADATA_SUFFIX):
            continue  # read with its document (a metadata file alone is not a document)
        suffix = path.suffix.lower()
        if suffix not in TEXT_SUFFIXES | BINARY_SUFFIXES:
            skipped.append(relative)
            continue
        sidecar = path.with_name(path.name + METADATA_SUFFIX)
        metadata_files += sidecar.is_file()
        if suffix in BINARY_SUFFIXES:
            failed.append(
                (
                    relative,
                    f"the local emulator reads only text formats "
                    f"({', '.join(sorted(TEXT_SUFFIXES))}), not {suffix} (Bedrock would parse "
                    f"it): convert it to one of those formats to search it locally",
                )
            )
            continue
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            failed.append((relative, "the document exceeds Bedrock's 50 MB quota per file"))
            continue
        try:
            attributes, metadata_hash = read_metadata(sidecar)
        except UnreadableMetadataError as error:
            failed.append((relative, f"its metadata file {sidecar.name} is invalid: {error}"))
            continue
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig", errors="replace")
        if suffix == ".html":
            text = html_text(text)
        content_hash = hashlib.sha256(raw).hexdigest()
        documents.append(Document(relative, content_hash, metadata_hash, text, attributes))
    return FolderScan(tuple(documents), tuple(failed), tuple(skipped), metadata_files)


def read_metadata(path: Path) -> tuple[Mapping[str, MetadataValue], str | None]:
    """Return a metadata file's attributes and the hash of its bytes ({} and None if absent)."""
    if not path.is_file():
        return {}, None
    raw = path.read_bytes()
    if len(raw) > MAX_METADATA_BYTES:
        raise UnreadableMetadataError("it exceeds Bedrock's 10 KB quota per metadata file")
    try:
        content = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UnreadableMetadataError(f"it is not JSON ({error})") from None
    attributes = content.get("metadataAttributes") if isinstance(content, dict) else None
    if not isinstance(attributes, dict):
        raise UnreadableMetadataError('it needs a "metadataAttributes" object')
    for key, value in attributes.items():
        if not 1 <= len(key) <= 100:
            raise UnreadableMetadataError(f"the key {key[:40]!r} is not 1 to 100 characters long")
        if not _is_attribute_value(value):
            raise UnreadableMetadataError(
                f"the value of {key!r} is not a string, number, boolean or list of strings"
            )
    return attributes, hashlib.sha256(raw).hexdigest()


def _is_attribute_value(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(isinstance(item, str) for item in value)
    return isinstance(value, str | int | bool)


def html_text(markup: str) -> str:
    """Return the text of an HTML document: tags, scripts and styles removed, entities decoded."""
    parser = _TextOfHtml()
    parser.feed(markup)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.pieces).splitlines())
    return "\n".join(line for line in lines if line)


class _TextOfHtml(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        elif tag in _BLOCK_TAGS:
            self.pieces.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCK_TAGS:
            self.pieces.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.pieces.append(data)


def chunk_text(text: str, *, chunking: str, max_tokens: int, overlap_percent: int) -> list[str]:
    """Split `text` as Bedrock's chunking strategy does (tokens here: whitespace-separated words).

    FIXED_SIZE: chunks of at most `max_tokens` words, each starting `overlap_percent` of a chunk
    before the previous one ends; NONE: the whole text as one chunk. Blank text has no chunks.
    A chunk keeps the text's own line breaks between its first and last word.
    """
    words = list(_WORD.finditer(text))
    if not words:
        return []
    if chunking == "NONE":
        return [text.strip()]
    overlap = max_tokens * overlap_percent // 100
    step = max(1, max_tokens - overlap)
    chunks: list[str] = []
    start = 0
    while True:
        end = min(start + max_tokens, len(words))
        chunks.append(text[words[start].start() : words[end - 1].end()])
        if end == len(words):
            return chunks
        start += step
