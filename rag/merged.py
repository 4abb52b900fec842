"""Reads over the shards of a sharded index (:mod:`rag.shards`), merged exactly.

:class:`ShardedCorpus` answers each read of :class:`rag.corpus.Corpus` by running it on
every shard through a :class:`Fanout` and merging. A query's candidates take three
fan-outs: the corpus-wide BM25 figures of its terms (and a date filter's counts, for an
IVF's probe; a view that keeps figures between queries, as a reader of Ray actors does,
asks once for every term's and for each range's counts, and then skips this one),
each shard's best chunks on both lists with both scores (:func:`rag.candidates.of_shard`,
merged by score, ties to the lower chunk id, as one index breaks them), and the passages
of those kept; a search's windows take one more, each shard widening the passages of
its own articles and finding their entities (:meth:`ShardedCorpus.windows`). So
retrieval, answers and summaries over shards equal those over one index of the same
chunks.

A fan-out runs one read on every shard: :class:`InProcess` over shards loaded here, or
:class:`rag.cluster.OnCluster` over Ray actors that each hold one shard. A read is a
module-level function of a shard's :class:`rag.corpus.Loaded` with its arguments bound
(``functools.partial``), so that it travels to an actor by reference; each shard keeps
what it holds (vectors, BM25 index, chunk rows) and sends back only the few hits,
scores and passages asked for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, Protocol, TypeVar

import numpy as np

from . import lexical
from .candidates import ShardCandidates, as_passages, merge, of_shard
from .corpus import DateRange, Loaded
from .embed import Embedder
from .lexical import Stats
from .query import Mode
from .types import Passage
from .windows import Placed, shown

T = TypeVar("T")
FIXED_KEPT = 64  # date ranges whose counts a view keeps: most queries ask as of the same few days
_VIEW_WIDE = ("empty", "vocabulary")  # what a view keeps of all its shards whatever the dates asked


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


# -- the reads, as each shard runs them ---------------------------------------------------


def _is_empty(s: Loaded) -> bool:
    return s.is_empty


def _not_after(s: Loaded, day: dt.date) -> DateRange | None:
    return s.ids_not_after(day)


def _prelude(
    s: Loaded, terms: list[str] | None, allowed: DateRange | None
) -> tuple[Stats | None, tuple[int, int] | None]:
    """What every shard must know of the others before it picks candidates: BM25 figures
    for ``terms`` and the counts of a filter ``allowed`` (each None when not asked)."""
    return (None if terms is None else s.lexical().stats(terms), None if allowed is None else _counts(s, allowed))


def _vocabulary(s: Loaded) -> Stats:
    return s.lexical().vocabulary()


def _counts(s: Loaded, allowed: DateRange) -> tuple[int, int]:
    return s.allowed_count(allowed), 0 if s.vectors is None else int(s.vectors.ntotal)


def _passages(s: Loaded, ids: np.ndarray, scores: np.ndarray, sims: np.ndarray) -> list[Passage]:
    where = s.held(ids)
    return s.passages(ids[where], scores[where], sims[where])


def _texts(s: Loaded, doc_ids: Sequence[str]) -> dict[str, str]:
    return s.texts(doc_ids)


def _placed(s: Loaded, ranked: Sequence[Passage], words: int) -> dict[int, Placed]:
    return s.placed(ranked, words)


class ShardedCorpus:
    """A :class:`rag.corpus.Corpus` over the shards that ``fanout`` reads: the same reads, merged."""

    def __init__(self, fanout: Fanout, embedder: Embedder, fixed: dict[object, Any] | None = None) -> None:
        """``fixed``: where to keep, between queries, what cannot change while the shards
        read the same commits (emptiness, every term's BM25 figures, the chunks after a
        day, a date range's counts), saving a fan-out each on the cluster; None to ask
        every time (in-process it costs next to nothing)."""
        self.fanout = fanout
        self.embedder = embedder
        self.fixed = fixed

    def _known(self, key: object) -> Any:
        return None if self.fixed is None else self.fixed.get(key)

    def _keep(self, key: object, value: T) -> T:
        if self.fixed is not None:
            if len(self.fixed) >= FIXED_KEPT:  # what is kept per day or date range goes, the view's own figures stay
                for old in [k for k in list(self.fixed) if k not in _VIEW_WIDE]:
                    self.fixed.pop(old, None)
            self.fixed[key] = value
        return value

    def _stats(self, terms: list[str]) -> Stats | None:
        """The corpus-wide BM25 figures of ``terms`` from every term's, asked of the shards
        once for the commits this view reads; None where nothing is kept between queries
        (in-process, where asking for the query's terms costs next to nothing)."""
        if self.fixed is None:
            return None
        whole = self._known("vocabulary")
        if whole is None:
            whole = self._keep("vocabulary", lexical.combined(self.fanout.each(_vocabulary)))
        return Stats(whole.live, whole.length, {t: whole.df.get(t, 0) for t in dict.fromkeys(terms)})

    @property
    def is_empty(self) -> bool:
        empty = self._known("empty")
        return self._keep("empty", all(self.fanout.each(_is_empty))) if empty is None else empty

    def allowed_ids(self, since: dt.date | None, until: dt.date | None) -> DateRange | None:
        return None if not since and not until else DateRange(since, until)

    def ids_not_after(self, day: dt.date) -> DateRange | None:
        key = ("not after", day)
        kept = self._known(key)
        if kept is None:
            found = self.fanout.each(partial(_not_after, day=day))  # the same range from any shard with later chunks
            kept = self._keep(key, (next((f for f in found if f is not None), None),))
        return kept[0]

    def candidates(
        self, query: str, query_vector: np.ndarray, pool: int, allowed: DateRange | None, mode: Mode, alpha: float
    ) -> tuple[list[Passage], np.ndarray]:
        """As :meth:`rag.corpus.Loaded.candidates` over all shards, in three fan-outs:
        the corpus-wide BM25 figures and filter counts (none where the view keeps them),
        each shard's candidates (:func:`rag.candidates.of_shard`), and the passages of
        those the merge keeps."""
        terms = None if mode is Mode.DENSE else lexical.tokenize(query)
        counted = allowed is not None and mode is not Mode.LEXICAL  # an IVF widens its probe by the filter's share
        counts = self._known(allowed) if counted else None
        ask_counts = counted and counts is None
        stats = None if terms is None else self._stats(terms)
        ask_terms = terms is not None and stats is None
        if ask_terms or ask_counts:
            found = self.fanout.each(
                partial(_prelude, terms=terms if ask_terms else None, allowed=allowed if ask_counts else None)
            )
            if ask_terms:
                stats = lexical.combined([f[0] for f in found if f[0] is not None])
            if ask_counts:
                counts = self._keep(allowed, [f[1] for f in found])
        totals = (sum(c[0] for c in counts), sum(c[1] for c in counts)) if counts is not None else None
        parts: list[ShardCandidates] = self.fanout.each(
            partial(
                of_shard,
                query=query,
                query_vector=query_vector,
                pool=pool,
                allowed=allowed,
                mode=mode,
                stats=stats,
                totals=totals,
            )
        )
        chosen = merge(parts, pool, mode, alpha)
        return as_passages(chosen, self.passages(chosen.ids, chosen.scores, chosen.cosine))

    def passages(self, ids: np.ndarray, scores: np.ndarray, sims: np.ndarray) -> list[Passage]:
        found = {
            p.chunk_id: p for ps in self.fanout.each(partial(_passages, ids=ids, scores=scores, sims=sims)) for p in ps
        }
        return [found[int(i)] for i in ids if int(i) in found]

    def texts(self, doc_ids: Sequence[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for found in self.fanout.each(partial(_texts, doc_ids=list(doc_ids))):
            out.update(found)
        return out

    def windows(self, ranked: Sequence[Passage], k: int, words: int) -> list[Passage]:
        """One fan-out: each shard places the passages of its own articles, with their
        entities (an article's windows never span shards), and they merge in rank order."""
        ranked = list(ranked)
        placed: dict[int, Placed] = {}
        for found in self.fanout.each(partial(_placed, ranked=ranked, words=words)):
            placed.update(found)
        return shown(ranked, placed, k)
