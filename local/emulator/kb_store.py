"""The emulator's knowledge bases at run time: each one's index and ingestion jobs, thread-safe."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .kb_ingest import EMPTY, NO_STATISTICS, Indexed, ingest
from .kb_search import SearchIndex
from .knowledge_bases import LocalKnowledgeBase, derived_id


@dataclass(frozen=True, slots=True)
class IngestionJob:
    """One ingestion job, as GetIngestionJob reports it."""

    knowledge_base_id: str
    data_source_id: str
    ingestion_job_id: str
    status: str
    started_at: datetime
    updated_at: datetime
    statistics: Mapping[str, int]
    failure_reasons: tuple[str, ...] = ()
    description: str | None = None

    def as_started(self) -> IngestionJob:
        """Return the job as StartIngestionJob reports it: just started, nothing counted yet."""
        return dataclasses.replace(
            self,
            status="STARTING",
            updated_at=self.started_at,
            statistics=NO_STATISTICS,
            failure_reasons=(),
        )

    def to_wire(self) -> dict[str, Any]:
        """Return the IngestionJob structure of the service model."""
        body: dict[str, Any] = {
            "knowledgeBaseId": self.knowledge_base_id,
            "dataSourceId": self.data_source_id,
            "ingestionJobId": self.ingestion_job_id,
            "status": self.status,
            "statistics": dict(self.statistics),
            "startedAt": _timestamp(self.started_at),
            "updatedAt": _timestamp(self.updated_at),
        }
        if self.failure_reasons:
            body["failureReasons"] = list(self.failure_reasons)
        if self.description is not None:
            body["description"] = self.description
        return body


def _timestamp(moment: datetime) -> str:
    # bedrock-agent's DateTimestamp shape is iso8601 on the wire.
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(slots=True)
class _Held:
    config: LocalKnowledgeBase
    indexed: Indexed = EMPTY
    jobs: dict[str, IngestionJob] = dataclasses.field(default_factory=dict)
    # clientToken -> the job it started (StartIngestionJob is idempotent on it).
    tokens: dict[str, str] = dataclasses.field(default_factory=dict)
    # One job at a time per knowledge base: each job counts changes against the last one.
    ingesting: threading.Lock = dataclasses.field(default_factory=threading.Lock)


class KnowledgeBaseStore:
    """Every registered knowledge base, empty until an ingestion job indexes its folder."""

    def __init__(self, knowledge_bases: Sequence[LocalKnowledgeBase] = ()) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, _Held] = {}
        names: set[str] = set()
        for knowledge_base in knowledge_bases:
            if knowledge_base.knowledge_base_id in self._held or knowledge_base.name in names:
                raise ValueError(
                    f"knowledge base {knowledge_base.name!r} "
                    f"({knowledge_base.knowledge_base_id}) is registered twice"
                )
            names.add(knowledge_base.name)
            self._held[knowledge_base.knowledge_base_id] = _Held(knowledge_base)
        self._jobs_started = 0

    @property
    def knowledge_bases(self) -> tuple[LocalKnowledgeBase, ...]:
        """Return the registered knowledge bases, in registration order."""
        return tuple(held.config for held in self._held.values())

    def find(self, knowledge_base_id: str) -> LocalKnowledgeBase | None:
        """Return the knowledge base with this id, if registered."""
        held = self._held.get(knowledge_base_id)
        return held.config if held is not None else None

    def search_index(self, knowledge_base_id: str) -> SearchIndex:
        """Return a registered knowledge base's current index (an immutable snapshot)."""
        held = self._held[knowledge_base_id]
        with self._lock:
            return held.indexed.search

    def start_ingestion(
        self,
        knowledge_base_id: str,
        *,
        client_token: str | None = None,
        description: str | None = None,
    ) -> tuple[IngestionJob, bool]:
        """Run an ingestion job to its end; return it and whether it is new.

        A client token already used returns its earlier job and runs nothing (documented:
        "If this token matches a previous request, Amazon Bedrock ignores the request").
        """
        held = self._held[knowledge_base_id]
        with held.ingesting:
            with self._lock:
                if client_token is not None and client_token in held.tokens:
                    return held.jobs[held.tokens[client_token]], False
                self._jobs_started += 1
                job_id = derived_id(f"ingestion-job\0{knowledge_base_id}\0{self._jobs_started}")
                previous = held.indexed
            started = datetime.now(UTC)
            # Synchronous: the index is complete before StartIngestionJob answers, so a client
            # polling GetIngestionJob sees the job finished at once.
            outcome = ingest(held.config, previous)
            job = IngestionJob(
                knowledge_base_id,
                held.config.data_source_id,
                job_id,
                "COMPLETE" if outcome.complete else "FAILED",
                started,
                datetime.now(UTC),
                outcome.statistics,
                outcome.failure_reasons,
                description,
            )
            with self._lock:
                held.indexed = outcome.indexed
                held.jobs[job_id] = job
                if client_token is not None:
                    held.tokens[client_token] = job_id
        return job, True

    def ingestion_job(self, knowledge_base_id: str, job_id: str) -> IngestionJob | None:
        """Return a job of a registered knowledge base, if it exists."""
        held = self._held[knowledge_base_id]
        with self._lock:
            return held.jobs.get(job_id)
