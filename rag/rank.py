"""Candidates -> ranked passages: a learned combination of what says a chunk answers a query.

Retrieval first takes the union of the dense and BM25 candidates (:mod:`rag.retrieve`);
this module scores each by a logistic regression over :data:`RANK_FEATURES`, computed
from what the candidate list already holds (cosine, BM25, rank in either list, age,
where the chunk sits in its article, how much of the query's words, names and word
pairs it holds, how many other candidates its article has, how many names of the kind
the question asks for it holds). The weights are learned by
``python -m train.ranker`` on the RealTimeQA training weeks (label: the chunk holds the
quiz's answer) and replace a hand-set blend and recency boost.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import modelfile
from .lexicon import STOPWORDS
from .modelfile import ModelFileError
from .question import Question, analyse
from .text import content_stems, stem, stems_of, words
from .types import AnswerType, Passage

RANK_FEATURES: tuple[str, ...] = (
    "cosine",  # with the query
    "cosine_lead",  # below the best candidate's cosine
    "bm25_share",  # BM25 over the best candidate's BM25
    "bm25_log",  # log(1 + BM25)
    "dense_rank",  # 1 / (1 + rank) by cosine
    "lexical_rank",  # 1 / (1 + rank) by BM25
    "recent",  # exp(-age / 30 days) as of the query's day
    "recent_cued",  # the same, when the query says 'this week', 'latest', ...
    "age_log",  # log(1 + age in days)
    "undated",
    "lead_chunk",  # the article's first chunk
    "position_log",  # log(1 + characters before the chunk / 1000)
    "coverage",  # share of the query's content stems in the chunk
    "name_coverage",  # share of the query's capitalised words in the chunk
    "title_coverage",  # share of the query's content stems in the article's title
    "pair_coverage",  # share of the query's adjacent content-stem pairs in the chunk
    "doc_chunks_log",  # log(1 + other candidates from the same article)
    "doc_best_cosine",  # the best cosine among the article's candidates
    "length_log",  # log(1 + words)
    "typed_log",  # log(1 + entities of the types the question asks for, the question's own names left out)
    "entities_log",  # log(1 + named entities)
)
MODEL_FILE = Path(__file__).with_name("models") / "ranker.json"
MODEL_ENV = "RAG_RANKER_MODEL"  # another model file to rank with (one written by ``train.ranker --out``)
FORMAT = "rag-ranker"
VERSION = 2  # 2: the typed_log and entities_log features
RETRAIN = "python -m train.ranker --data ../shared/realtimeqa-train"
RECENCY_DAYS = 30.0  # the scale of 'recent': a month
_TIME_LABELS = {  # OntoNotes labels of the questions rag.question leaves without any (it reads dates itself)
    AnswerType.DATE: frozenset({"DATE"}),
    AnswerType.DURATION: frozenset({"DATE", "TIME", "QUANTITY", "CARDINAL"}),
}
TIME_CUE = re.compile(
    r"\b(this (?:week|month|year)|recent|recently|latest|last|new|newly|now|current|currently|today|yesterday|upcoming|just)\b",
    re.IGNORECASE,
)


def _names(query: str) -> set[str]:
    """The query's capitalised words after its first (names, mostly), lower-cased."""
    ws = words(query)
    return {w.lower() for w in ws[1:] if w[:1].isupper() and w.lower() not in STOPWORDS}


def _wanted(query: str) -> tuple[frozenset[str], Question]:
    """The entity labels an answer to ``query`` may carry (empty: any, or not a name),
    and the analysed question."""
    q = analyse(query)
    return q.labels or _TIME_LABELS.get(q.type, frozenset()), q


def _typed(p: Passage, labels: frozenset[str], q: Question) -> int:
    """How many of ``p``'s entities carry one of ``labels`` without being words of the
    question: an answer seldom repeats what the question names."""
    typed = [p.text[e.start : e.end] for e in p.entities if e.label in labels]
    return sum(not all(q.holds(w) for w in words(t)) for t in typed)


def _pairs(stems: Sequence[str]) -> set[tuple[str, str]]:
    return {(a, b) for a, b in zip(stems, stems[1:])}


def rank_features(query: str, passages: Sequence[Passage], bm25: np.ndarray, as_of: dt.date) -> np.ndarray:
    """One row of :data:`RANK_FEATURES` per candidate passage (``bm25``: their BM25 scores)."""
    n = len(passages)
    x = np.zeros((n, len(RANK_FEATURES)))
    if not n:
        return x
    cos = np.array([p.similarity for p in passages], dtype=np.float64)
    bm = np.asarray(bm25, dtype=np.float64)
    dense_rank = np.empty(n)
    dense_rank[np.argsort(-cos, kind="stable")] = np.arange(n)
    lexical_rank = np.empty(n)
    lexical_rank[np.argsort(-bm, kind="stable")] = np.arange(n)
    lexical_rank[bm <= 0] = n
    cued = bool(TIME_CUE.search(query))
    q_stems = content_stems(query)
    keys, pairs, names = set(q_stems), _pairs(q_stems), _names(query)
    per_doc = Counter(p.doc_id for p in passages)
    best_doc: dict[str, float] = {}
    for p in passages:
        best_doc[p.doc_id] = max(best_doc.get(p.doc_id, -1.0), p.similarity)
    top_bm = float(bm.max()) if bm.max() > 0 else 1.0
    labels, question = _wanted(query)
    for i, p in enumerate(passages):
        tokens = words(p.text)
        text_stems = stems_of(tokens)
        have = set(text_stems)
        lower = {w.lower() for w in tokens}
        age = (as_of - p.date).days if p.date else None
        recent = math.exp(-max(age, 0) / RECENCY_DAYS) if age is not None else 0.0
        x[i] = (
            cos[i],
            cos[i] - cos.max(),
            bm[i] / top_bm,
            math.log1p(max(bm[i], 0.0)),
            1.0 / (1.0 + dense_rank[i]),
            1.0 / (1.0 + lexical_rank[i]),
            recent,
            recent if cued else 0.0,
            math.log1p(max(age, 0)) if age is not None else 0.0,
            float(age is None),
            float(p.start == 0),
            math.log1p(p.start / 1000.0),
            len(keys & have) / len(keys) if keys else 0.0,
            len(names & lower) / len(names) if names else 0.0,
            len(keys & {stem(w) for w in words(p.title)}) / len(keys) if keys else 0.0,
            len(pairs & _pairs(text_stems)) / len(pairs) if pairs else 0.0,
            math.log1p(per_doc[p.doc_id] - 1),
            best_doc[p.doc_id],
            math.log1p(len(text_stems)),
            math.log1p(_typed(p, labels, question)) if labels else 0.0,
            math.log1p(len(p.entities)),
        )
    return x


class RankerModelError(ModelFileError):
    """The ranker's model file is missing, damaged or made for other features."""


class Ranker(modelfile.Logistic):
    """The probability that a candidate chunk holds the answer to the query, from its
    :data:`RANK_FEATURES` (a logistic regression)."""

    def to_payload(self) -> dict:
        return self.payload(FORMAT, VERSION, RANK_FEATURES)

    def save(self, path: Path = MODEL_FILE) -> None:
        modelfile.write(path, self.to_payload())


def read_ranker(path: Path = MODEL_FILE) -> Ranker:
    """The ranker stored at ``path``, checked: format, version, checksum and features."""
    return modelfile.read_logistic(
        path, FORMAT, VERSION, RANK_FEATURES, "ranker model", RETRAIN, RankerModelError, Ranker
    )


def default_ranker() -> Ranker:
    """The shipped ranker (or the one ``$RAG_RANKER_MODEL`` names), read once per process."""
    return modelfile.cached(read_ranker, modelfile.env_or(MODEL_ENV, MODEL_FILE))  # type: ignore[return-value]
