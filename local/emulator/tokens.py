"""Token estimates for emulated usage: word pieces and punctuation, no real tokenizer."""

from __future__ import annotations

import itertools
import re

# Words split into pieces of at most six characters, plus each punctuation mark: close enough to
# a BPE tokenizer's counts for English text, and cheap (one C-level regex scan).
_TOKEN = re.compile(r"\w{1,6}|[^\w\s]")


def count_tokens(text: str) -> int:
    """Return the estimated number of tokens in `text` (0 for blank text)."""
    return len(_TOKEN.findall(text))


def truncate_to_tokens(text: str, limit: int) -> tuple[str, int, bool]:
    """Return `text` cut after its first `limit` tokens, its token count, and whether it was cut."""
    count = count_tokens(text)
    if count <= limit:
        return text, count, False
    if limit <= 0:
        return "", 0, True
    last = next(itertools.islice(_TOKEN.finditer(text), limit - 1, None))
    return text[: last.end()], limit, True
