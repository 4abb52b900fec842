"""Passages -> summary: the topic's facts, from several articles, without repeats, cited.

Sentences of the retrieved passages are scored by the learned salience of
:mod:`rag.salience` (what carries the topic's facts: names, numbers, dates, what several
articles report) and chosen by maximal marginal relevance: each pick is the most salient
sentence least like what is already chosen, credited with the facts it adds that the
summary lacks (word pairs that several of the articles read state, :func:`sentence_concepts`). A sentence that repeats a chosen one (by
embedding or by shared words) is dropped, and the chosen one lists its article in
``also_in``: the fact is reported there too. Page furniture and sentences that point
back at one the summary would not show (:mod:`rag.discourse`) are never chosen. A query
whose best passages the reader's learned relevance (:meth:`rag.qa.reader.Reader.on_topic`)
finds off the topic gets an empty summary, "nothing in the index on this topic", rather
than the least unrelated sentences.

Sentences come in the date order of their articles, or, for a timeline, of the events
they report (the first date a sentence mentions, resolved against its article's date).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import Enum

import numpy as np

from .answer import Sentence, lexical_overlap, sentences_of
from .corpus import Corpus
from .dates import Granularity, find_dates
from .discourse import is_boilerplate, is_fragment, needs_context
from .lexicon import STOPWORDS
from .qa.features import RELEVANCE_PASSAGES, names_stated, relevance_features
from .qa.reader import default_reader
from .query import Query
from .question import Question, analyse
from .retrieve import retrieve
from .salience import default_salience, salience_features
from .text import content_stems, stem, words
from .types import Passage, Summary, SummarySentence


class Scoring(str, Enum):
    """How sentences are scored for a summary."""

    LEARNED = "learned"  # rag.salience's model
    HAND = "hand"  # similarity to the query, centrality and keyword overlap, hand-weighed


HAND_DIVERSITY = 0.5
# The weight of the concepts a sentence adds that the summary lacks, against its salience
# (rag.summarize.select), where the salience model does not give the one chosen with it
# (hand scoring, a model trained before it chose one). The training weeks choose it
# (train.salience: the held-out share of each kind of topic's facts a summary holds);
# nugget recall on the development topics rises with it (.455 at 0, .553 at 1, .572 at
# 2, .597 at 4, eval/README.md).
COVERAGE = 1.0


@dataclass(frozen=True)
class SummaryConfig:
    read_passages: int = 20
    diversity: float | None = (
        None  # MMR trade-off, 0 salience only, 1 novelty only; None: the salience model's (train.salience: 0), 0.5 by hand
    )
    query_weight: float = 1.0  # the hand scoring's weights
    centrality_weight: float = 0.75
    lexical_weight: float = 0.3
    duplicate_cosine: float = 0.8
    duplicate_jaccard: float = 0.5
    min_words: int = 6
    max_words: int = 60
    int8_sentences: bool = (
        True  # embed sentences with int8 weights: RealTimeQA summaries 348 ms against 556 (eval/README.md)
    )
    topic_gate: bool = True  # an off-topic query gets no sentences (the reader's learned relevance)
    scoring: Scoring = Scoring.LEARNED
    standalone: bool = True  # never choose boilerplate, headlines or sentences that need the one before
    coverage: float | None = (
        None  # weight of the reported facts a sentence adds (sentence_concepts); 0: none; None: the salience model's (chosen with it), else COVERAGE
    )


def says_the_same(a: set[str], b: set[str], threshold: float) -> bool:
    """Two sentences repeat each other when their content words mostly coincide, or when
    one's content words all appear in the other (the shorter adds nothing)."""
    if not a or not b:
        return False
    return len(a & b) / len(a | b) >= threshold or a <= b or b <= a


def summary_passages(
    corpus: Corpus, query: Query, query_vector: np.ndarray, config: SummaryConfig = SummaryConfig()
) -> list[Passage]:
    """The passages a summary of ``query`` reads (eval/ gives the same ones to its peers)."""
    return retrieve(
        corpus, query.text, query_vector, config.read_passages, query.since, query.until, query.mode, query.as_of
    )


def readable(sents: list[Sentence], config: SummaryConfig) -> list[Sentence]:
    """The sentences a summary may use: statements of a sensible length (questions and
    fragments state nothing), standing on their own when ``config.standalone``: not
    boilerplate, not pointing back at the sentence before, and not a headline or caption
    (:func:`rag.discourse.is_fragment`) unless no line read ends as a sentence does (text
    written without full stops is still summarised)."""
    out = []
    for s in sents:
        if not config.min_words <= len(s.text.split()) <= config.max_words or s.text.rstrip("\"'”’)").endswith("?"):
            continue
        if config.standalone and (is_boilerplate(s.text) or needs_context(s.text)):
            continue
        out.append(s)
    if not config.standalone:
        return out
    return [s for s in out if not is_fragment(s.text)] or out


def event_date(s: Sentence) -> dt.date | None:
    """The day (or month) of what the sentence reports: the first date it mentions at day
    or month precision, resolved against its article's date ("on Monday"); else the
    article's date."""
    for m in find_dates(s.text, s.passage.date):
        if m.granularity in (Granularity.DAY, Granularity.MONTH):
            return m.value
    return s.passage.date


def hand_scores(
    q: Question,
    sents: list[Sentence],
    vecs: np.ndarray,
    query_vector: np.ndarray,
    sims: np.ndarray,
    config: SummaryConfig,
) -> np.ndarray:
    """The hand-weighed score (:attr:`Scoring.HAND`): similarity to the query, centrality
    among the sentences read (``sims``, their cosine matrix) and keyword overlap."""
    centrality = (sims.sum(axis=1) - 1.0) / max(1, len(sents) - 1)
    lexical = np.array([lexical_overlap(q, s.text) for s in sents])
    return (
        config.query_weight * (vecs @ query_vector)
        + config.centrality_weight * centrality
        + config.lexical_weight * lexical
    )


MIN_CONCEPT_ARTICLES = 2  # a concept counts when this many articles read state it (several sources report it)


def sentence_concepts(q: Question, sents: list[Sentence]) -> list[dict[str, int]]:
    """Each sentence's concepts, with how many of the articles read state each: pairs of
    adjacent word stems, not both stop words and not both the query's own (the bigram
    concepts of Gillick and Favre's multi-document summariser, 2009, weighted as theirs
    by the documents that hold them; pairing what is left once stop words are dropped did
    less well on the development topics, eval/README.md). A concept fewer than
    ``MIN_CONCEPT_ARTICLES`` articles state is left out: what one source alone says is
    seldom the story's fact."""
    own = set(q.question_stems)
    per: list[set[str]] = []
    for s in sents:
        toks = [w.lower() for w in words(s.text)]
        stems = [stem(t) for t in toks]
        found = {
            f"{sa} {sb}"
            for a, b, sa, sb in zip(toks, toks[1:], stems, stems[1:])
            if not (a in STOPWORDS and b in STOPWORDS) and not (sa in own and sb in own)
        }
        per.append(found)
    articles: dict[str, set[str]] = {}
    for s, found in zip(sents, per):
        for c in found:
            articles.setdefault(c, set()).add(s.passage.doc_id)
    return [{c: len(articles[c]) for c in found if len(articles[c]) >= MIN_CONCEPT_ARTICLES} for found in per]


def select(
    scores: np.ndarray,
    sims: np.ndarray,
    bags: list[set[str]],
    k: int,
    config: SummaryConfig,
    concepts: list[dict[str, int]] | None = None,
) -> tuple[list[int], dict[int, list[int]]]:
    """Up to ``k`` sentences by maximal marginal relevance, and for each the sentences
    dropped as its repeats. With ``concepts`` (:func:`sentence_concepts`) and a
    ``config.coverage``, a sentence also earns the weight of the concepts it states that
    no chosen sentence has (scaled to the scores' range): facts the summary lacks."""
    chosen: list[int] = []
    repeats: dict[int, list[int]] = {}
    candidates = set(range(len(scores)))
    diversity = HAND_DIVERSITY if config.diversity is None else config.diversity
    coverage = COVERAGE if config.coverage is None else config.coverage
    covered: set[str] = set()
    gains = [sum(c.values()) for c in concepts] if concepts and coverage else []
    unit = coverage * float(np.max(scores)) / max(gains) if gains and max(gains) > 0 and len(scores) else 0.0
    while candidates and len(chosen) < k:

        def mmr(i: int) -> float:
            redundancy = max((float(sims[i, j]) for j in chosen), default=0.0)
            new = sum(w for c, w in concepts[i].items() if c not in covered) if unit and concepts else 0
            return (1 - diversity) * scores[i] - diversity * redundancy + unit * new

        best = max(candidates, key=lambda i: (mmr(i), -i))
        candidates.discard(best)
        chosen.append(best)
        if concepts:
            covered.update(concepts[best])
        repeats[best] = []
        for i in sorted(candidates):
            if float(sims[i, best]) >= config.duplicate_cosine or says_the_same(
                bags[i], bags[best], config.duplicate_jaccard
            ):
                candidates.discard(i)
                repeats[best].append(i)
    return chosen, repeats


def most_detailed(group: list[int], bags: list[set[str]], sents: list[Sentence]) -> int:
    """Of sentences that report the same, the one to show: the most detailed (most content
    words), then the first published; the others' articles are listed as ``also_in``."""
    return max(group, key=lambda j: (len(bags[j]), -(sents[j].passage.date or dt.date.max).toordinal(), -j))


def summarize(corpus: Corpus, query: Query, config: SummaryConfig = SummaryConfig(), timeline: bool = False) -> Summary:
    """A summary of ``query`` from ``corpus`` in at most ``query.k`` sentences (see the
    module's docstring); ``timeline`` orders them by the day of what they report."""
    q = analyse(query.text)
    qvec = corpus.embedder.encode_queries([query.text])
    day = query.as_of or query.until or dt.date.today()
    passages = summary_passages(corpus, query, qvec[0], config)
    if config.topic_gate and passages:
        reader = default_reader()
        read = passages[:RELEVANCE_PASSAGES]
        if reader.on_topic(relevance_features(q, read)) < reader.relevance_threshold and not names_stated(q, read):
            return Summary(query.text, [], timeline=timeline)
    sents = readable(sentences_of(passages), config)
    if not sents:
        return Summary(query.text, [], timeline=timeline)
    embed = corpus.embedder.encode_for_ranking if config.int8_sentences else corpus.embedder.encode_queries
    vecs = embed([s.text for s in sents])
    if config.scoring is Scoring.LEARNED:
        model = default_salience()
        x, sims = salience_features(q, sents, vecs, qvec[0], day)
        scores = model.scores(x)
        trained = model.info or {}
        if config.diversity is None:
            config = replace(config, diversity=float(trained.get("chosen_diversity", HAND_DIVERSITY)))
        if config.coverage is None:
            config = replace(config, coverage=float(trained.get("chosen_coverage", COVERAGE)))
    else:
        sims = vecs @ vecs.T
        scores = hand_scores(q, sents, vecs, qvec[0], sims, config)
    bags = [set(content_stems(s.text)) for s in sents]
    chosen, repeats = select(scores, sims, bags, query.k, config, sentence_concepts(q, sents))
    picked = []
    for best in chosen:
        group = [best, *repeats[best]]
        i = most_detailed(group, bags, sents)
        s = sents[i]
        others = tuple(
            dict.fromkeys(sents[j].passage.doc_id for j in group if sents[j].passage.doc_id != s.passage.doc_id)
        )
        picked.append(
            (
                SummarySentence(
                    s.text, s.passage.doc_id, s.passage.date, float(scores[i]), also_in=others, event_date=event_date(s)
                ),
                s.passage.start + s.start,
            )
        )
    if timeline:
        picked.sort(key=lambda t: (t[0].event_date or dt.date.max, t[0].date or dt.date.max))
    else:
        picked.sort(key=lambda t: (t[0].date or dt.date.max, t[0].doc_id, t[1]))
    return Summary(query.text, [o for o, _ in picked], timeline=timeline)
