"""The usual summarisers, run over what rag's summary reads, for side-by-side reports.

Each takes the same retrieved passages (and their whole articles) and returns the same
number of sentences as rag's summary, so only the choice of sentences differs:

- ``lead``: the first sentences of the best passage's article (the classic news baseline);
- ``lexrank`` and ``textrank``: sumy's implementations over every sentence of the
  retrieved articles (Erkan & Radev 2004; Mihalcea & Tarau 2004);
- ``mmr``: maximal marginal relevance over the retrieved passages' sentences by
  embedding (Carbonell & Goldstein 1998, lambda .7).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np

from rag.errors import RagError
from rag.sentences import split
from rag.types import Passage

PEERS = ("lead", "lexrank", "textrank", "mmr")
MMR_LAMBDA = 0.7  # relevance against novelty, the usual setting
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")


@dataclass(frozen=True)
class Picked:
    """One sentence of a peer's summary, with the article it came from."""

    text: str
    doc_id: str
    date: dt.date | None


class _Tokenizer:
    """sumy's tokenizer interface over rag's sentence splitter (sumy's own needs NLTK
    data that is downloaded at run time)."""

    language = "english"

    def to_sentences(self, text: str) -> list[str]:
        return split(text)

    def to_words(self, sentence: str) -> list[str]:
        return _WORD.findall(sentence)


def _articles(passages: list[Passage], texts: dict[str, str]) -> list[tuple[str, dt.date | None, list[str]]]:
    """The retrieved articles in the order of their best passage: id, date, sentences."""
    seen: dict[str, dt.date | None] = {}
    for p in passages:
        seen.setdefault(p.doc_id, p.date)
    return [(d, day, split(texts.get(d, ""))) for d, day in seen.items()]


def lead(passages: list[Passage], texts: dict[str, str], n: int) -> list[Picked]:
    arts = _articles(passages, texts)
    if not arts:
        return []
    doc, day, sents = arts[0]
    return [Picked(s, doc, day) for s in sents[:n]]


def _sumy(kind: str, passages: list[Passage], texts: dict[str, str], n: int) -> list[Picked]:
    try:
        from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
        from sumy.nlp.stemmers import Stemmer
        from sumy.summarizers.lex_rank import LexRankSummarizer
        from sumy.summarizers.text_rank import TextRankSummarizer
        from sumy.utils import get_stop_words
    except ImportError:
        raise RagError(
            "LexRank and TextRank come from sumy: .venv/bin/pip install -e '.[test]' (or run with --no-peers)"
        ) from None

    tok = _Tokenizer()
    where: dict[str, tuple[str, dt.date | None]] = {}
    paragraphs = []
    for doc, day, sents in _articles(passages, texts):
        for s in sents:
            where.setdefault(s, (doc, day))
        paragraphs.append(Paragraph([Sentence(s, tok) for s in sents]))
    if not where:
        return []
    summarizer = (LexRankSummarizer if kind == "lexrank" else TextRankSummarizer)(Stemmer("english"))
    summarizer.stop_words = get_stop_words("english")
    picked = summarizer(ObjectDocumentModel(paragraphs), n)
    return [Picked(str(s), *where[str(s)]) for s in picked]


def mmr(passages: list[Passage], embed, query_vector: np.ndarray, n: int) -> list[Picked]:
    from rag.answer import sentences_of

    sents = sentences_of(passages)
    if not sents:
        return []
    vecs = embed([s.text for s in sents])
    rel = vecs @ query_vector
    sims = vecs @ vecs.T
    chosen: list[int] = []
    while len(chosen) < min(n, len(sents)):
        red = sims[:, chosen].max(axis=1) if chosen else np.zeros(len(sents))
        score = MMR_LAMBDA * rel - (1 - MMR_LAMBDA) * red
        score[chosen] = -np.inf
        chosen.append(int(np.argmax(score)))
    return [Picked(sents[i].text, sents[i].passage.doc_id, sents[i].passage.date) for i in chosen]


def peer_summaries(index, query: str, passages: list[Passage], n: int) -> dict[str, list[Picked]]:
    """Every peer's ``n`` sentences over ``passages`` (retrieved for ``query`` from ``index``)."""
    texts = index.texts(sorted({p.doc_id for p in passages}))
    qvec = index.embedder.encode_queries([query])[0]
    return {
        "lead": lead(passages, texts, n),
        "lexrank": _sumy("lexrank", passages, texts, n),
        "textrank": _sumy("textrank", passages, texts, n),
        "mmr": mmr(passages, index.embedder.encode_queries, qvec, n),
    }
