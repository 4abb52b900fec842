"""The candidates retrieval ranks: the best chunks of the dense list, of the BM25 list, or
of both, with their BM25 scores and cosines.

It is one read of each shard (:func:`of_shard`) and a merge (:func:`merge`): one index is
a shard of one, and a sharded index (:mod:`rag.merged`) asks every shard at once and
merges their lists by score, ties to the lower chunk id. Each shard also scores its own
candidates on the side the other list needs (the BM25 score of a dense hit, the cosine
of a BM25 hit), so that whatever the merged lists keep has both scores without asking
again: the same figures one index gives, in one round trip instead of five.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .lexical import Stats
from .query import Mode
from .types import Passage

if TYPE_CHECKING:
    from .corpus import DateRange, Loaded


def blend(cosine: np.ndarray, bm25: np.ndarray, alpha: float) -> np.ndarray:
    top = float(bm25.max()) if len(bm25) else 0.0
    lexical = bm25 / top if top > 0 else np.zeros_like(bm25)
    return alpha * cosine + (1 - alpha) * lexical


@dataclass(frozen=True)
class ShardCandidates:
    """One shard's best chunks of each list its mode uses (empty for a list it does not),
    and for every chunk in them (``held``, ascending) its BM25 score and cosine."""

    dense_ids: np.ndarray
    dense_scores: np.ndarray
    lexical_ids: np.ndarray
    lexical_scores: np.ndarray
    held: np.ndarray
    bm25: np.ndarray
    cosine: np.ndarray


@dataclass(frozen=True)
class Chosen:
    """The candidates, in the order retrieval reads them (chunk ids ascending in hybrid
    mode, the one list's own order in dense and lexical mode): their score under the
    mode, cosine and BM25 score."""

    ids: np.ndarray
    scores: np.ndarray
    cosine: np.ndarray
    bm25: np.ndarray


def merge_top(ids: list[np.ndarray], scores: list[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of several shards' hits, best first, ties to the lower chunk id."""
    all_ids = np.concatenate(ids) if ids else np.zeros(0, np.int64)
    all_scores = np.concatenate(scores) if scores else np.zeros(0, np.float32)
    order = np.lexsort((all_ids, -all_scores))[:k]
    return all_ids[order], all_scores[order]


def _top(ids: list[np.ndarray], scores: list[np.ndarray], k: int) -> tuple[np.ndarray, np.ndarray]:
    """One list as its index ordered it, or several merged."""
    return (ids[0][:k], scores[0][:k]) if len(ids) == 1 else merge_top(ids, scores, k)


def _none() -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(0, np.int64), np.zeros(0, np.float32)


def of_shard(
    s: Loaded,
    query: str,
    query_vector: np.ndarray,
    pool: int,
    allowed: DateRange | None,
    mode: Mode,
    stats: Stats | None = None,
    totals: tuple[int, int] | None = None,
) -> ShardCandidates:
    """The ``pool`` best chunks of ``s`` on each list ``mode`` uses; ``stats`` and
    ``totals``: BM25 figures and a filter's counts over all shards when ``s`` is one of several."""
    dense = s.dense(query_vector, pool, allowed, totals) if mode is not Mode.LEXICAL else _none()
    hits = s.lexical_hits(query, allowed, stats) if mode is not Mode.DENSE else None
    lexical = hits.top(pool) if hits is not None else _none()
    if mode is Mode.DENSE:  # the search's own cosines; no BM25
        held, cosine, bm25 = dense[0], dense[1], np.zeros(len(dense[0]), np.float32)
    else:
        assert hits is not None
        held = np.union1d(dense[0], lexical[0])
        bm25, cosine = hits.at(held), s.similarities(held, query_vector)
    return ShardCandidates(dense[0], dense[1], lexical[0], lexical[1], held, bm25, cosine)


def merge(parts: list[ShardCandidates], pool: int, mode: Mode, alpha: float) -> Chosen:
    """The candidates of shards ``parts``, as :func:`of_shard` of one index of all their
    chunks would have them: each list's ``pool`` best over all shards, ties to the lower id."""
    if mode is Mode.DENSE:
        ids, scores = _top([p.dense_ids for p in parts], [p.dense_scores for p in parts], pool)
        return Chosen(ids, scores, scores, np.zeros(len(ids)))
    held = np.concatenate([p.held for p in parts])
    order = np.argsort(held, kind="stable")
    held = held[order]
    bm25_all = np.concatenate([p.bm25 for p in parts])[order]
    cosine_all = np.concatenate([p.cosine for p in parts])[order]
    lex_ids, _ = _top([p.lexical_ids for p in parts], [p.lexical_scores for p in parts], pool)
    if mode is Mode.LEXICAL:
        ids = lex_ids
    else:
        dense_ids, _ = _top([p.dense_ids for p in parts], [p.dense_scores for p in parts], pool)
        ids = np.union1d(dense_ids, lex_ids)
    at = np.searchsorted(held, ids)
    bm25, cosine = bm25_all[at], cosine_all[at]
    scores = blend(np.zeros(len(ids)), bm25, 0.0) if mode is Mode.LEXICAL else blend(cosine, bm25, alpha)
    return Chosen(ids, scores, cosine, bm25)


def as_passages(chosen: Chosen, passages: list[Passage]) -> tuple[list[Passage], np.ndarray]:
    """``passages`` (those of ``chosen`` found in the store, in its order) and their BM25 scores."""
    by_id = dict(zip((int(i) for i in chosen.ids), chosen.bm25))
    return passages, np.array([by_id[p.chunk_id] for p in passages], dtype=np.float64)
