"""Story topics made from the training index, for summaries to learn from (:mod:`train.salience`).

A user's topic names a story several articles report ("the Chinese spy balloon shot
down by the US"), and a good summary of it states the facts those articles agree on: the
names, places and numbers more than one source gives. Quizzes ask about one fact each,
so they cannot teach that; this makes topics that can, from the training articles alone:

1. Each article (published from ``FROM``, after the development quarter, with a title
   and a body) is compared with those published within ``DAYS`` days of it by TF-IDF
   cosine over its title and opening; ``MIN_ARTICLES`` or more at ``MIN_COSINE`` or above
   make a story (at most ``MAX_ARTICLES``, the closest; copies under the same title left
   out). Articles join one story at most, taken in a seeded random order.
2. The topic is the title of the article the story was found from, cut at its site's
   name ("... - CNN").
3. Its nuggets are the entities the tagger found at ingest (names, places, works, sums
   and quantities; numbers only with digits) that two or more of the story's articles
   state, not words of the topic, not those a larger share than ``RARE`` of all the
   articles hold (and more than a story has: said of many stories, "U.S.", "Texas"), and not part of another
   nugget; up to ``NUGGETS``, those most articles state first.

The stand-in is automatic, and its nuggets are what the development gold's hand-written
nuggets mostly are (eval/gold: "216 votes", "Hakeem Jeffries", "Montana").
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections import defaultdict

import numpy as np

FROM = dt.date(2023, 4, 1)  # the training weeks after the development quarter (train.reader.QUESTIONS_FROM)
DAYS = 7  # a story's articles are published within a week of each other
# TF-IDF cosine of title and opening at which two articles tell one story: .25 finds 278
# stories in the training weeks against 163 at .35, and the added ones, taught beside,
# raise the held-out share of the first 160's facts in their summaries (eval/README.md).
MIN_COSINE = 0.25
MIN_ARTICLES = 3  # as the development gold's topics (each over 3 or more articles)
MAX_ARTICLES = 6
MIN_CHARACTERS = 1500  # a body, not a caption or a quiz's evidence paragraph
OPENING = 1500  # characters of the body compared beside the title
RARE = 0.02  # an entity in more than this share of all articles says little of one story
NUGGETS = 6  # as the development gold (4 to 6 a topic)
CONSIDERED = 20  # the entities most articles state, looked at for nuggets
LABELS = frozenset(
    {
        "PERSON",
        "ORG",
        "GPE",
        "LOC",
        "FAC",
        "EVENT",
        "WORK_OF_ART",
        "LAW",
        "PRODUCT",
        "MONEY",
        "QUANTITY",
        "PERCENT",
        "CARDINAL",
    }
)
SEED = 3


def _topic(title: str) -> str:
    """A title without its site's name: "Storm hits coast - CNN" -> "Storm hits coast"."""
    return re.split(r" [-|–] ", title)[0].strip()


def _plain(entity: str) -> str:
    """An entity as nuggets are matched: lower case, no leading "the", no possessive."""
    text = re.sub(r"^the ", "", entity.strip().lower())
    return re.sub(r"['’]s$", "", text).strip()


def story_topics(index, n: int) -> list[dict]:
    """Up to ``n`` topics (``question`` the topic, ``nuggets`` a list of one-item lists as
    the gold files write them, ``question_date`` the story's last day, ``doc_ids``) from
    the articles of ``index`` (a :class:`rag.Index`); see the module's docstring. Seeded."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    if n <= 0:
        return []
    entries = [e for e in index.articles(since=FROM) if e.title and e.date]
    texts = index.store.texts([e.id for e in entries])
    entries = [e for e in entries if len(texts.get(e.id, "")) >= MIN_CHARACTERS]
    if len(entries) < MIN_ARTICLES:
        return []
    lowered = [texts[e.id].lower() for e in entries]
    x = TfidfVectorizer(stop_words="english", min_df=2, sublinear_tf=True).fit_transform(
        [e.title + " " + texts[e.id][:OPENING] for e in entries]
    )
    days = np.array([e.date.toordinal() for e in entries])
    order = list(range(len(entries)))
    random.Random(SEED).shuffle(order)
    used: set[int] = set()
    out: list[dict] = []
    common: dict[str, bool] = {}  # an entity's commonness, counted over every article once
    for i in order:
        topic = _topic(entries[i].title)
        if i in used or len(topic.split()) < 4:
            continue
        sims = (x @ x[i].T).toarray().ravel()
        near = [
            int(j)
            for j in np.flatnonzero((sims >= MIN_COSINE) & (np.abs(days - days[i]) <= DAYS))
            if j == i or (j not in used and entries[j].title != entries[i].title)
        ]
        if len(near) < MIN_ARTICLES:
            continue
        story = sorted(near, key=lambda j: -sims[j])[:MAX_ARTICLES]
        nuggets = _nuggets(index, [entries[j].id for j in story], texts, topic, lowered, common)
        if len(nuggets) < 3:
            continue
        used.update(story)
        out.append(
            {
                "id": f"story-{len(out)}",
                "question": topic,
                "nuggets": [[t] for t in nuggets],
                "answers": [],
                "question_date": max(entries[j].date for j in story).isoformat(),
                "doc_ids": [entries[j].id for j in story],
            }
        )
        if len(out) >= n:
            break
    return out


def _nuggets(
    index, doc_ids: list[str], texts: dict[str, str], topic: str, lowered: list[str], common: dict[str, bool]
) -> list[str]:
    """The entities two or more of ``doc_ids`` state (see the module's docstring);
    ``common`` keeps, between stories, whether an entity is held by too many articles."""
    stated: dict[str, set[str]] = defaultdict(set)
    for doc in doc_ids:
        text = texts[doc]
        for e in index.store.entities_within(doc, 0, len(text)):
            if e.label not in LABELS:
                continue
            found = _plain(text[e.start : e.end])
            if len(found) < 3 or (e.label == "CARDINAL" and not re.search(r"\d", found)):
                continue
            stated[found].add(doc)
    own = topic.lower()
    shared = sorted(
        (
            t
            for t, docs in stated.items()
            if len(docs) >= 2 and t not in own and not any(w in own for w in t.split() if len(w) > 3)
        ),
        key=lambda t: -len(stated[t]),
    )
    picked: list[str] = []
    for t in shared[:CONSIDERED]:
        if len(picked) == NUGGETS:
            break
        if t not in common:
            common[t] = sum(t in low for low in lowered) > max(RARE * len(lowered), MAX_ARTICLES)
        if common[t] or any(t in p or p in t for p in picked):
            continue
        picked.append(t)
    return picked
