"""Reads over the shards of a sharded index (:mod:`rag.shards`), merged exactly.

:class:`ShardedCorpus` answers each read of :class:`rag.corpus.Corpus` by asking every
shard and merging: the best hits of each shard by score (ties to the lower chunk id, as
one index breaks them), BM25 scored with the shards' figures summed
(:func:`rag.lexical.combined`), and a date filter's share of vectors counted over all
shards (:func:`rag.vectors.search`'s ``totals``), so that retrieval, answers and
summaries over it equal those over one index of the same chunks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

from . import lexical
from .corpus import DateRange, Loaded
from .embed import Embedder
from .types import Passage


def merge_top(ids: list[np.ndarray], scores: list[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of several shards' hits, best first, ties to the lower chunk id."""
    all_ids = np.concatenate(ids) if ids else np.zeros(0, np.int64)
    all_scores = np.concatenate(scores) if scores else np.zeros(0, np.float32)
    order = np.lexsort((all_ids, -all_scores))[:k]
    return all_ids[order], all_scores[order]


class ShardedCorpus:
    """A :class:`rag.corpus.Corpus` over the shards' corpora: the same reads, merged."""

    def __init__(self, shards: Sequence[Loaded], embedder: Embedder) -> None:
        self.shards = list(shards)
        self.embedder = embedder
        self._ids: list[np.ndarray] | None = None  # each shard's chunk ids, ascending: who holds a chunk

    @property
    def is_empty(self) -> bool:
        return all(s.is_empty for s in self.shards)

    def allowed_ids(self, since: dt.date | None, until: dt.date | None) -> DateRange | None:
        return None if not since and not until else DateRange(since, until)

    def ids_not_after(self, day: dt.date) -> DateRange | None:
        found = (s.ids_not_after(day) for s in self.shards)  # the same range from any shard with later chunks
        return next((f for f in found if f is not None), None)

    def lexical_hits(self, query: str, allowed: DateRange | None) -> lexical.MergedHits:
        terms = lexical.tokenize(query)
        stats = lexical.combined([s.lexical().stats(terms) for s in self.shards])
        return lexical.MergedHits([s.lexical_hits(query, allowed, stats) for s in self.shards])

    def dense(self, query_vector: np.ndarray, k: int, allowed: DateRange | None) -> tuple[np.ndarray, np.ndarray]:
        totals = None
        if allowed is not None:
            held = sum(0 if s.vectors is None else int(s.vectors.ntotal) for s in self.shards)
            totals = (sum(s.allowed_count(allowed) for s in self.shards), held)
        found = [s.dense(query_vector, k, allowed, totals) for s in self.shards]
        return merge_top([f[0] for f in found], [f[1] for f in found], k)

    def _owners(self, ids: np.ndarray) -> list[np.ndarray]:
        """For each shard, the positions in ``ids`` of the chunks it holds."""
        if self._ids is None:
            self._ids = [s.filters.chunk_dates()[0] for s in self.shards]
        out = []
        for held in self._ids:
            if len(held) == 0 or len(ids) == 0:
                out.append(np.zeros(0, np.int64))
                continue
            pos = np.minimum(np.searchsorted(held, ids), len(held) - 1)
            out.append(np.flatnonzero(held[pos] == ids))
        return out

    def similarities(self, ids: np.ndarray, query_vector: np.ndarray) -> np.ndarray:
        out = np.zeros(len(ids), np.float32)
        for shard, where in zip(self.shards, self._owners(ids)):
            if len(where):
                out[where] = shard.similarities(ids[where], query_vector)
        return out

    def passages(self, ids: np.ndarray, scores: np.ndarray, sims: np.ndarray) -> list[Passage]:
        found: dict[int, Passage] = {}
        for shard, where in zip(self.shards, self._owners(ids)):
            for p in shard.passages(ids[where], scores[where], sims[where]):
                found[p.chunk_id] = p
        return [found[int(i)] for i in ids if int(i) in found]

    def with_entities(self, passages: Sequence[Passage]) -> list[Passage]:
        ids = np.array([p.chunk_id for p in passages], np.int64)
        out: list[Passage | None] = [None] * len(passages)
        for shard, where in zip(self.shards, self._owners(ids)):
            for i, p in zip(where, shard.with_entities([passages[i] for i in where])):
                out[i] = p
        return [p if p is not None else q for p, q in zip(out, passages)]

    def texts(self, doc_ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for s in self.shards:
            out.update(s.texts(doc_ids))
        return out
