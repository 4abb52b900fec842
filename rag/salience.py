"""Sentences -> how much each says about a topic: the learned score summaries choose by.

Similarity to the query finds sentences on the topic, but the ones worth a place in a
summary carry its facts: names, numbers, dates, what happened, reported by several
articles. Each sentence read is described by :data:`SALIENCE_FEATURES` and scored by a
few small networks learned by ``python -m train.salience`` on the RealTimeQA training
weeks, where a sentence is right when it holds the fact a reader of the topic was asked
about: a quiz's answer, a reading question's, or what several articles of a story state.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
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
VERSION = 2  # 1: a logistic regression
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


@dataclass(frozen=True)
class Salience:
    """The probability that a sentence holds a fact a reader of the topic is asked
    about, from its :data:`SALIENCE_FEATURES`: the mean of a few small networks' (one
    hidden layer, trained from different seeds; the mean steadies what one seed's net
    learns). Cross-validation on the training weeks preferred them to a logistic
    regression of the same features for every kind of topic (eval/README.md)."""

    mean: np.ndarray
    scale: np.ndarray
    networks: tuple[modelfile.Layers, ...]
    info: dict | None = None

    def scores(self, x: np.ndarray) -> np.ndarray:
        """One probability per row of ``x``."""
        h = (x - self.mean) / self.scale
        return np.mean([modelfile.sigmoid(modelfile.network(net, h)) for net in self.networks], axis=0)

    def payload(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "features": list(SALIENCE_FEATURES),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "networks": [modelfile.layers_json(net) for net in self.networks],
            "info": self.info or {},
        }

    def save(self, path: Path = MODEL_FILE) -> None:
        modelfile.write(path, self.payload())


def read_salience(path: Path = MODEL_FILE) -> Salience:
    """The model stored at ``path``, checked: format, version, checksum and features."""
    what = "salience model"
    data = modelfile.read(path, FORMAT, VERSION, what, RETRAIN, SalienceModelError)
    if tuple(data.get("features", ())) != SALIENCE_FEATURES:
        raise SalienceModelError(
            f"{what} {path} was trained on other features than this rag computes; retrain with `{RETRAIN}`"
        )
    try:
        model = Salience(
            mean=np.asarray(data["mean"], dtype=np.float64),
            scale=np.asarray(data["scale"], dtype=np.float64),
            networks=tuple(modelfile.layers_of(net) for net in data["networks"]),
            info=dict(data.get("info", {})),
        )
        if not model.networks:
            raise ValueError("no networks")
        model.scores(np.zeros((1, len(SALIENCE_FEATURES))))  # shapes agree
    except (KeyError, TypeError, ValueError) as exc:
        raise SalienceModelError(
            f"{what} {path} is damaged ({type(exc).__name__}: {exc}); retrain with `{RETRAIN}`"
        ) from None
    return model


def default_salience() -> Salience:
    """The shipped model (or the one ``$RAG_SALIENCE_MODEL`` names), read once per process."""
    return modelfile.cached(read_salience, modelfile.env_or(MODEL_ENV, MODEL_FILE))  # type: ignore[return-value]
