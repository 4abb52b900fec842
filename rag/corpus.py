"""What retrieval reads from an index: one commit's vectors, BM25 index and chunk rows.

:class:`Corpus` is the small interface that :mod:`rag.retrieve`, :mod:`rag.answer` and
:mod:`rag.summarize` depend on; :class:`Loaded` is the index's implementation over the
files of one commit (a new one after every commit, so a reader never sees two commits
mixed). Date filters are masks over chunk ids built from every chunk's date, cached per
range (:class:`DateFilters`).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import faiss
import numpy as np

from . import lexical, vectors
from .candidates import as_passages, merge, of_shard
from .embed import Embedder
from .lexical import RowHits, Stats
from .query import Mode
from .store import Store
from .types import Passage
from .windows import Placed, placements, shown

FILTERS_KEPT = 8  # date ranges whose masks are kept: most queries ask as of the same few days


@dataclass(frozen=True)
class DateRange:
    """The chunks a search may return: those of articles dated in [since, until], and
    undated ones when ``keep_undated``. Each corpus turns it into masks over its own
    chunk ids (:class:`DateFilters`), so retrieval never handles a mask."""

    since: dt.date | None
    until: dt.date | None
    keep_undated: bool = False


class Corpus(Protocol):
    """The reads retrieval needs from an index. ``allowed`` is a :class:`DateRange`, or
    None for every chunk."""

    embedder: Embedder

    @property
    def is_empty(self) -> bool: ...

    def allowed_ids(self, since: dt.date | None, until: dt.date | None) -> DateRange | None: ...

    def ids_not_after(self, day: dt.date) -> DateRange | None: ...

    def candidates(
        self, query: str, query_vector: np.ndarray, pool: int, allowed: DateRange | None, mode: Mode, alpha: float
    ) -> tuple[list[Passage], np.ndarray]: ...

    def texts(self, doc_ids: Sequence[str]) -> dict[str, str]: ...

    def windows(self, ranked: Sequence[Passage], k: int, words: int) -> list[Passage]:
        """The first ``k`` windows of ``ranked`` passages, with their entities (:mod:`rag.windows`)."""
        ...


@dataclass
class _Filter:
    keep: np.ndarray  # a mask over the chunks of ``Store.chunk_dates``, in id order
    ids: np.ndarray  # the same over chunk ids (FAISS's selector)
    rows: tuple[lexical.LexicalIndex, np.ndarray] | None = None  # the same over a lexical index's rows


class DateFilters:
    """The chunks a date range keeps, for FAISS and for BM25, for one commit. The last
    few are kept: most queries name the same days (as of today, say), and at a million
    chunks building the masks takes ~5 ms of an ask. Safe to share between threads."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._dates: tuple[np.ndarray, np.ndarray] | None = None  # chunk ids, day ordinals (0: undated)
        self._kept: dict[tuple, _Filter] = {}  # oldest first
        self._lock = threading.Lock()

    def chunk_dates(self) -> tuple[np.ndarray, np.ndarray]:
        """Every chunk's id and date (proleptic ordinal, 0 when undated), read once per
        commit: a date filter is one vectorised comparison, not a SQL query per ask."""
        if self._dates is None:
            self._dates = self._store.chunk_dates()
        return self._dates

    def get(self, since: dt.date | None, until: dt.date | None, keep_undated: bool) -> _Filter:
        key = (since, until, keep_undated)
        with self._lock:
            found = self._kept.get(key)
        if found is not None:
            return found
        ids, days = self.chunk_dates()
        keep = np.ones(len(days), dtype=bool) if keep_undated else days > 0
        if since:
            keep &= days >= since.toordinal()
        if until:
            keep &= days <= until.toordinal()  # undated ones are day 0: kept by ``keep_undated``
        mask = np.zeros(int(ids.max()) + 1 if len(ids) else 0, dtype=bool)
        mask[ids[keep]] = True
        found = _Filter(keep, mask)
        with self._lock:
            self._kept[key] = found
            while len(self._kept) > FILTERS_KEPT:
                self._kept.pop(next(iter(self._kept)))
        return found

    def count(self, since: dt.date | None, until: dt.date | None, keep_undated: bool) -> int:
        """How many chunks the range keeps."""
        return int(np.count_nonzero(self.get(since, until, keep_undated).keep))

    def rows(self, allowed: np.ndarray, lex: lexical.LexicalIndex) -> np.ndarray:
        """``allowed`` (a mask from :meth:`get`) as a mask over the rows of ``lex``."""
        with self._lock:
            found = next((f for f in self._kept.values() if f.ids is allowed), None)
        if found is not None and found.rows is not None and found.rows[0] is lex:
            return found.rows[1]
        ids, _ = self.chunk_dates()
        if found is not None and np.array_equal(lex.chunk_ids, ids):
            rows = found.keep  # the lexical index lists the same commit's chunks in the same (id) order
        else:
            rows = allowed[np.minimum(lex.chunk_ids, len(allowed) - 1)] & (lex.chunk_ids < len(allowed))
        if found is not None:
            found.rows = (lex, rows)
        return rows

    def copy(self, store: Store) -> DateFilters:
        """The same cache for another view of the same commit (a snapshot sharing its
        files), reading through that view's ``store``."""
        other = DateFilters(store)
        other._dates = self._dates
        with self._lock:
            other._kept = dict(self._kept)
        return other


class Loaded:
    """The files of one commit, loaded: a :class:`Corpus`. ``load_lexical`` gives the
    BM25 index when first asked (reading it, or building one where there is none)."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        faiss_index: faiss.Index | None,
        load_lexical: Callable[[], lexical.LexicalIndex],
        filters: DateFilters | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.vectors = faiss_index
        self._load_lexical = load_lexical
        self.filters = filters or DateFilters(store)

    @property
    def is_empty(self) -> bool:
        return self.vectors is None or self.vectors.ntotal == 0

    def allowed_ids(self, since: dt.date | None, until: dt.date | None) -> DateRange | None:
        """Articles dated in [since, until]; None when there is no range."""
        if not since and not until:
            return None
        return DateRange(since, until)

    def ids_not_after(self, day: dt.date) -> DateRange | None:
        """Articles not dated after ``day``, undated ones kept; None if that is all."""
        latest = self.store.latest_chunk_date()  # an indexed lookup: no chunk dates read
        if latest is None or latest <= day:
            return None
        return DateRange(None, day, keep_undated=True)

    def mask(self, allowed: DateRange) -> np.ndarray:
        """``allowed`` as a mask over this corpus's chunk ids."""
        return self.filters.get(allowed.since, allowed.until, allowed.keep_undated).ids

    def lexical(self) -> lexical.LexicalIndex:
        return self._load_lexical()

    def lexical_rows(self, allowed: DateRange) -> np.ndarray:
        """``allowed`` as a mask over the rows of :meth:`lexical`."""
        return self.filters.rows(self.mask(allowed), self.lexical())

    def lexical_hits(self, query: str, allowed: DateRange | None, stats: Stats | None = None) -> RowHits:
        """BM25 scores for ``query`` of the chunks ``allowed``; ``stats``: corpus-wide
        figures when this is one shard of several."""
        lex = self.lexical()
        return RowHits(lex.scores(query, stats), lex.chunk_ids, None if allowed is None else self.lexical_rows(allowed))

    def dense(
        self, query_vector: np.ndarray, k: int, allowed: DateRange | None, totals: tuple[int, int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Chunk ids and cosine similarities of the ``k`` nearest chunks ``allowed``.
        ``totals``: (chunks allowed, vectors) over all shards when this is one of several,
        so that it searches as widely as one index of them all (:func:`rag.vectors.search`)."""
        if self.vectors is None or self.vectors.ntotal == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        mask = None if allowed is None else self.mask(allowed)
        scores, ids = vectors.search(self.vectors, query_vector[None, :], k, mask, totals)
        keep = ids[0] >= 0
        return ids[0][keep], scores[0][keep]

    def held(self, ids: np.ndarray) -> np.ndarray:
        """The positions in ``ids`` of the chunks this corpus holds (one shard of several
        holds some of them)."""
        held = self.filters.chunk_dates()[0]  # ascending
        if len(held) == 0 or len(ids) == 0:
            return np.zeros(0, np.int64)
        pos = np.minimum(np.searchsorted(held, ids), len(held) - 1)
        return np.flatnonzero(held[pos] == ids)

    def candidates(
        self, query: str, query_vector: np.ndarray, pool: int, allowed: DateRange | None, mode: Mode, alpha: float
    ) -> tuple[list[Passage], np.ndarray]:
        """The ``pool`` best chunks of each list ``mode`` uses, as passages scored by the
        mode (``alpha``: the cosine's weight in hybrid), and their BM25 scores."""
        chosen = merge([of_shard(self, query, query_vector, pool, allowed, mode)], pool, mode, alpha)
        return as_passages(chosen, self.passages(chosen.ids, chosen.scores, chosen.cosine))

    def allowed_count(self, allowed: DateRange) -> int:
        """How many of this corpus's chunks ``allowed`` keeps."""
        return self.filters.count(allowed.since, allowed.until, allowed.keep_undated)

    def similarities(self, ids: np.ndarray, query_vector: np.ndarray) -> np.ndarray:
        """Cosine similarity of the query with the stored vectors of ``ids``."""
        if len(ids) == 0 or self.vectors is None:
            return np.zeros(0, dtype=np.float32)
        return vectors.reconstruct(self.vectors, ids) @ query_vector

    def passages(self, ids: np.ndarray, scores: np.ndarray, sims: np.ndarray) -> list[Passage]:
        """Passages of chunk ``ids`` with their entities: the ranker reads the entities of
        every candidate (:func:`rag.rank.rank_features`)."""
        wanted = [int(i) for i in ids]
        rows = self.store.chunks(wanted)
        found = self.store.chunk_entities(wanted)
        out = []
        for i, score, sim in zip(ids, scores, sims):
            r = rows.get(int(i))
            if r is not None:
                ents = tuple(found.get(r.id, ()))
                out.append(
                    Passage(
                        r.id,
                        r.doc_id,
                        r.source,
                        r.title,
                        r.date,
                        r.text,
                        r.start,
                        r.end,
                        float(score),
                        float(sim),
                        entities=ents,
                    )
                )
        return out

    def with_entities(self, passages: Sequence[Passage]) -> list[Passage]:
        """The passages with the named entities inside them: windows widened from their
        chunks, whose entities the chunks' do not cover."""
        return [
            replace(
                p, entities=tuple(e.shifted(-p.start) for e in self.store.entities_within(p.doc_id, p.start, p.end))
            )
            for p in passages
        ]

    def texts(self, doc_ids: Sequence[str]) -> dict[str, str]:
        return self.store.texts(doc_ids)

    def placed(self, ranked: Sequence[Passage], words: int) -> dict[int, Placed]:
        """Where :func:`rag.windows.placements` puts the passages of the articles this
        corpus holds, their windows with their entities."""
        found = placements(ranked, self.texts(list({p.doc_id for p in ranked})), words)
        widened = {r: place.shown for r, place in found.items() if place.shown is not None}
        done = self.with_entities(list(widened.values()))
        return {**found, **{r: Placed(shown=p) for r, p in zip(widened, done)}}

    def windows(self, ranked: Sequence[Passage], k: int, words: int) -> list[Passage]:
        return shown(ranked, self.placed(ranked, words), k)
