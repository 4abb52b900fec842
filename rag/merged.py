"""Reads over the shards of a sharded index (:mod:`rag.shards`), merged exactly.

:class:`ShardedCorpus` answers each read of :class:`rag.corpus.Corpus` by running it on
every shard through a :class:`Fanout` and merging: the best hits of each shard by score
(ties to the lower chunk id, as one index breaks them), BM25 scored with the shards'
figures summed (:func:`rag.lexical.combined`), and a date filter's share of vectors
counted over all shards (:func:`rag.vectors.search`'s ``totals``), so that retrieval,
answers and summaries over it equal those over one index of the same chunks.

A fan-out runs one read on every shard: :class:`InProcess` over shards loaded here, or
:class:`rag.cluster.OnCluster` over Ray actors that each hold one shard. A read is a
module-level function of a shard's :class:`rag.corpus.Loaded` with its arguments bound
(``functools.partial``), so that it travels to an actor by reference; each shard keeps
what it holds (a BM25 index's scores, its chunk ids) and sends back only the few hits,
scores and passages asked for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar

import numpy as np

from . import lexical
from .corpus import DateRange, Loaded
from .embed import Embedder
from .lexical import Stats
from .types import Passage

T = TypeVar("T")
FIXED_KEPT = 64  # date ranges whose counts a view keeps: most queries ask as of the same few days


class Fanout(Protocol):
    """Runs a read on every shard of an index; the results in shard order, or an error
    (never the results of fewer shards)."""

    def each(self, read: Callable[[Loaded], T]) -> list[T]: ...


class InProcess:
    """Shards loaded in this process, read one after another."""

    def __init__(self, shards: Sequence[Loaded]) -> None:
        self.shards = list(shards)

    def each(self, read: Callable[[Loaded], T]) -> list[T]:
        return [read(s) for s in self.shards]


def merge_top(ids: list[np.ndarray], scores: list[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of several shards' hits, best first, ties to the lower chunk id."""
    all_ids = np.concatenate(ids) if ids else np.zeros(0, np.int64)
    all_scores = np.concatenate(scores) if scores else np.zeros(0, np.float32)
    order = np.lexsort((all_ids, -all_scores))[:k]
    return all_ids[order], all_scores[order]


# -- the reads, as each shard runs them ---------------------------------------------------


def _is_empty(s: Loaded) -> bool:
    return s.is_empty


def _not_after(s: Loaded, day: dt.date) -> DateRange | None:
    return s.ids_not_after(day)


def _lexical_stats(s: Loaded, terms: list[str]) -> Stats:
    return s.lexical().stats(terms)


def _lexical_top(s: Loaded, query: str, allowed: DateRange | None, stats: Stats, n: int) -> tuple[np.ndarray, ...]:
    return s.lexical_hits(query, allowed, stats).top(n)


def _lexical_at(s: Loaded, query: str, allowed: DateRange | None, stats: Stats, ids: np.ndarray) -> np.ndarray:
    return s.lexical_hits(query, allowed, stats).at(ids)


def _counts(s: Loaded, allowed: DateRange) -> tuple[int, int]:
    return s.allowed_count(allowed), 0 if s.vectors is None else int(s.vectors.ntotal)


def _dense(
    s: Loaded, query_vector: np.ndarray, k: int, allowed: DateRange | None, totals: tuple[int, int] | None
) -> tuple[np.ndarray, np.ndarray]:
    return s.dense(query_vector, k, allowed, totals)


def _similarities(s: Loaded, ids: np.ndarray, query_vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    where = s.held(ids)
    return where, s.similarities(ids[where], query_vector)


def _passages(s: Loaded, ids: np.ndarray, scores: np.ndarray, sims: np.ndarray) -> list[Passage]:
    where = s.held(ids)
    return s.passages(ids[where], scores[where], sims[where])


def _entities(s: Loaded, passages: Sequence[Passage]) -> list[tuple[int, Passage]]:
    where = s.held(np.array([p.chunk_id for p in passages], np.int64))
    return list(zip((int(i) for i in where), s.with_entities([passages[i] for i in where])))


def _texts(s: Loaded, doc_ids: Sequence[str]) -> dict[str, str]:
    return s.texts(doc_ids)


@dataclass(frozen=True)
class ShardHits:
    """A query's BM25 scores over every shard, scored with the corpus-wide ``stats``: the
    same scores, and the same top rows (ties to the lower chunk id), as one index of all
    the chunks. The scores stay with the shards; only the hits asked for travel."""

    fanout: Fanout
    query: str
    allowed: DateRange | None
    stats: Stats

    def top(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        found = self.fanout.each(partial(_lexical_top, query=self.query, allowed=self.allowed, stats=self.stats, n=n))
        return merge_top([f[0] for f in found], [f[1] for f in found], n)

    def at(self, ids: np.ndarray) -> np.ndarray:
        out = np.zeros(len(ids), np.float32)
        read = partial(_lexical_at, query=self.query, allowed=self.allowed, stats=self.stats, ids=ids)
        for scores in self.fanout.each(read):
            out += scores  # each chunk is held by one shard: the others add zero
        return out


class ShardedCorpus:
    """A :class:`rag.corpus.Corpus` over the shards that ``fanout`` reads: the same reads, merged."""

    def __init__(self, fanout: Fanout, embedder: Embedder, fixed: dict[object, Any] | None = None) -> None:
        """``fixed``: where to keep, between queries, what cannot change while the shards
        read the same commits (emptiness, a date range's counts), saving a fan-out each
        on the cluster; None to ask every time (in-process it costs next to nothing)."""
        self.fanout = fanout
        self.embedder = embedder
        self.fixed = fixed

    def _fixed(self, key: object, read: Callable[[], T]) -> T:
        if self.fixed is None:
            return read()
        if key not in self.fixed:
            if len(self.fixed) >= FIXED_KEPT:
                self.fixed.clear()
            self.fixed[key] = read()
        return self.fixed[key]

    @property
    def is_empty(self) -> bool:
        return self._fixed("empty", lambda: all(self.fanout.each(_is_empty)))

    def allowed_ids(self, since: dt.date | None, until: dt.date | None) -> DateRange | None:
        return None if not since and not until else DateRange(since, until)

    def ids_not_after(self, day: dt.date) -> DateRange | None:
        found = self.fanout.each(partial(_not_after, day=day))  # the same range from any shard with later chunks
        return next((f for f in found if f is not None), None)

    def lexical_hits(self, query: str, allowed: DateRange | None) -> ShardHits:
        stats = lexical.combined(self.fanout.each(partial(_lexical_stats, terms=lexical.tokenize(query))))
        return ShardHits(self.fanout, query, allowed, stats)

    def dense(self, query_vector: np.ndarray, k: int, allowed: DateRange | None) -> tuple[np.ndarray, np.ndarray]:
        totals = None
        if allowed is not None:
            counts = self._fixed(allowed, lambda: self.fanout.each(partial(_counts, allowed=allowed)))
            totals = (sum(c[0] for c in counts), sum(c[1] for c in counts))
        found = self.fanout.each(partial(_dense, query_vector=query_vector, k=k, allowed=allowed, totals=totals))
        return merge_top([f[0] for f in found], [f[1] for f in found], k)

    def similarities(self, ids: np.ndarray, query_vector: np.ndarray) -> np.ndarray:
        out = np.zeros(len(ids), np.float32)
        for where, sims in self.fanout.each(partial(_similarities, ids=ids, query_vector=query_vector)):
            out[where] = sims
        return out

    def passages(self, ids: np.ndarray, scores: np.ndarray, sims: np.ndarray) -> list[Passage]:
        found = {
            p.chunk_id: p for ps in self.fanout.each(partial(_passages, ids=ids, scores=scores, sims=sims)) for p in ps
        }
        return [found[int(i)] for i in ids if int(i) in found]

    def with_entities(self, passages: Sequence[Passage]) -> list[Passage]:
        out = list(passages)
        for found in self.fanout.each(partial(_entities, passages=list(passages))):
            for i, p in found:
                out[i] = p
        return out

    def texts(self, doc_ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for found in self.fanout.each(partial(_texts, doc_ids=list(doc_ids))):
            out.update(found)
        return out
