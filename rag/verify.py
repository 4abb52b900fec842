"""Passages -> verdict: is a "true or false" claim supported by what the articles say?

A claim is checked against the sentence of the passages read that says most of it (the
one holding the largest IDF-weighted share of the claim's content words):

- **True** when that sentence holds at least half of the claim, leaves out none of its
  names and numbers (a name in its article's title counts: it is what every sentence of
  the article is about), and is negated where the claim is ("no longer required");
- **False** when it leaves out a name or a number the claim gives ("Twitter lifted the
  suspension" against a sentence about Meta), lacks the claim's negation ("did not see
  his shadow" against "saw his shadow"), or holds too little of it;
- no verdict when nothing read is on the topic.

This is entity, number and polarity agreement, the cheapest checks of fact
verification: it cannot see a claim that keeps every name but changes the verb ("agreed
to" for "suspended"), and a claim joining two facts that no one sentence states together
is judged False. Measured in eval/README.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .lexicon import CARDINALS, STOPWORDS
from .question import Question
from .sentences import split_spans
from .text import stem, words
from .types import Passage

MIN_COVERAGE = 0.5  # share of the claim's (IDF-weighted) words its evidence must hold
_NEGATION = re.compile(r"\b(?:not|no|never|none|nor|neither|without)\b|n['’]t\b", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    true: bool
    passage: Passage
    sentence: str  # the sentence, of ``passage``, that says most of the claim
    coverage: float  # IDF-weighted share of the claim's words the sentence holds
    missing: tuple[str, ...]  # names and numbers of the claim the sentence lacks
    polarity_agrees: bool  # the sentence is negated if the claim is


def _terms(text: str) -> set[str]:
    """Stems of the words of ``text``, number words as digits ('twelve' -> '12')."""
    return {CARDINALS.get(w.lower(), stem(w)) for w in words(text)}


def _is_common(word: str, passages: list[Passage]) -> bool:
    """Whether a capitalised first word of the claim ('Days before ...') is an ordinary
    word: the passages read also write it in lower case."""
    return any(re.search(rf"\b{re.escape(word.lower())}\b", p.text) for p in passages)


def key_terms(claim: str, passages: list[Passage]) -> list[str]:
    """The claim's names and numbers: the terms its evidence must not leave out."""
    found: list[str] = []
    for i, w in enumerate(words(claim)):
        low = w.lower()
        if low in CARDINALS or w[0].isdigit():
            found.append(CARDINALS.get(low, w))
        elif w[0].isupper() and low not in STOPWORDS and not (i == 0 and _is_common(w, passages)):
            found.append(stem(w))
    return list(dict.fromkeys(found))


def verify(q: Question, passages: list[Passage], weights: dict[str, float]) -> Verdict | None:
    """The verdict on ``q.claim`` from the ``passages`` read (None when there are none);
    ``weights``: IDF of the claim's keywords over those passages' sentences."""
    if not passages or not q.keywords:
        return None
    weights = {CARDINALS.get(k, k): w for k, w in weights.items()}
    total = sum(weights.values()) or 1.0

    def coverage(terms: set[str]) -> float:
        return sum(w for k, w in weights.items() if k in terms) / total

    claim = q.claim or q.text
    names = key_terms(claim, passages)
    negated = bool(_NEGATION.search(claim))
    best: tuple[float, Passage, str, tuple[str, ...]] | None = None
    for p in passages:  # the first of equals: the better ranked
        title = _terms(p.title)  # what the article is about is the context of each of its sentences
        for a, b in split_spans(p.text) or [(0, len(p.text))]:
            text = p.text[a:b]
            terms = _terms(text)
            cov = coverage(terms)
            if best is None or cov > best[0]:
                best = (cov, p, text, tuple(t for t in names if t not in terms and t not in title))
    assert best is not None
    cov, passage, text, missing = best
    agrees = not negated or bool(_NEGATION.search(text))
    return Verdict(cov >= MIN_COVERAGE and not missing and agrees, passage, text, cov, missing, agrees)
