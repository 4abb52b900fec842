"""Sentences -> how much each says about a topic: the learned score summaries choose by.

Similarity to the query finds sentences on the topic, but the ones worth a place in a
summary carry its facts: names, numbers, dates, what happened, reported by several
articles. Each sentence read is described by :data:`SALIENCE_FEATURES` and scored by a
logistic regression learned by ``python -m train.salience`` on the RealTimeQA training
weeks, where a sentence is right when it holds the quiz's answer: the fact a reader of
that week's news was asked about.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import modelfile
from .dates import find_dates
from .discourse import is_boilerplate, needs_context
from .modelfile import ModelFileError
from .question import Question
from .text import content_stems

if TYPE_CHECKING:
    from .answer import Sentence

SALIENCE_FEATURES: tuple[str, ...] = (
    "cosine",  # with the query
    "cosine_lead",  # below the best sentence's cosine
    "centrality",  # mean cosine with the other sentences read (LexRank's intuition)
    "support_log",  # log(1 + other articles with a sentence of cosine >= SUPPORT_COSINE)
    "keywords",  # share of the query's keywords in the sentence
    "passage_score",  # its passage's retrieval score
    "passage_rank",  # 1 / (1 + its passage's rank)
    "names_log",  # log(1 + named entities)
    "numbers_log",  # log(1 + numbers)
    "dates_log",  # log(1 + date mentions)
    "new_words_log",  # log(1 + content words not in the query)
    "length_log",  # log(1 + words)
    "position_log",  # log(1 + characters before it in its article / 1000)
    "lead",  # its article's first sentence
    "quote",  # opens with a quotation mark
    "boilerplate",  # rag.discourse.is_boilerplate
    "needs_context",  # rag.discourse.needs_context
    "age_log",  # log(1 + its article's age in days, as of the query's day)
    "undated",
)
SUPPORT_COSINE = 0.7  # two sentences this close report the same thing (MiniLM cosine)
MODEL_FILE = Path(__file__).with_name("models") / "salience.json"
MODEL_ENV = "RAG_SALIENCE_MODEL"  # another model file (one written by ``train.salience --out``)
FORMAT = "rag-salience"
VERSION = 1
RETRAIN = "python -m train.salience --data ../shared/realtimeqa-train"
_NUMBER = re.compile(r"\d[\d,.]*%?|\$\d")
_QUOTES = "\"“‘'"


def salience_features(
    q: Question, sents: Sequence[Sentence], vecs: np.ndarray, query_vector: np.ndarray, as_of: dt.date
) -> tuple[np.ndarray, np.ndarray]:
    """One row of :data:`SALIENCE_FEATURES` per sentence, and the sentences' cosine
    matrix (the summariser's redundancy)."""
    from .answer import lexical_overlap

    n = len(sents)
    x = np.zeros((n, len(SALIENCE_FEATURES)))
    if not n:
        return x, np.zeros((0, 0))
    sims = vecs @ vecs.T
    cos = vecs @ query_vector
    centrality = (sims.sum(axis=1) - 1.0) / max(1, n - 1)
    docs = np.array([s.passage.doc_id for s in sents])
    rank: dict[int, int] = {}
    for s in sents:
        rank.setdefault(s.passage.chunk_id, len(rank))
    keys = set(content_stems(q.query))
    for i, s in enumerate(sents):
        p = s.passage
        close = (sims[i] >= SUPPORT_COSINE) & (docs != p.doc_id)
        support = len(set(docs[close]))
        ref = p.date
        age = (as_of - p.date).days if p.date else None
        stems = set(content_stems(s.text))
        x[i] = (
            cos[i],
            cos[i] - cos.max(),
            centrality[i],
            math.log1p(support),
            lexical_overlap(q, s.text),
            p.score,
            1.0 / (1.0 + rank[p.chunk_id]),
            math.log1p(len(s.entities)),
            math.log1p(len(_NUMBER.findall(s.text))),
            math.log1p(len(find_dates(s.text, ref))),
            math.log1p(len(stems - keys)),
            math.log1p(len(s.text.split())),
            math.log1p((p.start + s.start) / 1000.0),
            float(p.start + s.start == 0),
            float(s.text.lstrip()[:1] in _QUOTES),
            float(is_boilerplate(s.text)),
            float(needs_context(s.text)),
            math.log1p(max(age, 0)) if age is not None else 0.0,
            float(age is None),
        )
    return x, sims


class SalienceModelError(ModelFileError):
    """The salience model file is missing, damaged or made for other features."""


class Salience(modelfile.Logistic):
    """The probability that a sentence holds a fact a reader of the topic is asked
    about, from its :data:`SALIENCE_FEATURES` (a logistic regression)."""

    def save(self, path: Path = MODEL_FILE) -> None:
        modelfile.write(path, self.payload(FORMAT, VERSION, SALIENCE_FEATURES))


def read_salience(path: Path = MODEL_FILE) -> Salience:
    """The model stored at ``path``, checked: format, version, checksum and features."""
    return modelfile.read_logistic(
        path, FORMAT, VERSION, SALIENCE_FEATURES, "salience model", RETRAIN, SalienceModelError, Salience
    )


def default_salience() -> Salience:
    """The shipped model (or the one ``$RAG_SALIENCE_MODEL`` names), read once per process."""
    return modelfile.cached(read_salience, modelfile.env_or(MODEL_ENV, MODEL_FILE))  # type: ignore[return-value]
