"""One request as a handler sees it: its body and path parameters, and the shared services.

Handlers read the request from here and report through it (the Meter, content to log, a
stream's late error); the app turns that into the one log line. Handlers never write records.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from .calls import Budget, ClientPool, Meter, call_targets
from .errors import ApiError
from .guardrails import PASSED, Guardrail, GuardrailRules
from .knowledge_bases import KnowledgeBase, KnowledgeBases
from .metering import RequestRecord
from .routing import Routing, Target
from .team_access import TeamAccess

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient

T = TypeVar("T")


@dataclass(slots=True)
class Exchange:
    """The request, the services it may use and what it reports back."""

    request_id: str
    body: object
    params: Mapping[str, str]
    routing: Routing
    budget: Budget
    clients: ClientPool[BedrockRuntimeClient]
    attempts_per_model: int = 1
    log_content: bool = False
    # Writes a record of its own (compare's per-model lines); the app's writer by default.
    write: Callable[[RequestRecord], None] = lambda _record: None
    namespace: str = ""
    meter: Meter = field(default_factory=Meter)
    # Prompt and completion text, set by handlers only when log_content is on.
    content: dict[str, Any] | None = None
    # An error after a stream's first byte (the response itself is already a 200).
    stream_error: ApiError | None = None
    streamed: bool = False
    # The caller's team rules; compare's children share their parent's.
    access: TeamAccess = field(default_factory=TeamAccess)
    knowledge_bases: KnowledgeBases = field(default_factory=KnowledgeBases)
    # bedrock-agent-runtime clients (Retrieve), made on a knowledge base's first search.
    retrieval_clients: ClientPool[Any] | None = None
    guardrails: GuardrailRules = field(default_factory=GuardrailRules)
    # sagemaker-runtime clients (own models on SageMaker endpoints), made on first use.
    sagemaker_clients: ClientPool[Any] | None = None
    # The guardrail the request ran under, and what it did (for the log line).
    guardrail_name: str | None = None
    guardrail_outcome: str | None = None

    def child(self) -> Exchange:
        """The same request and services with a fresh meter and nothing reported yet."""
        return dataclasses.replace(self, meter=Meter(), content=None, stream_error=None)

    def resolve(self, name: str) -> tuple[Target, ...]:
        """The targets of a requested model or alias the caller's team may use."""
        return self.access.resolve(self.routing, name)

    def guardrail(self, model: str, targets: Sequence[Target]) -> Guardrail | None:
        """The guardrail of this request for `model` (resolved to `targets`), noted for the log."""
        if not self.guardrails.by_name:
            return None
        # Another alias has a rule of its own (or none): only a model id asks for its models'.
        model_ids = (
            [] if self.routing.is_alias(model) else [target.spec.model_id for target in targets]
        )
        guardrail = self.guardrails.for_request(self.access.policy, model, model_ids)
        if guardrail is not None:
            self.guardrail_name = guardrail.name
            self.guardrail_outcome = self.guardrail_outcome or PASSED
        return guardrail

    def knowledge_base(self, name: str) -> KnowledgeBase:
        """The knowledge base `name`, refused (404, 403) if absent or not the team's."""
        return self.knowledge_bases.get(name, self.access.policy)

    def call(
        self, targets: Sequence[Target], attempt: Callable[[Target, BedrockRuntimeClient], T]
    ) -> T:
        """Call the targets in order (fallback, retry, budget), metering on this exchange."""
        # The team's monthly budget is checked before its first model call (429 when spent).
        self.access.admit()
        return call_targets(
            targets,
            attempt,
            meter=self.meter,
            budget=self.budget,
            clients=self.clients,
            attempts_per_model=self.attempts_per_model,
        )
