"""Word-level helpers shared by question analysis, answer extraction and summaries."""

from __future__ import annotations

import re
from functools import lru_cache

STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for with from into onto about as than then so
    is are was were be been being am do does did doing done has have had having will would shall
    should can could may might must this that these those it its it's he him his she her hers they
    them their theirs we us our you your i me my mine who whom whose which what when where why how
    there here not no nor only also just very too more most much many some any all each every both
    few other such own same again further once up down out over under off after before since until
    while during through between against above below among around via per yet s t one ones""".split()
)
QUESTION_WORDS = frozenset("who whom whose which what when where why how".split())

_IRREGULAR = {
    "met": "meet",
    "left": "leav",
    "went": "go",
    "gone": "go",
    "took": "take",
    "taken": "take",
    "made": "make",
    "came": "come",
    "saw": "see",
    "seen": "see",
    "gave": "give",
    "given": "give",
    "won": "win",
    "lost": "lose",
    "held": "hold",
    "told": "tell",
    "said": "say",
    "says": "say",
    "began": "begin",
    "begun": "begin",
    "became": "become",
    "ran": "run",
    "died": "die",
    "dies": "die",
    "flew": "fly",
    "flown": "fly",
    "rode": "ride",
    "ridden": "ride",
    "wrote": "write",
    "written": "write",
    "bought": "buy",
    "sold": "sell",
    "brought": "bring",
    "fell": "fall",
    "fallen": "fall",
    "struck": "strike",
    "travelled": "travel",
    "traveled": "travel",
    "travelling": "travel",
    "traveling": "travel",
}
IRREGULAR_VERBS = frozenset(_IRREGULAR) - {"left", "lost", "held"}  # 'saw', 'said', 'won': not nouns
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
    if w in _IRREGULAR:
        return _IRREGULAR[w]
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
    return [stem(w) for w in words(text) if w.lower() not in STOPWORDS]
