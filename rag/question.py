"""Question analysis: what kind of span answers it, which words matter, and whether
it asks for the latest or earliest of several events."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from .errors import InputError
from .lexicon import (
    AUXILIARIES,
    COPULAS,
    EVENT_NOUNS,
    FOCUS_VERBS,
    KIND_OF,
    MEASURE_WORDS,
    NORP_NOUNS,
    NOT_FOCUS,
    ORG_NOUNS,
    PERSON_NOUNS,
    PLACE_NOUNS,
    PRODUCT_NOUNS,
    QUANTITY_NOUNS,
    QUESTION_WORDS,
    STOPWORDS,
    THIS_TIME,
    WORK_NOUNS,
)
from .text import content_stems, stem, word_starts, words
from .types import AnswerType

_BLANK = re.compile(r"_{2,}")
_TRUE_OR_FALSE = re.compile(r"\s*\b(?:true\s+or\s+false|is\s+it\s+true\s+that)\b\s*[:?.,]?\s*", re.IGNORECASE)


class Tense(str, Enum):
    PAST = "past"
    FUTURE = "future"
    ANY = "any"


class Recency(str, Enum):
    ANY = "any"
    LATEST = "latest"
    EARLIEST = "earliest"


@dataclass(frozen=True)
class Question:
    text: str
    type: AnswerType
    keywords: tuple[str, ...]  # stems of the content words
    focus: tuple[str, ...]  # stems of the noun a which/what/how-many question names
    recency: Recency
    tense: Tense
    question_stems: frozenset[str]  # every word stem of the question, stop words included
    labels: frozenset[str] = frozenset()  # the entity types (OntoNotes) that can answer; empty: any
    claim: str | None = None  # a TRUTH question's statement, without "true or false"
    focus_text: str = ""  # the focus as the question words it: 'alcoholic drink'

    @property
    def open_category(self) -> bool:
        """'Which fruit', 'what kind of weather': a category no entity type fits, whose
        answer may be a common noun phrase as well as a name."""
        return self.type is AnswerType.ENTITY and bool(self.focus) and not self.labels

    def holds(self, word: str) -> bool:
        """Whether the question has ``word``, its name form or its common-noun form:
        'Republicans' in a passage repeats a question's 'Republican'."""
        return stem(word) in self.question_stems or stem(word.lower()) in self.question_stems

    @property
    def query(self) -> str:
        """What retrieval searches for: the claim of a true-or-false question, else the question."""
        return self.claim or self.text


_TYPE_LABELS = {
    AnswerType.PERSON: frozenset({"PERSON"}),
    AnswerType.PLACE: frozenset({"GPE", "LOC", "FAC"}),
    AnswerType.NUMBER: frozenset({"CARDINAL", "MONEY", "PERCENT", "QUANTITY"}),
}
_FOCUS_LABELS = [
    (ORG_NOUNS, frozenset({"ORG"})),
    (WORK_NOUNS, frozenset({"WORK_OF_ART"})),
    (EVENT_NOUNS, frozenset({"EVENT"})),
    (PRODUCT_NOUNS, frozenset({"PRODUCT", "ORG"})),
    (NORP_NOUNS, frozenset({"NORP"})),
]


def expected_labels(qtype: AnswerType, focus: list[str]) -> frozenset[str]:
    """Entity types that fit the question: from its type, or for 'which <noun>' from the noun."""
    if qtype in _TYPE_LABELS:
        return _TYPE_LABELS[qtype]
    if qtype is AnswerType.ENTITY and focus:
        head = stem(focus[-1])
        for nouns, labels in _FOCUS_LABELS:
            if head in {stem(n) for n in nouns}:
                return labels
    return frozenset()


_FOCUS_VERBS = frozenset(stem(w) for w in FOCUS_VERBS)


def _ends_focus(low: str) -> bool:
    return (
        low in ("except", "near", "now", "back", "still", "soon", "also")
        or (low.endswith("ly") and len(low) >= 5)
        or stem(low) in _FOCUS_VERBS
    )


def _focus_after(tokens: list[str], i: int, counted: bool = False) -> list[str]:
    """Words after the wh-word up to the first auxiliary verb: 'which foreign minister travelled' -> foreign minister.

    A counted focus ('how many ships sank') ends at its first plural noun; 'which type of
    weather' asks for a weather.
    """
    out: list[str] = []
    rest = tokens[i + 1 :]
    for j, t in enumerate(rest):
        low = t.lower()
        if len(t) == 1 and t.isupper():  # the 'U' and 'S' of 'U.S.'
            continue
        if not out and j == 0 and low in COPULAS and rest[j + 1 : j + 2] and rest[j + 1].lower() in ("the", "a", "an"):
            continue  # 'what was the primary cause of ...' asks for a cause
        if low in AUXILIARIES or (out and (low in STOPWORDS or low.endswith(("ed", "ing")) or _ends_focus(low))):
            break
        if not out and low.endswith(("'s", "’s")) and t[0].islower():
            return [t[:-2]]  # 'which country's prime minister' asks for the country
        if not out and low in KIND_OF and rest[j + 1 : j + 2] == ["of"]:
            continue
        if low not in STOPWORDS and low not in NOT_FOCUS:
            out.append(t)
        if len(out) >= 4 or (counted and low.endswith("s") and not low.endswith("ss")):
            break
    return out


def analyse(text: str) -> Question:
    """Classify a question; raises InputError for an empty one."""
    text = text.strip()
    if not text or not re.search(r"\w", text):
        raise InputError("the question is empty")
    if _TRUE_OR_FALSE.search(text):
        claim = _TRUE_OR_FALSE.sub(" ", text).strip()
        if re.search(r"\w", claim):
            return _truth(text, claim)
    named = _WHO_IS.match(text)
    if named:
        return _description(text, named.group(1).strip())
    tokens = words(text)
    lower = [t.lower() for t in tokens]
    focus: list[str] = []
    qtype = AnswerType.ENTITY
    starts = word_starts(text)
    # 'A balloon, which officials said was built to spy, flew over which state?': a wh-word
    # after a comma opens a relative clause; the question is asked by another
    mark = [text[:at].rstrip()[-1:] for at in starts]  # the last character before each word, spaces skipped
    relative = {i for i, m in enumerate(mark) if m == ","}
    # '... thrilled this week when the trailer came out for which remake?': a wh-word right
    # after a content word ('week when', 'passengers who') joins a clause to it; the question
    # is asked by one that opens a sentence or follows a function word ('for which')
    asking = [
        i
        for i, t in enumerate(lower)
        if t in QUESTION_WORDS
        and i not in relative
        and (i == 0 or lower[i - 1] in STOPWORDS or mark[i] in (".", "?", "!", ":", ";"))
    ]
    wh = (
        asking[0]
        if asking
        else next((i for i, t in enumerate(lower) if t in QUESTION_WORDS and i not in relative), None)
    )
    if wh is None:
        wh = next((i for i, t in enumerate(lower) if t in QUESTION_WORDS), None)
    if wh is None:
        # A quiz's statement form: "Biden held talks with this leader" asks "which leader".
        wh = next(
            (i for i, t in enumerate(lower[:-1]) if t in ("this", "these") and lower[i + 1] not in THIS_TIME), None
        )
        if wh is not None:
            lower[wh] = "which"
    if wh is not None:
        w = lower[wh]
        nxt = lower[wh + 1] if wh + 1 < len(lower) else ""
        if w == "when" or (w in ("what", "which") and nxt in ("year", "date", "day", "month", "time")):
            qtype = AnswerType.DATE
            if w != "when" and nxt != "time":
                focus = [nxt]  # 'which month' is not answered by a year
        elif w == "how" and nxt == "much" and lower[wh + 2 : wh + 3] == ["time"]:
            qtype = AnswerType.DURATION  # 'how much time': an hour, not a count
        elif w == "how" and nxt in ("many", "much"):
            qtype, focus = AnswerType.NUMBER, _focus_after(tokens, wh + 1, counted=True)
        elif w == "how" and nxt in ("long", "old"):
            qtype = AnswerType.DURATION
        elif w == "how" and nxt in ("far", "tall", "high", "deep", "wide", "big", "large", "heavy", "fast"):
            qtype = AnswerType.NUMBER  # a measure: '8,849 metres', '80 kilometres'
        elif w == "how":
            qtype = AnswerType.MANNER
        elif w == "where":
            qtype = AnswerType.PLACE
        elif w in ("who", "whom", "whose"):
            qtype = AnswerType.PERSON
        elif w in ("which", "what"):
            focus = _focus_after(tokens, wh)
            head = stem(focus[-1]) if focus else ""
            if head in {stem(n) for n in QUANTITY_NOUNS}:
                qtype = AnswerType.NUMBER
            elif head in {stem(n) for n in PLACE_NOUNS}:
                qtype = AnswerType.PLACE
            elif head in {stem(n) for n in PERSON_NOUNS}:
                qtype = AnswerType.PERSON
    if wh is None and _BLANK.search(text):
        # a blank to fill: "made up a record __% of the mix" wants a percentage, "$__" an amount
        if re.search(r"_{2,}\s*(?:%|percent\b)", text):
            qtype, focus = AnswerType.NUMBER, ["percent"]
        elif re.search(r"\$\s*_{2,}", text):
            qtype = AnswerType.NUMBER
    recency = Recency.ANY
    # tense and "first"/"last" belong to the sentence that asks: in "She will not run
    # again. What year was she first elected?" the question is about the past
    asked_from = 0
    if wh is not None:
        asked_from = max((i for i in range(1, wh + 1) if mark[i] in (".", "?", "!")), default=0)
    joined = " ".join(lower[asked_from:])
    if re.search(r"\b(last|latest|most recent(ly)?|recently|newest)\b", joined):
        recency = Recency.LATEST
    elif re.search(r"\b(first|earliest)\b", joined):
        recency = Recency.EARLIEST
    tense = Tense.ANY
    if re.search(r"\b(will|going to|next|upcoming)\b", joined):
        tense = Tense.FUTURE
    elif re.search(r"\b(did|was|were|had|has|have)\b", joined):
        tense = Tense.PAST
    keywords = tuple(dict.fromkeys(s for s in content_stems(text) if s not in MEASURE_WORDS))
    return Question(
        text=text,
        type=qtype,
        keywords=keywords,
        focus=tuple(stem(f) for f in focus),
        recency=recency,
        tense=tense,
        question_stems=frozenset(stem(t) for t in tokens),
        labels=expected_labels(qtype, focus),
        focus_text=" ".join(focus),
    )


# "Who is Kim Chon Il?", "What was Operation Overlord?": nothing but a name after the copula
_WHO_IS = re.compile(r"^\s*(?i:who|what)\s+(?i:is|was|are|were)\s+((?:[A-Z0-9][\w'’.&-]*\s*)+)\?*\s*$")


def _description(text: str, name: str) -> Question:
    """A question that names someone or something and asks what it is: the answer is how
    the articles describe the name ('Foreign Ministry official'), not another name."""
    return Question(
        text=text,
        type=AnswerType.DESCRIPTION,
        keywords=tuple(dict.fromkeys(content_stems(name))),
        focus=tuple(stem(w) for w in words(name)),
        recency=Recency.ANY,
        tense=Tense.ANY,
        question_stems=frozenset(stem(t) for t in words(text)),
        focus_text=name,
    )


def _truth(text: str, claim: str) -> Question:
    """A "true or false" question: the claim's words are what its evidence must hold."""
    claim = claim[0].upper() + claim[1:]
    return Question(
        text=text,
        type=AnswerType.TRUTH,
        keywords=tuple(dict.fromkeys(content_stems(claim))),
        focus=(),
        recency=Recency.ANY,
        tense=Tense.ANY,
        question_stems=frozenset(stem(t) for t in words(text)),
        claim=claim,
    )
