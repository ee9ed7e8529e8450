"""A knowledge base's index and its search: deterministic BM25 standing in for vector search."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

# BM25's usual constants (Robertson and Zaragoza): term saturation and length normalisation.
K1 = 1.2
B = 0.75
_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    """Return the lowercase alphanumeric words of `text`, the terms BM25 counts."""
    return _WORD.findall(text.lower())


@dataclass(frozen=True, slots=True)
class Chunk:
    """One indexed chunk: its text, where it came from and the metadata Retrieve returns."""

    text: str
    source_uri: str
    # The chunk's place in its document (0 first): ties in ranking go to the earlier chunk.
    position: int
    # The document's attributes plus the x-amz-bedrock-kb-* keys Bedrock adds.
    metadata: Mapping[str, object]
    terms: Mapping[str, int]
    length: int

    @classmethod
    def of(cls, text: str, source_uri: str, position: int, metadata: Mapping[str, object]) -> Chunk:
        """Return the chunk of `text` with its term counts."""
        counted = words(text)
        return cls(text, source_uri, position, metadata, Counter(counted), len(counted))


@dataclass(frozen=True, slots=True)
class SearchIndex:
    """Every chunk of a knowledge base with the corpus statistics BM25 needs."""

    chunks: tuple[Chunk, ...]
    # How many chunks contain each term.
    document_frequency: Mapping[str, int]
    average_length: float

    @classmethod
    def of(cls, chunks: Iterable[Chunk]) -> SearchIndex:
        """Return the index of `chunks`."""
        held = tuple(chunks)
        frequency: Counter[str] = Counter()
        for chunk in held:
            frequency.update(chunk.terms.keys())
        average = sum(chunk.length for chunk in held) / len(held) if held else 0.0
        return cls(held, frequency, average)

    def search(
        self, query: str, top_k: int, accept: Callable[[Mapping[str, object]], bool]
    ) -> list[tuple[Chunk, float]]:
        """Return the `top_k` best chunks whose metadata `accept` takes, with scores in [0, 1).

        Like a vector search, it returns the nearest chunks even when none shares a word with
        the query: those score 0 and come after the others. Ties go to the source URI, then to
        the chunk's position, so the same index always answers the same query the same way.
        """
        terms = set(words(query))
        scored = [
            (self._bm25(chunk, terms), chunk) for chunk in self.chunks if accept(chunk.metadata)
        ]
        scored.sort(key=lambda pair: (-pair[0], pair[1].source_uri, pair[1].position))
        # s / (s + 1): monotonic, so the order stays BM25's, and in [0, 1) like a similarity.
        return [(chunk, score / (score + 1)) for score, chunk in scored[:top_k]]

    def _bm25(self, chunk: Chunk, terms: set[str]) -> float:
        total = 0.0
        size = len(self.chunks)
        # Statistics of the whole index, not of the filtered chunks: a filter selects chunks
        # without changing their scores, as it would in a vector store.
        norm = 1 - B + B * chunk.length / self.average_length if self.average_length else 1.0
        for term in terms:
            count = chunk.terms.get(term, 0)
            if count:
                frequency = self.document_frequency[term]
                idf = math.log(1 + (size - frequency + 0.5) / (frequency + 0.5))
                total += idf * count * (K1 + 1) / (count + K1 * norm)
        return total


EMPTY_INDEX = SearchIndex.of(())
