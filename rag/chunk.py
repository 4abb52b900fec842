"""Stage 2: documents -> chunks, sized in the embedding model's own tokens.

MiniLM reads at most 256 word-pieces; text past that is silently dropped, so chunks
are packed from whole sentences up to ``max_tokens`` model tokens, with the last
sentences of a chunk repeated at the start of the next (up to ``overlap_tokens``) so
that a fact spanning a boundary is whole in at least one chunk. A single sentence
longer than the budget is cut at word boundaries.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import sentences
from .types import Chunk, Document

TokenCounter = Callable[[Sequence[str]], list[int]]


@dataclass(frozen=True)
class ChunkConfig:
    max_tokens: int = 160
    overlap_tokens: int = 40

    def __post_init__(self) -> None:
        if self.max_tokens < 8:
            raise ValueError("max_tokens must be at least 8")
        if not 0 <= self.overlap_tokens < self.max_tokens:
            raise ValueError("overlap_tokens must be in [0, max_tokens)")


def whitespace_tokens(texts: Sequence[str]) -> list[int]:
    """A stand-in counter (one token per word) for tests and model-free use."""
    return [len(t.split()) for t in texts]


def _cut_long(text: str, start: int, end: int, budget: int, count: TokenCounter) -> list[tuple[int, int]]:
    """Cut one over-long sentence at word boundaries into pieces of at most ``budget`` tokens."""
    words = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", text[start:end])]
    sizes = count([text[a:b] for a, b in words])
    pieces: list[tuple[int, int]] = []
    i = 0
    while i < len(words):
        j, used = i, 0
        while j < len(words) and (j == i or used + sizes[j] <= budget):
            used += sizes[j]
            j += 1
        pieces.append((words[i][0], words[j - 1][1]))
        i = j
    return pieces


def chunk_document(
    doc: Document, count: TokenCounter = whitespace_tokens, config: ChunkConfig = ChunkConfig()
) -> list[Chunk]:
    """Split one document into overlapping sentence-aligned chunks with character offsets."""
    spans = sentences.split_spans(doc.text)
    if not spans:
        return []
    sizes = count([doc.text[a:b] for a, b in spans])
    units: list[tuple[int, int, int]] = []
    for (a, b), n in zip(spans, sizes):
        if n <= config.max_tokens:
            units.append((a, b, n))
        else:
            pieces = _cut_long(doc.text, a, b, config.max_tokens, count)
            units.extend((pa, pb, n) for (pa, pb), n in zip(pieces, count([doc.text[pa:pb] for pa, pb in pieces])))
    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        j, used = i, 0
        while j < len(units) and (j == i or used + units[j][2] <= config.max_tokens):
            used += units[j][2]
            j += 1
        start, end = units[i][0], units[j - 1][1]
        chunks.append(Chunk(doc_id=doc.id, start=start, end=end, text=doc.text[start:end], date=doc.date))
        if j >= len(units):
            break
        # Step back over trailing sentences to overlap, as long as the next chunk still
        # reaches past this one.
        k, back = j, 0
        while (
            k - 1 > i
            and back + units[k - 1][2] <= config.overlap_tokens
            and back + units[k - 1][2] + units[j][2] <= config.max_tokens
        ):
            back += units[k - 1][2]
            k -= 1
        i = k
    return chunks
