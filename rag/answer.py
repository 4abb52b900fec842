"""Passages -> answer: an extractive span, chosen by a learned reader.

1. Retrieve the best passages for the question and cut them into sentences.
2. Score each sentence: cosine similarity with the question (embedded together in one
   batch), plus overlap with the question's content words, plus its passage's score.
3. In each sentence, find spans of the shape the question asks for (:mod:`rag.spans`);
   drop spans that only repeat the question; measure their closeness to question words.
4. Group the mentions of the same span across sentences and articles (:class:`Pool`),
   with their hand-weighed evidence.
5. The reader (:mod:`rag.qa.reader`, trained on the RealTimeQA training weeks) scores
   every group from its features (:mod:`rag.qa.features`) and says how likely the best
   one is right; below its threshold the answer is None ("no answer in the index").
   ``Selection.RULES`` instead takes the best-supported span (for "last"/"first"
   questions about dates, the latest/earliest well-supported event), as before the
   reader was trained; so do question types the training weeks hold too few of
   (dates, durations, manner, "who is <name>").
When the best passage is not similar enough, or no span fits, the answer is None.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import re
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np

from .corpus import Corpus
from .lexicon import MEASURE_UNITS, TIME_UNITS
from .qa.features import MAX_CANDIDATES, features, names_stated
from .qa.reader import Reader, default_reader
from .qa.span import Read, read_passages, span_scores, top_spans
from .query import Query
from .question import Question, Recency, Tense, analyse
from .retrieve import Ranking, retrieve, windows_of
from .sentences import split_spans
from .spans import Candidate, candidates, has_shape, proposed
from .text import stem, words
from .types import Answer, AnswerType, Entity, Passage
from .verify import verify


class Selection(str, Enum):
    """How the answer is chosen among the candidate spans."""

    LEARNED = "learned"  # the reader model (:mod:`rag.qa.reader`) ranks them and says when none is right
    RULES = "rules"  # the hand-weighed evidence alone, as before the reader was trained


@dataclass(frozen=True)
class AnswerConfig:
    read_passages: int = 8  # passages whose sentences are read (at least the query's k)
    min_passage_score: float = 0.1  # below this, nothing in the index is on the topic
    min_sentence_score: float = 0.15  # an answer's sentence must score at least this
    recency_margin: float = 0.8  # candidates within this share of the best compete on date
    dense_weight: float = 0.55
    lexical_weight: float = 0.3
    passage_weight: float = 0.15
    embed_sentences: int = 6  # sentences embedded (the best by words and passage); most of an answer's time
    type_fit_candidates: int = 48  # for "which <category>": candidates whose fit to the category is embedded
    type_power: float = 1.0  # a candidate's score is scaled by (its fit / the best fit) ** this
    name_fit_floor: float = 0.5  # ... but a name's by no less than this: the model knows few names
    int8_sentences: bool = (
        True  # embed them with int8 weights: 2.4x faster, 2 of 331 RealTimeQA answers lost (eval/README.md)
    )
    rank_decay: float = 0.25  # a sentence of the passage ranked r (from 0) counts 1 / (1 + rank_decay * r)
    ranking: Ranking = Ranking.LEARNED  # the passage order read (train.reader reads the blend's; see there)
    selection: Selection = Selection.LEARNED
    propose_spans: int | None = (
        None  # the span scorer's best spans per passage added as candidates (:func:`proposals`); None: as many as the reader was trained with
    )
    judge_rules: bool = True  # the reader's judge says whether the hand-weighed pick of a date question is answered (:func:`_by_rules_judged`)


@dataclass(frozen=True)
class Sentence:
    passage: Passage
    start: int  # offsets within the passage text
    end: int
    text: str
    entities: tuple[Entity, ...] = ()  # in the sentence's offsets


@dataclass
class _Scored:
    """One mention of a candidate span, with the evidence measured for it."""

    candidate: Candidate
    sentence: Sentence
    sentence_score: float
    score: float
    dense: float = 0.0  # the sentence's cosine with the question (its passage's, if not embedded)
    lexical: float = 0.0  # IDF-weighted share of the question's keywords in the sentence
    proximity: float = 0.0  # :func:`_proximity`
    rank: int = 0  # the rank of the sentence's passage among those read
    fit: float = 1.0  # fit to an open category (:func:`_type_fit`)


@dataclass(frozen=True)
class Pool:
    """A question's candidate answers in the passages read, grouped by what they say."""

    question: Question
    groups: dict[str, list[_Scored]]  # span key -> its mentions, best first
    totals: dict[str, float]  # hand-weighed evidence of each key (:func:`_evidence`, fuller names credited)
    ranked: list[str]  # keys, most evidence first
    recency_pick: str  # the key :func:`_by_recency` picks
    top_similarity: float  # the best passage's cosine with the question
    phrase_fit: dict[str, tuple[float, float]] = field(
        default_factory=dict
    )  # key -> span's cosine with the question, with its focus (:func:`phrase_fit`)
    span: dict[str, tuple[float, float]] = field(
        default_factory=dict
    )  # key -> the span scorer's best score for it, and that less its passage's "no answer" (:func:`rag.qa.span.span_scores`)


def sentences_of(passages: list[Passage]) -> list[Sentence]:
    """Sentences of the passages, each once even where overlapping chunks repeat it."""
    seen: set[tuple[str, int]] = set()
    out = []
    for p in passages:
        for a, b in split_spans(p.text):
            key = (p.doc_id, p.start + a)
            if key not in seen:
                seen.add(key)
                ents = tuple(e.shifted(-a) for e in p.entities if a <= e.start and e.end <= b)
                out.append(Sentence(p, a, b, p.text[a:b], ents))
    return out


def keyword_weights(q: Question, texts: list[str]) -> dict[str, float]:
    """IDF of each question keyword over the sentences read: rare words say more."""
    bags = [{stem(w) for w in words(t)} for t in texts]
    n = len(bags)
    return {k: math.log(1.0 + (n + 1) / (1 + sum(1 for b in bags if k in b))) for k in q.keywords}


def lexical_overlap(q: Question, text: str, weights: dict[str, float] | None = None) -> float:
    """Share of the question's keywords (IDF-weighted when weights are given) found in ``text``."""
    if not q.keywords:
        return 0.0
    weights = weights or {k: 1.0 for k in q.keywords}
    stems = {stem(w) for w in words(text)}
    total = sum(weights.values())
    return sum(w for k, w in weights.items() if k in stems) / total if total else 0.0


def _keyword_places(sentence: str, weights: dict[str, float]) -> list[tuple[int, int, float]]:
    """Where the question's keywords are in ``sentence``: (start, end, weight / the top weight)."""
    top = max(weights.values(), default=0.0)
    out = []
    for m in re.finditer(r"[\w'’]+", sentence):
        w = weights.get(stem(m.group(0)))
        if w is not None:
            out.append((m.start(), m.end(), w / top))
    return out


def _proximity(c: Candidate, places: list[tuple[int, int, float]]) -> float:
    """Near 1 when a rare question word (``places``: :func:`_keyword_places`) sits right
    beside the span, falling off with distance."""
    best = 0.0
    for start, end, w in places:
        if c.start <= start < c.end:
            continue
        d = max(0, c.start - end if end <= c.start else start - c.end)
        best = max(best, w / (1.0 + d / 30.0))
    return best


def _tense_fit(q: Question, c: Candidate, published: dt.date | None) -> float:
    """'When did ...' asks about something that had happened when the article was written;
    'when will ...' about something still to come."""
    if c.date is None or published is None or q.tense is Tense.ANY:
        return 1.0
    ahead = c.date.value > published
    return 0.4 if ahead == (q.tense is Tense.PAST) else 1.0


def _repeats_question(q: Question, c: Candidate) -> bool:
    if c.date is not None:
        return bool(re.search(re.escape(c.text), q.text, re.IGNORECASE))
    # 'U.S.' repeats a question's 'US'
    return any(found and all(q.holds(w) for w in found) for found in (words(c.text), words(c.text.replace(".", ""))))


def _same_date(c: Candidate, dated: list[Candidate]) -> bool:
    """Whether a proposed span overlaps a date the rules found in the same sentence: the
    same mention ('June 2019'), already a candidate under its resolved day ('2019-06');
    as a second key it would split that answer's evidence in two."""
    return any(d.start < c.end and c.start < d.end for d in dated)


OTHER_VOTES = 0.25  # weight of each further article that supports a span, after the best


def _evidence(items: list[_Scored]) -> float:
    """One vote per article, its strongest; the best counts in full, the others less."""
    docs: dict[str, float] = {}
    for it in sorted(items, key=lambda x: -x.score):
        docs.setdefault(it.sentence.passage.doc_id, it.score)
    votes = sorted(docs.values(), reverse=True)
    return votes[0] + OTHER_VOTES * sum(votes[1:]) if votes else 0.0


def _where(it: _Scored) -> tuple[str, int]:
    return it.sentence.passage.doc_id, it.sentence.passage.start + it.sentence.start


def _credit_longer_names(groups: dict[str, list[_Scored]], totals: dict[str, float]) -> dict[str, float]:
    """A name's fuller form gets half the evidence of its best short form found elsewhere:
    'Biden' in one article and 'Joe Biden' in another both speak for 'President Joe
    Biden', and the fuller form is the better answer. A short form inside the same
    sentence (the tagger's 'Tomas' of 'Tomas Berg') is the same mention, not more evidence."""
    out = dict(totals)
    for long in groups:
        tokens = long.split(" ")  # keys are words joined by single spaces
        n = len(tokens)
        parts = {" ".join(tokens[i:j]) for i in range(n) for j in range(i + 1, n + 1) if j - i < n}
        shorter = [k for k in parts if k in groups]
        if not shorter:
            continue
        here = {_where(it) for it in groups[long]}
        credit = [_evidence([it for it in groups[short] if _where(it) not in here]) for short in shorter]
        out[long] += 0.5 * max(credit, default=0.0)
    return out


def _type_fit(
    q: Question, ranked: list[list[Candidate]], embed: Callable[[list[str]], np.ndarray], config: AnswerConfig
) -> dict[str, float]:
    """For "which <category>" questions, how well each candidate (the first
    ``type_fit_candidates`` of the best sentences') fits the category, as a factor of at
    most 1: (cosine to the focus / the best cosine) ** ``type_power``. 'Strawberries' fits
    'fruit' (.65), 'pesticides' does not."""
    if not q.open_category or not config.type_power:
        return {}
    texts: dict[str, str] = {}  # candidate key -> the words whose fit is measured
    for cands in ranked:
        for c in cands:
            if len(texts) < config.type_fit_candidates and c.key not in texts:
                # '80th anniversary' for 'which anniversary' fits as well as '80th' does, not
                # as the category's own word does
                rest = " ".join(w for w in words(c.text) if stem(w) not in q.focus)
                if rest:
                    texts[c.key] = rest
    if not texts:
        return {}
    vecs = embed([q.focus_text, *texts.values()])
    sims = np.maximum(vecs[1:] @ vecs[0], 0.01)
    fit = {k: float((s / sims.max()) ** config.type_power) for k, s in zip(texts, sims)}
    return {k: max(f, config.name_fit_floor) if texts[k][:1].isupper() else f for k, f in fit.items()}


def _day(when: dt.date | None) -> int:
    return when.toordinal() if when is not None else 0


def _by_recency(
    recency: Recency, ranked: list[str], groups: dict[str, list[_Scored]], totals: dict[str, float], margin: float
) -> str:
    """The answer among ``ranked`` (best supported first) for a "last" or "first"
    question: of the spans within ``margin`` of the best, the one of the latest (earliest)
    event; of spans of the same day, the best supported."""
    if recency is Recency.ANY:
        return ranked[0]
    contenders = []
    for key in ranked:
        if totals[key] < margin * totals[ranked[0]]:
            break
        item = groups[key][0]
        published = item.sentence.passage.date
        when = item.candidate.when
        if when is None or (published is not None and when > published):
            continue  # undated, or still to come when the article was written
        contenders.append(key)
    if not contenders:
        return ranked[0]
    sign = 1 if recency is Recency.LATEST else -1
    return max(contenders, key=lambda k: (sign * _day(groups[k][0].candidate.when), totals[k]))


def rule_candidates(q: Question, sents: list[Sentence]) -> list[list[Candidate]]:
    """The spans of the asked shape the rules of :mod:`rag.spans` find in each sentence,
    less those that only repeat the question."""
    return [
        [c for c in candidates(s.text, s.passage.date, q, s.entities) if not _repeats_question(q, c)] for s in sents
    ]


@dataclass
class _SentenceEvidence:
    """What :func:`gather` measures of the sentences that hold a candidate (by index into
    its sentences) before scoring their spans."""

    weights: dict[str, float]  # the question's keyword weights (:func:`keyword_weights`)
    useful: list[int]  # sentences holding a candidate
    lexical: dict[int, float]
    dense: dict[int, float]  # the passage's similarity until the sentence is embedded
    rank: dict[int, int]  # passage (by identity) -> its rank among the passages read
    decay: dict[int, float]
    config: AnswerConfig
    sents: list[Sentence]

    def score(self, i: int) -> float:
        c, s = self.config, self.sents[i]
        return (
            c.dense_weight * self.dense[i]
            + c.lexical_weight * self.lexical[i]
            + c.passage_weight * s.passage.similarity
        ) / self.decay[i]

    def order(self) -> list[int]:
        """The sentences holding a candidate, best scored first."""
        return sorted(self.useful, key=lambda i: -self.score(i))

    def to_embed(self) -> list[int]:
        """The sentences worth embedding, best first: only those that could still win
        on the passage's similarity, words and rank."""
        return self.order()[: self.config.embed_sentences]


def _sentence_evidence(
    q: Question, sents: list[Sentence], found: list[list[Candidate]], config: AnswerConfig
) -> _SentenceEvidence:
    weights = keyword_weights(q, [s.text for s in sents])
    rank: dict[int, int] = {}
    for s in sents:
        rank.setdefault(id(s.passage), len(rank))
    useful = [i for i, cands in enumerate(found) if cands]
    return _SentenceEvidence(
        weights,
        useful,
        {i: lexical_overlap(q, sents[i].text, weights) for i in useful},
        {i: sents[i].passage.similarity for i in useful},
        rank,
        {i: 1.0 + config.rank_decay * rank[id(sents[i].passage)] for i in useful},
        config,
        sents,
    )


class _Embedded:
    """``embed`` remembering each text's vector, so that sentences embedded while the
    span scorer reads are not embedded again. Exact: each sentence is its own run
    (``batch_size`` 1), so a vector does not depend on what it was embedded with."""

    def __init__(self, embed: Callable[[list[str]], np.ndarray]) -> None:
        self.embed = embed
        self.vectors: dict[str, np.ndarray] = {}

    def __call__(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self.vectors))
        if missing:
            self.vectors.update(zip(missing, self.embed(missing)))
        return np.stack([self.vectors[t] for t in texts]) if texts else np.zeros((0, 0), dtype=np.float32)


def gather(
    q: Question,
    sents: list[Sentence],
    embed: Callable[[list[str]], np.ndarray],
    question_vector: np.ndarray,
    config: AnswerConfig,
    embed_phrases: Callable[[list[str]], np.ndarray] | None = None,
    extra: list[list[Candidate]] | None = None,
    found: list[list[Candidate]] | None = None,
) -> Pool | None:
    """Every candidate span in ``sents`` with its evidence, grouped by key; None if none.
    ``extra``: candidates proposed beside the rules' (:func:`proposals`), per sentence;
    ``found``: the rules' (:func:`rule_candidates`) where already found.

    Embedding is most of the time an answer takes, so only the few sentences that hold a
    candidate span and score best on words and passage are embedded; on RealTimeQA half A
    embedding the best 6 answered as well as embedding all (~37 a question) at a sixth of
    the time (eval/README.md).
    """
    found = [list(f) for f in (found if found is not None else rule_candidates(q, sents))]
    for i, more in enumerate(extra or ()):
        keys = {c.key for c in found[i]}
        dated = [c for c in found[i] if c.date is not None]
        found[i] += [c for c in more if c.key not in keys and not _repeats_question(q, c) and not _same_date(c, dated)]
    ev = _sentence_evidence(q, sents, found, config)
    useful, lexical, dense, rank, weights = ev.useful, ev.lexical, ev.dense, ev.rank, ev.weights
    sentence_score = ev.score
    order, chosen = ev.order(), ev.to_embed()

    def embed_chosen() -> None:
        if chosen:
            dense.update(zip(chosen, (embed([sents[i].text for i in chosen]) @ question_vector).tolist()))

    fit: dict[str, float] = {}
    if embed_phrases and q.open_category and config.type_power:
        with ThreadPoolExecutor(1) as beside:  # the two embeddings do not wait on each other
            fitting = beside.submit(_type_fit, q, [found[i] for i in order], embed_phrases, config)
            embed_chosen()
            fit = fitting.result()
    else:
        embed_chosen()
    least = min(fit.values(), default=1.0)
    scored: list[_Scored] = []
    for i in useful:
        s = sents[i]
        sscore = sentence_score(i)
        places = _keyword_places(s.text, weights)
        for c in found[i]:
            near = _proximity(c, places)
            score = sscore * c.prior * (0.7 + 0.3 * near) * _tense_fit(q, c, s.passage.date)
            f = fit.get(c.key, least)
            scored.append(_Scored(c, s, sscore, score * f, dense[i], lexical[i], near, rank[id(s.passage)], f))
    if not scored:
        return None
    groups: dict[str, list[_Scored]] = defaultdict(list)
    for item in scored:
        groups[item.candidate.key].append(item)
    for items in groups.values():
        items.sort(key=lambda x: -x.score)
    totals = _credit_longer_names(groups, {key: _evidence(items) for key, items in groups.items()})
    ranked = sorted(totals, key=lambda k: -totals[k])
    pick = _by_recency(q.recency, ranked, groups, totals, config.recency_margin)
    top = max(s.passage.similarity for s in sents)
    return Pool(q, dict(groups), totals, ranked, pick, top)


def phrase_fit(
    pool: Pool, question_vector: np.ndarray, embed_phrases: Callable[[list[str]], np.ndarray], limit: int
) -> dict[str, tuple[float, float]]:
    """How well each of the first ``limit`` candidate spans fits the question as a phrase
    on its own: its cosine with the question, and with the question's focus ('team' in
    "which team"; 0 where there is none). What _type_fit measures for open categories,
    for every question, as features for the reader."""
    keys = pool.ranked[:limit]
    focus = pool.question.focus_text
    vecs = embed_phrases(([focus] if focus else []) + [pool.groups[k][0].candidate.text for k in keys])
    spans = vecs[1:] if focus else vecs
    to_focus = spans @ vecs[0] if focus else np.zeros(len(keys))
    return {k: (float(a), float(b)) for k, a, b in zip(keys, spans @ question_vector, to_focus)}


def _fit(
    pool: Pool,
    question_vector: np.ndarray,
    embed_phrases: Callable[[list[str]], np.ndarray],
    reads: dict[int, Read],
) -> None:
    """Fill what the reader reads beside the hand-measured evidence: the spans' fit as
    phrases and the span scorer's reading of their mentions."""
    pool.phrase_fit.update(phrase_fit(pool, question_vector, embed_phrases, MAX_CANDIDATES))
    pool.span.update(span_scores(pool, MAX_CANDIDATES, reads))


def proposals(q: Question, sents: list[Sentence], reads: dict[int, Read], per_passage: int) -> list[list[Candidate]]:
    """The span scorer's best spans in each passage read, as candidates of the sentences
    they lie in (aligned with ``sents``): answers no rule of :mod:`rag.spans` finds,
    though of the shape the question asks for (no name for "how many")."""
    out: list[list[Candidate]] = [[] for _ in sents]
    if per_passage <= 0:
        return out
    by_passage: dict[int, list[int]] = defaultdict(list)
    for i, s in enumerate(sents):
        by_passage[id(s.passage)].append(i)
    for pid, read in reads.items():
        for a, b, _ in top_spans(read, per_passage):
            for i in by_passage.get(pid, []):
                s = sents[i]
                if s.start <= a and b <= s.end:
                    start, end = _word_span(s.text, a - s.start, b - s.start)
                    if start < end and has_shape(s.text[start:end], q, s.passage.date):
                        out[i].append(proposed(s.text, start, end, q, s.entities, PROPOSED_PRIOR))
                    break
    return out


def _word_span(text: str, a: int, b: int) -> tuple[int, int]:
    """``a``..``b`` of ``text`` widened to whole words (a span ends on word-pieces: 'Dam'
    of 'Damar') and stripped of the spaces and punctuation at its ends; empty
    (start == end) where nothing but those is left."""
    while a > 0 and text[a - 1].isalnum():
        a -= 1
    while b < len(text) and text[b].isalnum():
        b += 1
    while a < b and text[a] in _TRIM:
        a += 1
    while b > a and text[b - 1] in _TRIM:
        b -= 1
    return a, b


def _proposing(config: AnswerConfig, reader: Reader | None) -> int:
    """How many spans a passage proposes: the config's, else what the reader (default:
    the shipped one) learned with."""
    if config.propose_spans is not None:
        return config.propose_spans
    return int((reader or default_reader()).info.get("propose_spans", 0))


_TRIM = " ,.;:!?\"'“”‘’()[]"
PROPOSED_PRIOR = (
    0.5  # a proposed span's prior: what the hand-weighed evidence starts it from (the reader learns its worth)
)


def _by_rules(pool: Pool, config: AnswerConfig) -> tuple[_Scored | None, float]:
    """The best-supported span (for "last"/"first", the latest/earliest), and a
    confidence from its score and its lead over the runner-up."""
    best_key = pool.recency_pick
    best = pool.groups[best_key][0]
    if best.sentence_score < config.min_sentence_score:
        return None, 0.0
    totals = pool.totals
    runner_up = max((totals[k] for k in pool.ranked if k != best_key), default=0.0)
    margin = totals[best_key] / (totals[best_key] + runner_up)
    confidence = max(0.0, min(1.0, best.score / 0.8)) * math.sqrt(margin)
    return best, confidence


# The types whose hand-weighed pick the judge vets (AnswerConfig.judge_rules): dates, the
# one such type with held-out questions to measure it on (198 "when" reading questions).
# Durations (16 quiz questions) and manner (8) are too few to tell; "who is <name>?" is
# asked by no training question.
JUDGED_RULE_TYPES = frozenset({AnswerType.DATE})


def _by_rules_judged(pool: Pool, reader: Reader, config: AnswerConfig) -> tuple[_Scored | None, float]:
    """The hand-weighed pick (:func:`_by_rules`), with the probability that it is right as
    the reader's judge scores it, and no answer below the reader's threshold.

    The judge learned from every question type (the pick is one of its features); only
    choosing among a date question's candidates is left to the rules, for want of
    training questions. On the 198 "when" reading questions of the training weeks,
    which the judge never learned from, the shipped reader's threshold kept .975 of the
    rules' right answers and turned .59 of their wrong ones into "no answer"
    (eval/README.md); before, a date was given whenever its sentence scored at all."""
    best, _ = _by_rules(pool, config)
    if best is None:
        return None, 0.0
    keys, x = features(pool, max(MAX_CANDIDATES, pool.ranked.index(pool.recency_pick) + 1))
    confidence = reader.confidence(reader.logits(x), keys.index(pool.recency_pick))
    return (best if confidence >= reader.threshold else None), confidence


def _by_reader(pool: Pool, reader: Reader) -> tuple[_Scored | None, float]:
    """The span the reader scores best, and the probability that it is right; no span
    when that probability is below the reader's threshold (``pool.phrase_fit`` filled)."""
    keys, x = features(pool)
    logits = reader.logits(x)
    chosen = reader.choose(x, logits)
    best = pool.groups[keys[chosen]][0]
    confidence = reader.confidence(logits, chosen)
    return (best if confidence >= reader.threshold else None), confidence


def answer_passages(
    q: Question,
    sents: list[Sentence],
    embed: Callable[[list[str]], np.ndarray],
    question_vector: np.ndarray,
    config: AnswerConfig,
    embed_phrases: Callable[[list[str]], np.ndarray] | None = None,
    reader: Reader | None = None,
) -> tuple[_Scored | None, float]:
    """Pick the best span in ``sents``; returns it (None for no answer) and a confidence.
    ``reader`` defaults to the shipped model when ``config.selection`` is learned; a
    question of a type it was trained on too few of (:meth:`Reader.covers`) is answered
    by the hand-weighed selection, whose pick the judge vets for dates
    (:data:`JUDGED_RULE_TYPES`)."""
    reader = reader or (default_reader() if config.selection is Selection.LEARNED else None)
    judged = config.judge_rules and q.type in JUDGED_RULE_TYPES
    if reader is None or (not reader.covers(q.type.value) and not judged):  # a type the reader saw too few of
        pool = gather(q, sents, embed, question_vector, config, embed_phrases)
        return _by_rules(pool, config) if pool is not None else (None, 0.0)
    pool, reads = _read_pool(q, sents, embed, question_vector, config, embed_phrases, reader)
    if pool is None:
        return None, 0.0
    if not reader.covers(q.type.value):
        return _by_rules_judged(pool, reader, config)
    best, confidence = _by_reader(pool, reader)
    return (_tightened(best, reads, q) if best is not None else None), confidence


def _read_pool(
    q: Question,
    sents: list[Sentence],
    embed: Callable[[list[str]], np.ndarray],
    question_vector: np.ndarray,
    config: AnswerConfig,
    embed_phrases: Callable[[list[str]], np.ndarray] | None,
    reader: Reader | None,
) -> tuple[Pool | None, dict[int, Read]]:
    """The candidates the learned reader chooses from, with everything it reads of them
    filled in, and the span scorer's reads of the passages (keyed by ``id``).

    The reads take most of an answer's time; while they run, the rules' candidates are
    found and the sentences the rules alone would embed are embedded (most of them are
    the ones embedded once the span scorer's proposals join), which on two cores takes
    what the reads leave of them."""
    embedded = _Embedded(embed)
    with ThreadPoolExecutor(1) as beside:
        reading = beside.submit(read_passages, q.text, [s.passage for s in sents])
        found = rule_candidates(q, sents)
        ahead = _sentence_evidence(q, sents, found, config).to_embed()
        embedded([sents[i].text for i in ahead])
        reads = reading.result()
    extra = proposals(q, sents, reads, _proposing(config, reader))
    pool = gather(q, sents, embedded, question_vector, config, embed_phrases, extra, found)
    if pool is not None:
        _fit(pool, question_vector, embed_phrases or embed, reads)
    return pool, reads


def _tightened(best: _Scored, reads: dict[int, Read], q: Question) -> _Scored:
    """The chosen span cut to where the span scorer says its answer starts and ends
    ('Striker Maya Lindqvist' -> 'Maya Lindqvist', '52,000 fans' -> '52,000'): its best
    span inside the mention, widened to whole words, where that scores above the whole,
    cuts through no name (:func:`_inside_name`) and leaves out no unit the question does
    not state ('1.2 billion euros' stays whole for "How much did it cost?", an amount
    without its currency being no answer). Dates are left as the rules found them: they
    carry their resolved day."""
    c, s = best.candidate, best.sentence
    read = reads.get(id(s.passage))
    if c.date is not None or read is None:
        return best
    whole = read.score(s.start + c.start, s.start + c.end)
    inner = read.best_within(s.start + c.start, s.start + c.end)
    if whole is None or inner is None or inner[2] <= whole:
        return best
    start, end = _word_span(s.text, inner[0] - s.start, inner[1] - s.start)
    text = s.text[start:end]
    if not text or text == c.text or any(_inside_name(s, x) for x in (start, end)):
        return best
    dropped = words(s.text[c.start : start]) + words(s.text[end : c.end])
    if any(stem(w.lower()) in _UNIT_STEMS and not q.holds(w) for w in dropped):
        return best
    return replace(best, candidate=replace(c, start=start, end=end, text=text))


_UNIT_STEMS = frozenset(stem(u) for u in MEASURE_UNITS | TIME_UNITS)
_NAME_WORD = re.compile(r"[\w'’.&]+")
_QUOTED_TITLE = re.compile(r"[“\"‘]([^”\"’]{1,80})[”\"’]")


def _inside_name(s: Sentence, x: int) -> bool:
    """Whether a cut at offset ``x`` of the sentence falls inside a name: one the tagger
    found ('Patrick Mahomes'), a run of capitalised words ('Pope Benedict XVI') or a
    quoted title ('“Everything Everywhere All at Once”')."""
    if any(e.start < x < e.end for e in s.entities):
        return True
    if any(m.start(1) < x < m.end(1) for m in _QUOTED_TITLE.finditer(s.text)):
        return True
    left = re.search(f"({_NAME_WORD.pattern})[ -]*$", s.text[:x])
    right = _NAME_WORD.match(s.text[x:].lstrip(" -"))
    return bool(left and right and left.group(1)[:1].isupper() and right.group(0)[:1].isupper())


def _read(
    corpus: Corpus, q: Question, query: Query, config: AnswerConfig, at_least: int = 0
) -> tuple[np.ndarray, list[Passage]]:
    """The question's vector and the passages its answer is read from (``at_least``:
    this many, where more are wanted than are read)."""
    qvec = corpus.embedder.encode_queries([q.query])[0]
    n = max(config.read_passages, query.k, at_least)
    return qvec, retrieve(
        corpus, q.query, qvec, n, query.since, query.until, query.mode, query.as_of, ranking=config.ranking
    )


def _off_topic(q: Question, passages: list[Passage], config: AnswerConfig) -> bool:
    """Whether nothing read is on the question's topic: no passage near it by embedding,
    and none that names every name and number the question gives (:func:`names_stated`)."""
    if not passages:
        return True
    return max(p.similarity for p in passages) < config.min_passage_score and not names_stated(q, passages)


def _gather_args(
    corpus: Corpus, config: AnswerConfig
) -> tuple[Callable[[list[str]], np.ndarray], Callable[[list[str]], np.ndarray]]:
    """How sentences and (for open categories) candidate phrases are embedded."""
    embed = corpus.embedder.encode_for_ranking if config.int8_sentences else corpus.embedder.encode_queries
    return embed, functools.partial(corpus.embedder.encode_for_ranking, batch_size=16)


def question_pool(
    corpus: Corpus, query: Query, config: AnswerConfig = AnswerConfig(), at_least: int = 0
) -> tuple[list[Passage], Pool | None]:
    """The passages :func:`answer` reads and the candidate answers it would choose from
    (None where it would not choose: nothing on the topic, no span of the asked shape, a
    true-or-false question): what the reader is trained on, by the same code that answers.
    ``at_least``: the passages returned, where they are more than those read (the first
    ones are the same)."""
    q = analyse(query.text)
    qvec, passages = _read(corpus, q, query, config, at_least)
    read = passages[: max(config.read_passages, query.k)]
    if _off_topic(q, read, config) or q.type is AnswerType.TRUTH:
        return passages, None
    embed, phrases = _gather_args(corpus, config)
    pool, _ = _read_pool(q, sentences_of(read), embed, qvec, config, phrases, None)
    return passages, pool


def answer(corpus: Corpus, query: Query, config: AnswerConfig = AnswerConfig()) -> Answer:
    """Answer ``query`` from the passages of ``corpus`` (an index's :attr:`rag.Index.corpus`), with
    its ``k`` best passages.

    With no answer (``text`` None), ``confidence`` is the probability that the best
    candidate would have been right (0 when there was none)."""
    q = analyse(query.text)
    qvec, passages = _read(corpus, q, query, config)
    shown = windows_of(corpus, passages, query.k)
    if _off_topic(q, passages, config):
        return Answer(question=q.text, text=None, date=None, confidence=0.0, passages=shown)
    if q.type is AnswerType.TRUTH:
        return _verdict(q, passages, shown)
    embed, phrases = _gather_args(corpus, config)
    best, confidence = answer_passages(q, sentences_of(passages), embed, qvec, config, phrases)
    if best is None:
        return Answer(question=q.text, text=None, date=None, confidence=confidence, passages=shown)
    c = best.candidate
    return Answer(
        question=q.text,
        text=c.text,
        date=c.date.iso if c.date is not None else None,
        confidence=confidence,
        passages=shown,
        doc_id=best.sentence.passage.doc_id,
        sentence=best.sentence.text,
    )


def _verdict(q: Question, passages: list[Passage], shown: list[Passage]) -> Answer:
    """The answer to a "true or false" question (see :mod:`rag.verify`)."""
    v = verify(q, passages, keyword_weights(q, [s.text for s in sentences_of(passages)]))
    if v is None:
        return Answer(question=q.text, text=None, date=None, confidence=0.0, passages=shown)
    # a name or a negation that does not agree is telling but not certain evidence
    confidence = v.coverage if v.true else (0.5 if v.missing or not v.polarity_agrees else 1.0 - v.coverage)
    return Answer(
        question=q.text,
        text="True" if v.true else "False",
        date=None,
        confidence=confidence,
        passages=shown,
        doc_id=v.passage.doc_id,
        sentence=v.sentence,
    )
