"""Candidate answers -> feature rows for the learned reader.

One row per candidate span key (a span and every mention of it across the passages
read). The features are the evidence the hand-written scoring in :mod:`rag.answer`
already measures, kept apart instead of multiplied together, so that the reader
(:mod:`rag.qa.reader`) learns from the training weeks how much each one is worth:
sentence similarity and keyword overlap, the span's shape and tagger label against
the question's type, support across articles, closeness to question words, its fit
to the question as a phrase, the span scorer's reading of its sentence in its passage
(:mod:`rag.qa.span`: the best score of any mention, that less its passage's "no
answer" score, and its gap to the question's best), and how many of the question's
names and numbers its passage holds ("Who won the 2022 World Cup?" over a passage on
a league cup). Nothing about the size of the index or the age of the articles: a
weekly news quiz answers from this week's news, a reader of a year's archive does not,
and the reader must serve both.
Question-level features (the best passage's similarity, how many candidates there
are) let the same model say how likely its best answer is right at all.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..lexicon import STOPWORDS
from ..question import Question, Recency
from ..text import stem, words
from ..types import AnswerType, Passage

if TYPE_CHECKING:
    from ..answer import Pool

MAX_CANDIDATES = 24  # keys scored per question, best by hand-weighed evidence first

_QTYPES = (
    AnswerType.DATE,
    AnswerType.NUMBER,
    AnswerType.DURATION,
    AnswerType.PLACE,
    AnswerType.PERSON,
    AnswerType.MANNER,
    AnswerType.ENTITY,
)
# OntoNotes labels in the groups a question type cares about
_LABEL_GROUPS = (
    ("person", frozenset({"PERSON"})),
    ("org", frozenset({"ORG"})),
    ("place", frozenset({"GPE", "LOC", "FAC"})),
    ("norp", frozenset({"NORP"})),
    ("work", frozenset({"WORK_OF_ART", "EVENT", "PRODUCT", "LAW", "LANGUAGE"})),
    ("quantity", frozenset({"CARDINAL", "MONEY", "PERCENT", "QUANTITY", "ORDINAL"})),
    ("time", frozenset({"DATE", "TIME"})),
)

FEATURES: tuple[str, ...] = (
    "evidence",
    "evidence_share",
    "evidence_rank",
    "margin",
    "sentence_score",
    "mention_score",
    "prior",
    "proximity",
    "fit",
    "dense",
    "dense_max",
    "lexical",
    "lexical_max",
    "passage_rank",
    "passage_similarity",
    "docs",
    "mentions",
    "words",
    "question_overlap",
    "in_title",
    "recency_pick",
    "has_when",
    "ahead",
    "phrase_question",
    "phrase_focus",
    "phrase_focus_share",
    "phrase_question_share",
    "top_similarity",
    "span",
    "span_vs_none",
    "span_gap",
    "proposed",
    "names_held",
    "kind_date",
    "kind_number",
    "kind_name",
    "kind_phrase",
    *(f"label_{name}" for name, _ in _LABEL_GROUPS),
    "label_none",
    "label_fit",
    "label_misfit",
    *(f"q_{t.value}" for t in _QTYPES),
    "q_open",
    "q_recency",
    "q_labels",
)


def _plain(text: str) -> str:
    """``text`` as candidate keys are written: lower case, words joined by single spaces,
    padded so that a key matches whole words."""
    return " " + re.sub(r"\W+", " ", text.lower()).strip() + " "


def _kind(text: str, is_date: bool) -> int:
    if is_date:
        return 0
    if any(ch.isdigit() for ch in text):
        return 1
    return 2 if text[:1].isupper() else 3


_TOKEN = re.compile(r"[\w'’.-]*\w")


def question_names(q: Question) -> frozenset[str]:
    """The question's names and numbers, lower-cased: the capitalised words after its
    first and every word with a digit ('2022', 'world', 'cup' of "Who won the 2022
    World Cup?"). A passage that answers the question holds them."""
    tokens = _TOKEN.findall(q.text)
    return frozenset(
        t.lower()
        for i, t in enumerate(tokens)
        if (i > 0 and t[:1].isupper() and t.lower() not in STOPWORDS) or any(ch.isdigit() for ch in t)
    )


def passage_words(p: Passage) -> set[str]:
    """The passage's words, lower-cased, as :func:`question_names` cuts them."""
    return {t.lower() for t in _TOKEN.findall(p.text)}


def names_stated(q: Question, passages: Sequence[Passage]) -> bool:
    """Whether one of ``passages`` names every name and number the question gives (False
    where it gives none). The embedding model knows few names: "Who is Ana Ribeiro?" lies
    at cosine .09 from "Mayor Ana Ribeiro cut the ribbon", so this, not the cosine, says
    that such a passage is on the question's topic."""
    names = question_names(q)
    return bool(names) and any(names <= passage_words(p) for p in passages)


def _names_held(q: Question) -> Callable[[Passage], float]:
    """The share of the question's names and numbers a passage holds (1 where the
    question has none), memoised per passage."""
    names = question_names(q)
    seen: dict[int, float] = {}

    def held(p: Passage) -> float:
        if not names:
            return 1.0
        if id(p) not in seen:
            seen[id(p)] = len(names & passage_words(p)) / len(names)
        return seen[id(p)]

    return held


def features(pool: Pool, limit: int = MAX_CANDIDATES) -> tuple[list[str], np.ndarray]:
    """The candidate keys of ``pool`` (at most ``limit``, by evidence) and their feature
    rows, in the order of :data:`FEATURES`."""
    q = pool.question
    keys = pool.ranked[:limit]
    best_total = pool.totals[pool.ranked[0]] or 1e-9
    q_row = [float(q.type is t) for t in _QTYPES] + [
        float(q.open_category),
        float(q.recency is not Recency.ANY),
        float(bool(q.labels)),
    ]
    fits = [pool.phrase_fit.get(k, (0.0, 0.0)) for k in keys]
    best_q = max((f[0] for f in fits), default=0.0) or 1e-9
    best_f = max((f[1] for f in fits), default=0.0) or 1e-9
    spans = [pool.span.get(k, (0.0, 0.0)) for k in keys]
    held = _names_held(q)
    best_span = max((s[0] for s in spans), default=0.0)
    rows = []
    for r, key in enumerate(keys):
        items = pool.groups[key]
        m = items[0]
        c = m.candidate
        total = pool.totals[key]
        other = max((pool.totals[k] for k in pool.ranked[:2] if k != key), default=0.0)
        tokens = words(c.text)
        published = m.sentence.passage.date
        kind = _kind(c.text, c.date is not None)
        label = c.label
        rows.append(
            [
                math.log(max(total, 0.0) + 1e-4),
                total / best_total,
                1.0 / (1.0 + r),
                total / (total + other) if total + other > 0 else 0.0,
                m.sentence_score,
                math.log(max(m.score, 0.0) + 1e-4),
                math.log(c.prior + 1e-4),
                m.proximity,
                m.fit,
                m.dense,
                max(it.dense for it in items),
                m.lexical,
                max(it.lexical for it in items),
                1.0 / (1.0 + min(it.rank for it in items)),
                max(it.sentence.passage.similarity for it in items),
                math.log1p(len({it.sentence.passage.doc_id for it in items})),
                math.log1p(len(items)),
                math.log1p(len(tokens)),
                sum(1 for w in tokens if q.holds(w)) / len(tokens) if tokens else 0.0,
                float(bool(key) and any(f" {key} " in _plain(it.sentence.passage.title) for it in items)),
                float(key == pool.recency_pick),
                float(c.when is not None),
                float(c.when is not None and published is not None and c.when > published),
                fits[r][0],
                fits[r][1],
                fits[r][1] / best_f if best_f > 1e-6 else 0.0,
                fits[r][0] / best_q if best_q > 1e-6 else 0.0,
                pool.top_similarity,
                spans[r][0],
                spans[r][1],
                spans[r][0] - best_span,
                float(all(it.candidate.proposed for it in items)),
                max(held(it.sentence.passage) for it in items),
                *(float(kind == i) for i in range(4)),
                *(float(label in group) for _, group in _LABEL_GROUPS),
                float(label is None),
                float(label is not None and label in q.labels),
                float(label is not None and bool(q.labels) and label not in q.labels),
                *q_row,
            ]
        )
    return keys, np.asarray(rows, dtype=np.float64).reshape(len(keys), len(FEATURES))


RELEVANCE_FEATURES: tuple[str, ...] = ("top_similarity", "mean_similarity", "keyword_coverage")
RELEVANCE_PASSAGES = 8  # the first passages retrieved that the relevance reads (train.reader retrieves them for it)


def relevance_features(q: Question, passages: Sequence[Passage]) -> np.ndarray:
    """How well the best passages match a query at all: their best and mean cosine with
    it and the best share of its keywords one passage holds (in the order of
    :data:`RELEVANCE_FEATURES`); what says "nothing in the index on this topic"."""
    top = list(passages[:RELEVANCE_PASSAGES])
    if not top:
        return np.zeros(len(RELEVANCE_FEATURES))
    sims = [p.similarity for p in top]
    keys = set(q.keywords)
    coverage = (
        max((len(keys & {stem(w) for w in words(p.text)}) / len(keys) for p in top), default=0.0) if keys else 0.0
    )
    return np.array([max(sims), sum(sims) / len(sims), coverage])
