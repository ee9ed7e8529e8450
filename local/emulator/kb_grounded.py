"""The emulated answer to a grounded chat: quote the first passage and cite it, as a model would.

The gateway's grounded chat puts a knowledge base's passages in the last user turn, as
`<passages><passage index="N" source="URI">TEXT</passage>...</passages>`, or says that the
knowledge base returned none. A local demo then shows an answer with citations.
"""

from __future__ import annotations

import re

_BLOCK = re.compile(r"<passages>(.*?)</passages>", re.DOTALL)
_PASSAGE = re.compile(r'<passage index="(\d+)"[^>]*>(.*?)</passage>', re.DOTALL)
_NOTHING_FOUND = re.compile(r"knowledge base '([^']*)' returned no passages")
_SENTENCE = re.compile(r"(.+?[.!?])(?=\s|$)")
MAX_QUOTE_CHARS = 200


def grounded_reply(text: str) -> str | None:
    """Return the answer for a user turn carrying passages (or their absence); None otherwise."""
    block = _BLOCK.search(text)
    passages = (
        sorted((int(index), body) for index, body in _PASSAGE.findall(block.group(1)))
        if block
        else []
    )
    if passages:
        first, body = passages[0]
        answer = f'According to the knowledge base [{first}]: "{first_sentence(body)}"'
        if len(passages) > 1:
            answer += f" See also [{passages[1][0]}]."
        return answer
    nothing = _NOTHING_FOUND.search(text)
    if nothing is not None:
        return (
            f"The knowledge base '{nothing.group(1)}' holds nothing on this question, so I "
            "cannot answer it from there."
        )
    return None


def first_sentence(text: str) -> str:
    """Return the first sentence of a passage, skipping Markdown headings, cut to a quote's size."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    flat = " ".join(" ".join(lines).split()) or " ".join(text.split())
    found = _SENTENCE.match(flat)
    sentence = found.group(1) if found else flat
    if len(sentence) > MAX_QUOTE_CHARS:
        return sentence[: MAX_QUOTE_CHARS - 3].rstrip() + "..."
    return sentence
