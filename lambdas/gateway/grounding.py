"""Grounded chat: a knowledge base's passages put before the question, cited in the answer.

Retrieve, then Converse (not Bedrock's RetrieveAndGenerate): the answer goes through the same
chat pipeline as any other (every model and alias, fallbacks, tools, structured output,
streaming, per-model rules, exact token usage from Converse), and the gateway needs only
bedrock:Retrieve on the knowledge base, not a second path to every model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .chat_request import ChatRequest, Message
from .exchange import Exchange
from .retrieval import Retrieved, retrieve

_INSTRUCTIONS = (
    "Answer from the passages of the knowledge base '{name}' below. Cite each passage you use "
    "with its number in square brackets, such as [1] or [2][3]. If the passages do not hold "
    "the answer, say so instead of guessing."
)
_NOTHING_FOUND = (
    "The knowledge base '{name}' returned no passages for this question: say that it holds "
    "nothing on it instead of answering from memory."
)


@dataclass(frozen=True, slots=True)
class Grounded:
    """A chat request with its passages in place, and what the answer reports of them."""

    request: ChatRequest
    retrieved: Retrieved

    def citations(self) -> list[dict[str, Any]]:
        """The passages, numbered as the prompt numbers them (the `citations` extension)."""
        return [
            passage.to_dict(index) for index, passage in enumerate(self.retrieved.passages, start=1)
        ]

    def annotate(self, body: dict[str, Any]) -> None:
        """Add the citations and the query's embedding tokens to a chat.completion body."""
        body["citations"] = self.citations()
        body["knowledge_base"] = self.retrieved.knowledge_base.name
        add_retrieval_usage(body["usage"], self.retrieved.usage.input_tokens)


def add_retrieval_usage(usage: dict[str, Any], tokens: int) -> None:
    """Count the query's embedding (estimated: Retrieve reports no usage) in a usage object."""
    usage["retrieval_tokens"] = tokens
    usage["total_tokens"] = usage["total_tokens"] + tokens


def ground(exchange: Exchange, request: ChatRequest) -> Grounded:
    """Search the request's knowledge base and put the passages before its last user turn."""
    grounding = request.grounding
    assert grounding is not None
    knowledge_base = exchange.knowledge_base(grounding.knowledge_base)
    retrieved = retrieve(exchange, knowledge_base, grounding.search)
    return Grounded(_with_passages(request, retrieved), retrieved)


def passages_text(retrieved: Retrieved) -> str:
    """The block of numbered passages (and how to use them) the model reads."""
    name = retrieved.knowledge_base.name
    if not retrieved.passages:
        return _NOTHING_FOUND.format(name=name)
    blocks = [
        f'<passage index="{index}" source="{passage.source_uri or ""}">\n{passage.text}\n</passage>'
        for index, passage in enumerate(retrieved.passages, start=1)
    ]
    return "\n".join(
        [_INSTRUCTIONS.format(name=name), "", "<passages>", *blocks, "</passages>", ""]
    )


def _with_passages(request: ChatRequest, retrieved: Retrieved) -> ChatRequest:
    # In the last user turn rather than a system prompt: every chat model takes a user turn,
    # and the passages belong to the question they were found for.
    messages = list(request.messages)
    users = [i for i, message in enumerate(messages) if message.role == "user"]
    if not users:
        # Only an explicit knowledge_base.query gets here: it is the question.
        assert request.grounding is not None
        question = request.grounding.search.query
        messages.append(Message("user", (passages_text(retrieved), question)))
    else:
        turn = messages[users[-1]]
        messages[users[-1]] = dataclasses.replace(
            turn, parts=(passages_text(retrieved), *turn.parts)
        )
    return dataclasses.replace(request, messages=tuple(messages))
