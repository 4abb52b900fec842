"""Index -> passages: dense, lexical (BM25) or hybrid retrieval, with date filters.

Hybrid takes the best chunks of both lists and ranks their union with the learned ranker
(:mod:`rag.rank`), which weighs cosine, BM25, age, position and word overlap as the
training questions taught it. :attr:`Ranking.BLEND`, the hand-set alternative, scores
each candidate by ``alpha * cosine + (1 - alpha) * bm25 / max_bm25`` plus a recency
boost; dense and lexical modes rank by that blend's one side alone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from enum import Enum

import numpy as np

from .adapter import search_vector
from .corpus import Corpus, DateRange
from .query import DEFAULT_MODE, Mode, Query
from .rank import RECENCY_DAYS, TIME_CUE, default_ranker, rank_features
from .text import words
from .types import Passage
from .windows import WINDOW_WORDS


class Ranking(str, Enum):
    LEARNED = "learned"  # rag.rank's logistic regression (hybrid mode only)
    BLEND = "blend"  # the hand-set blend and recency boost


HYBRID_ALPHA = 0.6  # weight of the cosine in the blend
POOL = 64  # candidates taken from each list before blending
# News questions are mostly about what is recent as of the day they are asked: a passage
# gains up to RECENCY_* for being published close to that day, decaying over
# RECENCY_DAYS. Measured on half of RealTimeQA 2023q1 (see eval/README.md).
RECENCY_CUED = 0.2  # questions that say "this week", "recently", "latest", ...
RECENCY_PLAIN = 0.1  # all others
DUPLICATE_JACCARD = 0.5  # passages sharing this share of their word 4-grams are one story


def recency_boost(passages: list[Passage], query: str, as_of: dt.date) -> np.ndarray:
    """How much each passage gains for being published shortly before ``as_of``."""
    strength = RECENCY_CUED if TIME_CUE.search(query) else RECENCY_PLAIN
    ages = np.array([(as_of - p.date).days if p.date else 10**6 for p in passages], dtype=np.float64)
    return strength * np.exp(-np.maximum(ages, 0) / RECENCY_DAYS)


def candidates(
    corpus: Corpus,
    query: str,
    query_vector: np.ndarray,
    pool: int,
    allowed: DateRange | None,
    mode: Mode,
    alpha: float = HYBRID_ALPHA,
) -> tuple[list[Passage], np.ndarray]:
    """The ``pool`` best chunks of each list the mode uses (``allowed``: the dates kept,
    None for all), as passages scored by the mode, and their BM25 scores (zeros in dense
    mode); see :mod:`rag.candidates`."""
    return corpus.candidates(query, query_vector, pool, allowed, mode, alpha)


def retrieve(
    corpus: Corpus,
    query: str,
    query_vector: np.ndarray,
    k: int,
    since: dt.date | None = None,
    until: dt.date | None = None,
    mode: Mode = DEFAULT_MODE,
    as_of: dt.date | None = None,
    alpha: float = HYBRID_ALPHA,
    window_words: int = 0,
    ranking: Ranking = Ranking.LEARNED,
) -> list[Passage]:
    """The ``k`` best passages of ``corpus`` (an index's :attr:`rag.Index.corpus`) for a query, as of a day.

    A question searches with its vector mapped by the learned adapter (:mod:`rag.adapter`).
    Articles published after ``as_of`` (default: today) are left out, and recent ones
    are preferred (learned by the ranker, or :func:`recency_boost`). A date range or an explicit ``as_of`` keeps
    only dated articles; with neither, undated articles stay in. With ``window_words``
    each passage is its chunk widened to that many words of whole sentences
    (:func:`windowed`); without, the chunks themselves, as answers and summaries read them.
    """
    if corpus.is_empty:
        return []
    if since or until or as_of:
        as_of = as_of or dt.date.today()
        until = min(until, as_of) if until else as_of
        if since and since > until:
            return []
        allowed = corpus.allowed_ids(since, until)
    else:
        as_of = dt.date.today()
        allowed = corpus.ids_not_after(as_of)
    vector = search_vector(corpus.embedder.name, query, query_vector)
    passages, bm25 = candidates(corpus, query, vector, max(POOL, k), allowed, mode, alpha)
    if not passages:
        return []
    if mode is Mode.HYBRID and ranking is Ranking.LEARNED:
        final = default_ranker().scores(rank_features(query, passages, bm25, as_of))
    else:
        final = np.array([p.score for p in passages]) + recency_boost(passages, query, as_of)
    order = np.argsort(-final, kind="stable")
    ranked = [replace(passages[i], score=float(final[i])) for i in order]
    if window_words > 0:
        return windowed(corpus, ranked, k, window_words)
    return collapse_duplicates(ranked, k)


WINDOW_CANDIDATES = 3  # distinct chunks taken per window wanted: a window holds about two


def windowed(corpus: Corpus, ranked: list[Passage], k: int, words: int = WINDOW_WORDS) -> list[Passage]:
    """The first ``k`` windows of ``ranked`` chunks, copies collapsed, with their entities.
    More chunks are read only when the first ``WINDOW_CANDIDATES * k`` lie inside fewer
    than ``k`` windows."""
    take = WINDOW_CANDIDATES * k
    while True:
        distinct = collapse_duplicates(ranked, take)
        found = windows_of(corpus, distinct, k, words)
        if len(found) == k or len(distinct) < take or take >= len(ranked):
            return found
        take = len(ranked)


def windows_of(corpus: Corpus, distinct: list[Passage], k: int, words: int = WINDOW_WORDS) -> list[Passage]:
    """The first ``k`` windows of passages already free of copies (those an answer read),
    with their entities."""
    if not distinct:
        return []
    return corpus.windows(distinct, k, words)


def shingles(text: str, n: int = 4) -> set[tuple[str, ...]]:
    tokens = [w.lower() for w in words(text)]
    return {tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1))}


def _alike(a: set, b: set, threshold: float) -> bool:
    """Whether the Jaccard similarity of ``a`` and ``b`` reaches ``threshold``; sets whose
    sizes alone rule it out are not intersected."""
    small, large = sorted((len(a), len(b)))
    if small < threshold * large:
        return False
    common = len(a & b)
    return common >= threshold * (len(a) + len(b) - common)


def collapse_duplicates(ranked: list[Passage], k: int, threshold: float = DUPLICATE_JACCARD) -> list[Passage]:
    """The first ``k`` passages that are not copies of a better-ranked one.

    Overlapping news (the same wire story under several URLs) would otherwise fill the
    top k with one story; a copy's article is kept in ``also_in`` of the passage it copies.
    """
    kept: list[Passage] = []
    kept_shingles: list[set] = []
    verbatim: dict[
        str, int
    ] = {}  # a text seen -> the kept place it is or copies: a copy word for word needs no shingles
    for p in ranked:
        twin = verbatim.get(p.text)
        if twin is None:
            sh = shingles(p.text)
            twin = next((i for i, other in enumerate(kept_shingles) if _alike(sh, other, threshold)), None)
        if twin is not None:
            verbatim.setdefault(p.text, twin)
            if p.doc_id != kept[twin].doc_id and p.doc_id not in kept[twin].also_in:
                kept[twin] = replace(kept[twin], also_in=kept[twin].also_in + (p.doc_id,))
            continue
        if len(kept) == k:
            break
        verbatim.setdefault(p.text, len(kept))
        kept.append(p)
        kept_shingles.append(sh)
    return kept


def search(corpus: Corpus, query: Query) -> list[Passage]:
    """The ``query.k`` passages of ``corpus`` that best match ``query``, best first: each a
    window of whole sentences around a chunk that matched (:mod:`rag.windows`)."""
    vector = corpus.embedder.encode_queries([query.text])[0]
    return retrieve(
        corpus,
        query.text,
        vector,
        query.k,
        query.since,
        query.until,
        query.mode,
        query.as_of,
        window_words=WINDOW_WORDS,
    )
