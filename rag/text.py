"""Word-level helpers shared by question analysis, answer extraction and summaries."""

from __future__ import annotations

import re
from functools import lru_cache

from .lexicon import IRREGULAR, STOPWORDS

IRREGULAR_VERBS = frozenset(IRREGULAR) - {"left", "lost", "held"}  # 'saw', 'said', 'won': not nouns
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def word_starts(text: str) -> list[int]:
    """Where each of :func:`words` begins in ``text``."""
    return [m.start() for m in _WORD.finditer(text)]


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A deliberately light stemmer: enough to match 'visited' with 'visit', 'leaders' with 'leader'.

    Capitalised words are names ('Beijing', 'Hastings') and are only lower-cased. Cached:
    answering a question stems thousands of (mostly repeated) words.
    """
    w = word.replace("’", "'")
    if w.lower().endswith("'s"):
        w = w[:-2]
    if w[:1].isupper():
        return w.lower()
    w = w.lower()
    if w in IRREGULAR:
        return IRREGULAR[w]
    if w.endswith(("ies", "ied")) and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith(("sses", "shes", "ches", "xes", "zes")):
        w = w[:-2]
    elif w.endswith("ing") and len(w) >= 6:
        w = w[:-3]
    elif w.endswith("ed") and len(w) >= 5:
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) >= 4:
        w = w[:-1]
    if w.endswith("e") and len(w) > 3:
        w = w[:-1]
    return w


def content_stems(text: str) -> list[str]:
    """Stems of the words of ``text`` that carry content (no stop words)."""
    return stems_of(words(text))


def stems_of(tokens: list[str]) -> list[str]:
    """Stems of the content words among ``tokens`` (:func:`words` of a text), for a
    caller that reads the words for more than their stems."""
    return [stem(w) for w in tokens if w.lower() not in STOPWORDS]
