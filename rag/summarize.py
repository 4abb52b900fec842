"""Passages -> summary: query-focused, without repeats, in date order, cited.

Overlapping news articles repeat each other almost word for word, so sentences are
selected by maximal marginal relevance: each pick is the sentence most similar to the
query and least similar to what is already chosen, and any sentence too close to a
chosen one (by embedding or by shared words) is dropped outright. A query whose best
passages the reader's learned relevance (:meth:`rag.qa.reader.Reader.on_topic`) finds
off the topic gets an empty summary: "nothing in the index on this topic", rather than
the least unrelated sentences.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from .answer import lexical_overlap, sentences_of
from .errors import InputError
from .qa.features import relevance_features
from .qa.reader import default_reader
from .question import analyse
from .retrieve import DEFAULT_MODE, Mode, check_query, retrieve
from .text import content_stems
from .types import Summary, SummarySentence


@dataclass(frozen=True)
class SummaryConfig:
    read_passages: int = 20
    diversity: float = 0.5  # MMR trade-off: 0 relevance only, 1 novelty only
    query_weight: float = 1.0
    centrality_weight: float = 0.75
    lexical_weight: float = 0.3
    duplicate_cosine: float = 0.8
    duplicate_jaccard: float = 0.5
    min_words: int = 6
    max_words: int = 60
    int8_sentences: bool = True  # embed sentences with int8 weights: RealTimeQA summaries 348 ms against 556 (eval/README.md)
    mode: Mode = DEFAULT_MODE
    topic_gate: bool = True  # an off-topic query gets no sentences (the reader's learned relevance)


def says_the_same(a: set[str], b: set[str], threshold: float) -> bool:
    """Two sentences repeat each other when their content words mostly coincide, or when
    one's content words all appear in the other (the shorter adds nothing)."""
    if not a or not b:
        return False
    return len(a & b) / len(a | b) >= threshold or a <= b or b <= a


def summarize(index, query: str, max_sentences: int = 5, since: dt.date | None = None, until: dt.date | None = None, config: SummaryConfig = SummaryConfig(), as_of: dt.date | None = None) -> Summary:
    query = check_query(query)
    if max_sentences < 1:
        raise InputError(f"max sentences must be at least 1 (got {max_sentences})")
    q = analyse(query)
    qvec = index.embedder.encode_queries([query])
    passages = retrieve(index, query, qvec[0], config.read_passages, since, until, config.mode, as_of)
    if config.topic_gate and passages:
        reader = default_reader()
        if reader.on_topic(relevance_features(q, passages)) < reader.relevance_threshold:
            return Summary(query, [])
    # Questions ("What is the jackpot?") and fragments state nothing a summary can use.
    sents = [
        s for s in sentences_of(passages)
        if config.min_words <= len(s.text.split()) <= config.max_words and not s.text.rstrip("\"'”’)").endswith("?")
    ]
    if not sents:
        return Summary(query, [])
    embed = index.embedder.encode_for_ranking if config.int8_sentences else index.embedder.encode_queries
    vecs = embed([s.text for s in sents])
    # Relevance to the query, plus centrality (LexRank's intuition): what many of the
    # retrieved sentences also say is what the collection says about the topic.
    sims = vecs @ vecs.T
    centrality = (sims.sum(axis=1) - 1.0) / max(1, len(sents) - 1)
    lexical = np.array([lexical_overlap(q, s.text) for s in sents])
    relevance = config.query_weight * (vecs @ qvec[0]) + config.centrality_weight * centrality + config.lexical_weight * lexical
    bags = [set(content_stems(s.text)) for s in sents]
    chosen: list[int] = []
    candidates = set(range(len(sents)))
    while candidates and len(chosen) < max_sentences:
        def mmr(i: int) -> float:
            redundancy = max((float(sims[i, j]) for j in chosen), default=0.0)
            return (1 - config.diversity) * relevance[i] - config.diversity * redundancy
        best = max(candidates, key=mmr)
        candidates.discard(best)
        chosen.append(best)
        for i in list(candidates):
            if float(sims[i, best]) >= config.duplicate_cosine or says_the_same(bags[i], bags[best], config.duplicate_jaccard):
                candidates.discard(i)
    order = sorted(chosen, key=lambda i: (sents[i].passage.date or dt.date.max, sents[i].passage.doc_id, sents[i].passage.start + sents[i].start))
    return Summary(query, [SummarySentence(sents[i].text, sents[i].passage.doc_id, sents[i].passage.date, float(relevance[i])) for i in order])
