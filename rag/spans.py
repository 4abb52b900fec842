"""Candidate answer spans in a sentence, by answer type.

Names are runs of capitalised words and the named entities the tagger found at ingest
(:mod:`rag.entities`), numbers are digits or number words with the unit that follows
them, dates come from :mod:`rag.dates`, and a manner ("how") is the noun phrase after
"by", "aboard" or "on a". Each candidate carries a prior: how typical its shape is for
the type, raised when the tagger's label fits the question ("which airline": ORG) and
lowered when it does not.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .dates import DateMention, Granularity, find_dates
from .lexicon import (
    ABBREVIATIONS,
    APPROXIMATORS,
    COUNT_WORDS,
    DESCRIPTIVE,
    EST_NOUNS,
    LOCATIVES,
    NAME_LABELS,
    NOT_PERSON_HEADS,
    ORDINALS,
    PERCENT_WORDS,
    PHRASE_BREAKS,
    PLACE_NOUNS,
    STOPWORDS,
    TIME_UNITS,
    TITLE_MODIFIERS,
    TITLES,
)
from .places import PlaceKind, in_region, kinds, region_of
from .question import Question
from .text import IRREGULAR_VERBS, stem
from .types import AnswerType, Entity


@dataclass(frozen=True)
class Candidate:
    start: int  # offsets within the sentence
    end: int
    text: str
    prior: float
    date: DateMention | None = None  # the span itself, for date answers
    when: dt.date | None = None  # the date the sentence gives the event nearest the span
    label: str | None = None  # the tagger's label of the entity the span overlaps most
    proposed: bool = False  # proposed by the span scorer, not by a rule (:func:`proposed`)

    @property
    def key(self) -> str:
        if self.date is not None:
            return self.date.iso
        return re.sub(r"\W+", " ", self.text.lower()).strip()


_NUM = re.compile(
    r"(?<![\w.])(?:\$|€|£)?\d[\d,]*(?:\.\d+)?(?:%| percent)?(?:[- ](?:million|billion|trillion))?"
    r"(?:-(?P<hunit>[a-z]+))?(?![\w])"
    r"|\b(?P<word>" + "|".join(COUNT_WORDS) + r")\b"
    r"|\b(?P<ord>" + "|".join(ORDINALS) + r"|\d+(?:st|nd|rd|th))\b",
    re.IGNORECASE,
)
_TIME_UNIT_STEMS = frozenset(stem(t) for t in TIME_UNITS)
_PERCENT = frozenset(stem(w) for w in PERCENT_WORDS)
_QUOTED = re.compile(r"[“\"]([^”\"]{2,80})[”\"]")
_TOKEN = re.compile(r"[\w'’.-]+")
# a name's word: capitalised, or 'iPhone', 'eBay'; a trailing '+' is part of 'Apple TV+'
_NAME_WORD = r"(?:[A-Z]|(?<!\w)[a-z][A-Z])[\w'’.-]*\+?"
_PROPER = re.compile(_NAME_WORD + r"(?:\s+(?:(?:of|de|al|bin|von|van)\s+)?(?:" + _NAME_WORD + r"|\d+(?![\d,.-])))*")
_MANNER = re.compile(
    r"\b(?:by|aboard|via|on (?:a|an|the|his|her|its|their)|in (?:a|an|his|her|their))\s+((?:[\w-]+\s+){0,3}[\w-]+)",
    re.IGNORECASE,
)


def _stop_word(low: str) -> bool:
    """A lower-cased stop word, or a contraction of one ("who'll", "it's")."""
    return re.split(r"['’]", low)[0] in STOPWORDS


def _verb_like(low: str) -> bool:
    """A lower-cased word that reads as a verb: 'said', 'announced' (no noun ends a name or a phrase with it)."""
    return low in IRREGULAR_VERBS or (low.endswith("ed") and len(low) >= 5)


def _strip_possessive(text: str, after: str = "") -> str:
    """'Biden’s plan' -> Biden; but a name that ends in 's stays whole where no noun
    follows it ('M&M’s is', 'McDonald’s said', 'at Sainsbury’s.'). ``after``: the text
    after ``text`` in its sentence."""
    if not re.search(r"['’]s$", text):
        return text
    nxt = re.match(r"\s+([A-Za-z][\w'’-]*)", after)
    if nxt is None:
        return text
    word = nxt.group(1).lower()
    if word in STOPWORDS or _verb_like(word):
        return text
    return text[:-2]


def proper_phrases(sentence: str) -> list[tuple[int, int, str]]:
    """Runs of capitalised words, minus a capitalised stop word that merely opens the sentence.

    A possessive ends a name ('Elon Musk’s Tesla' is two names)."""
    out: list[tuple[int, int, str]] = []
    for m in _PROPER.finditer(sentence):
        for part in re.finditer(r".+?(?:['’]s\b|$)", m.group(0), re.DOTALL):  # a name may span a line break
            piece = part.group(0)
            lead = len(piece) - len(piece.lstrip())  # the space after a possessive: not part of the next name
            start = m.start() + part.start() + lead
            _proper_phrase(start, piece.strip(), out, sentence[start + len(piece.strip()) :])
    return out


def _proper_phrase(s: int, text: str, out: list[tuple[int, int, str]], after: str = "") -> None:
    if not text:
        return
    first = text.split()[0]
    if not first.isupper() and (_stop_word(first.lower()) or first.lower() in APPROXIMATORS):
        rest = text[len(first) :].lstrip()
        if not rest:
            return
        s += len(text) - len(rest)
        text = rest
    text = _strip_possessive(text.rstrip(".,"), after if not text.endswith((".", ",")) else "").rstrip()
    if not text:  # a lone "’s"
        return
    while text.split()[-1].lower() in STOPWORDS and len(text.split()) > 1:
        text = re.sub(r"\s+\S+$", "", text)
    if not re.fullmatch(r"[\d\s]+", text):  # "Nearly 70" leaves a bare number: not a name
        out.append((s, s + len(text), text))


def _words_after(sentence: str, end: int, limit: int) -> list[tuple[int, int, str]]:
    """The unit after a number: up to ``limit`` words, ending at a stop word, a verb-looking
    word ('crossed', 'walking') or punctuation."""
    out: list[tuple[int, int, str]] = []
    prev = end
    for m in _TOKEN.finditer(sentence, end):
        if sentence[prev : m.start()].strip():  # a comma, a dash, a bracket between: the unit ended
            break
        word = m.group(0).rstrip(".,")
        low = word.lower()
        if not re.search(r"\w", word) or _stop_word(low) or len(out) >= limit:
            break
        prev = m.end()
        if out and low.endswith(("ed", "ing")):
            break
        out.append((m.start(), m.start() + len(word), word))
        if m.group(0) != word:  # punctuation ends the unit
            break
    return out


def _preceding_word(sentence: str, start: int) -> str:
    m = re.search(r"([\w']+)\W*$", sentence[:start])
    return m.group(1).lower() if m else ""


def _describes(word: str) -> bool:
    low = word.lower()
    if low in DESCRIPTIVE:
        return True
    return low.endswith("est") and len(low) > 5 and word[:1].islower() and low not in EST_NOUNS


def number_candidates(sentence: str, q: Question, dates: list[DateMention]) -> list[Candidate]:
    out = []
    for m in _NUM.finditer(sentence):
        s, e = m.span()
        if any(d.start <= s < d.end for d in dates):
            continue
        unit_words: list[str]
        if m.group("hunit"):
            unit_words = [m.group("hunit")]
            end = e
        else:
            after = _words_after(sentence, e, 3)
            unit_words = [w for _, _, w in after]
            end = after[-1][1] if after else e
        unit_stems = set(stem(w) for w in unit_words)
        prior = 0.6 if m.group("ord") else 1.0
        if set(q.focus) & _PERCENT:
            prior *= 1.5 if re.search(r"%|percent", m.group(0)) or re.match(r"\s*(%|per ?cent)", sentence[e:]) else 0.5
        if q.type is AnswerType.DURATION:
            if not unit_stems & _TIME_UNIT_STEMS:
                continue
        else:
            focus = set(q.focus)
            prior *= 1.0 + 0.8 * len(unit_stems & focus) + 0.4 * len(unit_stems & (set(q.keywords) - focus))
        out.append(Candidate(s, end, sentence[s:end], prior))
    return out


LABEL_FIT = 1.3  # a candidate the tagger labelled with a type the question asks for
LABEL_MISFIT = 0.4  # labelled with another type
UNLABELLED = 0.85  # the question asks for a type and the tagger saw no entity here


def _label_of(c: Candidate, entities: Sequence[Entity]) -> str | None:
    """The label of the entity that overlaps the candidate most, if any does."""
    best, label = 0, None
    for e in entities:
        overlap = min(c.end, e.end) - max(c.start, e.start)
        if overlap > best:
            best, label = overlap, e.label
    return label


def proposed(sentence: str, start: int, end: int, q: Question, entities: Sequence[Entity], prior: float) -> Candidate:
    """A span another reader (:mod:`rag.qa.span`) proposes, as a candidate: its tagger
    label and the label's fit to the question applied to ``prior`` as for every span."""
    c = Candidate(start, end, sentence[start:end], prior, proposed=True)
    label = _label_of(c, entities)
    return replace(c, label=label, prior=prior * _label_factor(label, q))


def has_shape(text: str, q: Question, ref: dt.date | None = None) -> bool:
    """Whether a span another reader proposes has the shape the question asks for, as the
    rules' own candidates have: a date for "when", a number for "how many" and "how
    long", a capitalised name for "who" and "where"; any span for the rest."""
    if q.type is AnswerType.DATE:
        return bool(find_dates(text, ref))
    if q.type in (AnswerType.NUMBER, AnswerType.DURATION):
        return bool(number_candidates(text, q, find_dates(text, ref)))
    if q.type in (AnswerType.PERSON, AnswerType.PLACE):
        return any(w[:1].isupper() for w in text.split())
    return True


def _label_factor(label: str | None, q: Question) -> float:
    if q.labels:
        if label is None:
            return UNLABELLED
        return LABEL_FIT if label in q.labels else LABEL_MISFIT
    if q.type is AnswerType.ENTITY and label in NAME_LABELS:
        return 1.1
    return 1.0


_PLACE_FOCUS = {
    stem("country"): PlaceKind.COUNTRY,
    stem("nation"): PlaceKind.COUNTRY,
    stem("state"): PlaceKind.US_STATE,
}
PLACE_FIT = 1.3  # "which country": a country
PLACE_OTHER = 0.1  # ... a US state (and "which state": a country)
PLACE_UNKNOWN = 0.7  # ... a name on neither list: a region, a city, a newspaper
PLACE_ELSEWHERE = 0.3  # "which South Asian country": a country of another region


def _place_factor(text: str, q: Question) -> float:
    wanted = _PLACE_FOCUS.get(q.focus[-1]) if q.focus and q.type is AnswerType.PLACE else None
    if wanted is None:
        return 1.0
    found = kinds(text)
    if wanted in found and wanted is PlaceKind.COUNTRY:
        region = region_of(q.focus_text)
        if region is not None and not in_region(text, region):
            return PLACE_ELSEWHERE
    return PLACE_FIT if wanted in found else PLACE_OTHER if found else PLACE_UNKNOWN


def _after_title(start: int, text: str, q: Question) -> tuple[int, str]:
    """For a person question, a name opened by the question's own noun as its title
    ('Foreign Minister Choe Son Hui' for "which foreign minister") is the name after it:
    the title is the category asked about, not the answer."""
    if q.type is not AnswerType.PERSON or not q.focus:
        return start, text
    tokens = list(re.finditer(r"[\w'’.-]+", text))
    k = len(q.focus)
    if len(tokens) > k and tokens[k].group(0)[:1].isupper() and tuple(stem(t.group(0)) for t in tokens[:k]) == q.focus:
        return start + tokens[k].start(), text[tokens[k].start() :]
    return start, text


def entity_candidates(sentence: str, q: Question, entities: Sequence[Entity]) -> list[Candidate]:
    """The tagged names a name question can be answered with ('the Buffalo Bills' -> Buffalo Bills)."""
    wanted = q.labels or NAME_LABELS
    out = []
    for e in entities:
        if e.label not in wanted:
            continue
        start, text = e.start, sentence[e.start : e.end]
        m = re.match(r"(?:the|a|an)\s+", text, re.IGNORECASE)
        if m:
            start, text = start + m.end(), text[m.end() :]
        text = _strip_possessive(text.rstrip(".,"), sentence[start + len(text) :])
        start, text = _after_title(start, text, q)
        found = re.findall(r"[\w'’]+", text)
        if not found or all(q.holds(w) for w in found):
            continue
        out.append(Candidate(start, start + len(text), text, 0.9))
    return out


_PHRASE_WORD = re.compile(r"[A-Za-z][\w'’-]*")
NOUN_PHRASE_PRIOR = 0.7  # a common noun phrase, for "which fruit": typed only by its fit to the focus


def noun_phrases(sentence: str, q: Question, longest: int = 3) -> list[Candidate]:
    """Common noun phrases an open "which <category>" question can be answered with ('gas
    stoves', 'vinyl chloride'): the last one to ``longest`` words of each run of content
    words, a run ending at a stop word, a number or punctuation. Verbs are not told apart;
    the fit to the question's focus (:func:`rag.answer` embeds both) sorts them out."""
    out: list[Candidate] = []
    run: list[tuple[int, int, str]] = []

    def close() -> None:
        # 'a dazzling green comet' for 'which color is the comet': the words before the
        # question's own noun say which
        head = len(run)
        while head > 1 and stem(run[head - 1][2]) in q.question_stems:
            head -= 1
        ends = [len(run)] + ([head] if head < len(run) else [])
        for end in ends:
            emit(run[:end])
        run.clear()

    def emit(run: list[tuple[int, int, str]]) -> None:
        for n in range(1, min(longest, len(run)) + 1):
            part = run[-n:]
            stems = [stem(w) for _, _, w in part]
            # 'syncytial virus' for 'which virus' names the category again, not one of it
            if all(s in q.question_stems for s in stems) or stems[0] in q.question_stems or set(stems) & set(q.focus):
                continue
            out.append(Candidate(part[0][0], part[-1][1], sentence[part[0][0] : part[-1][1]], NOUN_PHRASE_PRIOR))

    last = 0
    for m in _PHRASE_WORD.finditer(sentence):
        word = m.group(0).rstrip("'’-")
        gap = sentence[last : m.start()]
        if run and gap.strip():
            close()
        last = m.start() + len(word)
        low = word.lower()
        if low in PHRASE_BREAKS or _stop_word(low) or _verb_like(low):
            close()
            continue
        run.append((m.start(), m.start() + len(word), word))
    close()
    return out


_COARSENESS = {Granularity.DAY: 0, Granularity.WEEK: 1, Granularity.MONTH: 2, Granularity.YEAR: 3}
_ASKED = {
    stem(w): g
    for w, g in (
        ("day", Granularity.DAY),
        ("date", Granularity.DAY),
        ("month", Granularity.MONTH),
        ("year", Granularity.YEAR),
    )
}


def _date_prior(d: DateMention, q: Question) -> float:
    """A bare year answers 'when' less often than a day does; a date coarser than the
    question asks for ('which month': 1944) seldom answers it."""
    asked = _ASKED.get(q.focus[0]) if q.focus else None
    if asked is not None and _COARSENESS[d.granularity] > _COARSENESS[asked]:
        return 0.25
    return 0.8 if d.granularity is Granularity.YEAR else 1.0


_APPOSITIVE = re.compile(r"\s*,\s*((?:a|an|the)\s+[^,.;:()]{3,80}?)\s*[,.;:]")
_COPULA_NP = re.compile(r"\s+(?:is|was)\s+((?:a|an|the)\s+[^,.;:()]{3,80}?)\s*[,.;:]")
DESCRIPTOR_WORDS = 5  # at most this many words of a title before a name ('Foreign Ministry official')


def _form_of_address(word: str) -> bool:
    """'Rep.', 'Sen.', 'Gov.': an abbreviated title says how a name is addressed, too
    little of what it is ("Who is Kevin McCarthy?" -> not 'Rep.')."""
    return word.endswith(".") and word[:-1].lower() in ABBREVIATIONS


def _title_of(tokens: list[re.Match]) -> list[re.Match]:
    """The title in the words before a name: where it has capitalised words ('Chinese
    President'), a lowercase word before them is the sentence's ('join', 'alongside')
    unless it qualifies the title ('former'); lowercase words after them are the title's
    own ('Foreign Ministry official')."""
    capitalised = [i for i, t in enumerate(tokens) if t.group(0)[:1].isupper()]
    if not capitalised:
        return tokens
    foreign = [
        i
        for i in range(capitalised[-1])
        if tokens[i].group(0)[:1].islower() and tokens[i].group(0).lower() not in TITLE_MODIFIERS
    ]
    return tokens[foreign[-1] + 1 :] if foreign else tokens


def description_candidates(sentence: str, q: Question) -> list[Candidate]:
    """How ``sentence`` describes the name a "who is <name>?" question asks about: the
    title before it ('Foreign Ministry official Kim Chon Il'), an appositive after it
    ('Kim Chon Il, a senior diplomat,') or what it is said to be ('... is a diplomat.')."""
    out = []
    name = q.focus_text
    for m in re.finditer(re.escape(name), sentence):
        before = list(re.finditer(r"[\w'’&.-]+|[^\w\s]", sentence[: m.start()]))
        keep: list[re.Match] = []
        for t in reversed(before):
            low = t.group(0).lower()
            if (
                not re.match(r"\w", low)
                or _stop_word(low)
                or _verb_like(low)
                or low.endswith("ing")
                or len(keep) == DESCRIPTOR_WORDS
            ):
                break
            keep.insert(0, t)
        keep = _title_of(keep)
        if keep and not all(_form_of_address(t.group(0)) for t in keep):
            out.append(Candidate(keep[0].start(), keep[-1].end(), sentence[keep[0].start() : keep[-1].end()], 1.0))
        rest = sentence[m.end() :]
        for pattern, prior in ((_APPOSITIVE, 1.0), (_COPULA_NP, 0.9)):
            found = pattern.match(rest)
            if found:
                start = m.end() + found.start(1)
                out.append(Candidate(start, start + len(found.group(1)), found.group(1), prior))
    return out


def candidates(sentence: str, ref: dt.date | None, q: Question, entities: Sequence[Entity] = ()) -> list[Candidate]:
    """Every span of ``sentence`` that has the shape of an answer to ``q``; ``entities``
    are the tagged entities of the sentence, in its offsets."""
    if q.type is AnswerType.DESCRIPTION:
        return description_candidates(sentence, q)
    dates = find_dates(sentence, ref)
    if q.type is AnswerType.DATE:
        return [Candidate(d.start, d.end, d.text, _date_prior(d, q), d, d.value) for d in dates]
    found = _typed_candidates(sentence, q, dates)
    if q.open_category:
        taken = {(c.start, c.end) for c in found}
        found += [c for c in noun_phrases(sentence, q) if (c.start, c.end) not in taken]
    if q.type in (AnswerType.ENTITY, AnswerType.PERSON, AnswerType.PLACE):
        named = entity_candidates(sentence, q, entities)
        # a piece of a tagged name is not another answer: 'Mafia' of 'Three 6 Mafia'
        found = [
            c
            for c in found
            if not any(n.start <= c.start and c.end <= n.end and n.end - n.start > c.end - c.start for n in named)
        ]
        found += named
    labelled = [(c, _label_of(c, entities)) for c in found]
    found = [
        replace(c, label=label, prior=c.prior * _label_factor(label, q) * _place_factor(c.text, q))
        for c, label in labelled
    ]
    if not dates:
        return found
    out = []
    for c in found:
        near = min(dates, key=lambda d: max(d.start - c.end, c.start - d.end, 0))
        gap = max(near.start - c.end, c.start - near.end, 0)
        out.append(replace(c, when=near.value) if gap <= 40 else c)
    return out


def _typed_candidates(sentence: str, q: Question, dates: list[DateMention]) -> list[Candidate]:
    if q.type in (AnswerType.NUMBER, AnswerType.DURATION):
        return number_candidates(sentence, q, dates)
    if q.type is AnswerType.MANNER:
        out = []
        for m in _MANNER.finditer(sentence):
            # "by his special train on Tuesday" -> "special train": skip determiners, stop at the next stop word
            tokens = list(re.finditer(r"\S+", m.group(1)))
            skip = 0
            while skip < len(tokens) and tokens[skip].group(0).lower() in STOPWORDS:
                skip += 1
            keep = []
            for t in tokens[skip:]:
                if t.group(0).lower() in STOPWORDS:
                    break
                keep.append(t)
            if not keep:
                continue
            start, end = m.start(1) + keep[0].start(), m.start(1) + keep[-1].end()
            if not any(d.start <= start < d.end for d in dates):
                out.append(Candidate(start, end, sentence[start:end], 1.0))
        return out
    out = []
    focus_set = set(q.focus)
    for s, e, text in proper_phrases(sentence):
        if any(d.start <= s < d.end for d in dates):
            continue
        cut = min((d.start for d in dates if s < d.start < e), default=e)  # 'California Tuesday'
        if cut < e:
            text = sentence[s:cut].rstrip(" ,")
            e = s + len(text)
            if not text.strip():
                continue
        titled = text
        s, text = _after_title(s, text, q)
        prior = 0.8
        before = _preceding_word(sentence, s)
        if q.type is AnswerType.PLACE:
            prior = 1.0 if before in LOCATIVES else 0.6
            if before == "of" and focus_set & {stem(n) for n in PLACE_NOUNS}:
                prior = 1.3
        elif q.type is AnswerType.PERSON:
            names = text.split()
            prior = 1.0 if len(names) >= 2 else 0.7
            if any(t.lower().rstrip(".") in NOT_PERSON_HEADS for t in names):
                prior *= 0.5
            if names[0].lower().rstrip(".") in TITLES or before in TITLES:
                prior *= 1.3
        if focus_set:
            # "the Chinese border city of Dandong", "Foreign Minister Choe Son Hui", "Yakutsk,
            # the coldest city": the noun the question names stands just before or after
            # the name, or opens it as a title.
            before_words = {stem(w) for w in re.findall(r"[\w'’]+", sentence[max(0, s - 40) : s])[-4:]}
            after_words = {stem(w) for w in re.findall(r"[\w'’]+", sentence[e : e + 40])[:4]}
            own = {stem(w) for w in titled.split()}
            near = len(focus_set & (before_words | after_words)) / len(focus_set)
            prior *= 1.0 + 0.5 * near + 0.5 * len(focus_set & own) / len(focus_set)
        name_stems = [stem(w) for w in text.split() if stem(w) not in focus_set]
        if name_stems:
            prior *= 1.0 - 0.5 * sum(1 for w in name_stems if w in q.question_stems) / len(name_stems)
        out.append(Candidate(s, e, text, prior))
    if q.type in (AnswerType.ENTITY, AnswerType.PERSON):
        # Titles of books, shows and films are quoted: 'his memoir, “Spare”'.
        for m in _QUOTED.finditer(sentence):
            inner = m.group(1).strip()
            first = re.split(r"['’\s]", inner.lower())[0]
            if (
                1 <= len(inner.split()) <= 8
                and inner[:1].isupper()
                and first not in STOPWORDS
                and inner[-1] not in ".!?,"
            ):
                out.append(Candidate(m.start(1), m.start(1) + len(inner), inner, 0.9))
    if q.type is AnswerType.ENTITY and focus_set:
        # "the chemical vinyl chloride": a common noun phrase right after the focus noun
        for m in re.finditer(r"[\w'’-]+", sentence):
            if stem(m.group(0)) in focus_set:
                after = _words_after(sentence, m.end(), 3)
                if (
                    after
                    and not after[0][2][:1].isupper()
                    and not all(stem(w) in q.question_stems for _, _, w in after)
                ):
                    out.append(Candidate(after[0][0], after[-1][1], sentence[after[0][0] : after[-1][1]], 0.6))
        # "the 80th anniversary": the focus noun with the modifiers before it
        for m in re.finditer(r"[\w'’-]+", sentence):
            if stem(m.group(0)) in focus_set:
                mods = re.findall(r"[\w'’-]+", sentence[max(0, m.start() - 40) : m.start()])[-3:]
                modifiers: list[str] = []
                for w in reversed(mods):
                    if w.lower() in STOPWORDS:
                        break
                    modifiers.insert(0, w)
                # 'the 80th anniversary', 'sesame seeds' name one of the category; 'the largest
                # movie theater chain', 'the newest federal holiday' only praise or date one
                if (
                    modifiers
                    and not any(_describes(w) for w in modifiers)
                    and not all(stem(w) in q.question_stems for w in modifiers)
                ):
                    start = sentence.rfind(modifiers[0], max(0, m.start() - 40), m.start())
                    out.append(Candidate(start, m.end(), sentence[start : m.end()], 1.2))
    return out
