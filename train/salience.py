"""Train sentence salience (:mod:`rag.salience`) on the RealTimeQA training weeks.

    python -m train.salience --data ../shared/realtimeqa-train [--index indexes/rtqa-train]

1. Use the training index of :mod:`train.reader` (built once) and its questions (every
   ``--every``-th, in date order: a summary reads 20 passages and embeds every sentence,
   so a question costs several times an answer), ``--reading`` reading questions made
   from the training articles' own sentences (:func:`train.reader.reading_questions`),
   and ``--stories`` story topics made from its articles (:func:`train.topics.story_topics`:
   an article's title, with the names and numbers two or more of its story's articles
   state as nuggets).
2. Summarise each question or topic, as of its quiz (or article's, or story's) day, with
   the code that summarises (:func:`rag.summarize.summary_passages`,
   :func:`rag.summarize.readable` without the stand-alone filter,
   :func:`rag.salience.salience_features`), and label each sentence: it states a fact of
   the topic (the question's answer, or a nugget).
3. Choose the weight decay of a few small networks (one hidden layer of
   :data:`HIDDEN` units, :data:`NETWORKS` seeds, their probabilities averaged), how much
   a story topic's sentences count in their training against a question's
   (:data:`STORY_WEIGHT_GRID`) and the weight of the facts a sentence adds
   (:data:`rag.summarize.COVERAGE`) by grouped cross-validation over weeks: for each kind of
   topic, the share of the facts the sentences read state that the five-sentence summary
   (chosen as rag chooses, the facts a sentence adds credited) states (for a question,
   whether it holds the answer); the mean of the three kinds decides. A logistic
   regression of the same features and the hand scoring (similarity, centrality, keyword
   overlap) are reported beside.
4. Refit on every week and write ``rag/models/salience.json``.

Why three kinds: a quiz asks about the week's central fact, so quizzes alone teach that
the sentences most like the others are the ones to show (centrality), whatever the
topic asks. A reading question asks about one side of one article's story, as a user's
topic often does of a few articles ("North Korea's relations with Russia" over two
articles on Kim's trip to Beijing); with them the model also learns to follow the
topic's words. Neither asks for more than one fact, and a summary of a story should
state several: the story topics ask for the facts its sources agree on, as the
development gold's hand-written nuggets do. Held-out weeks (eval/README.md): the
quizzes' share .879 -> .888 with reading questions, the reading questions' about .79 ->
.951.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import time
from pathlib import Path

import numpy as np

from train.reader import FOLDS, SEED, _log, articles, build_index, folds_of, questions, reading_questions, week_of

SENTENCES = 5  # a summary's default length (rag summarize -n)
READING = 700  # reading questions summarised as topics beside the quizzes (about one for every two)
STORIES = 300  # story topics made from the training articles, at most (train.topics finds 278)
QUIZ, READ, STORY = "quiz", "reading", "story"
KINDS = (QUIZ, READ, STORY)
ALPHA_GRID = (0.01, 0.1, 1.0)  # the networks' L2 weight decay (sklearn's alpha)
HIDDEN = 16  # units of the networks' one hidden layer; 8 and 32, and two layers, did no better (eval/README.md)
NETWORKS = 5  # networks from as many seeds, averaged: one seed's net moves story topics' recall by .01 to .03
LOGISTIC_C = 0.1  # the logistic regression reported beside (the model shipped before the networks)
# MMR's diversity (rag.summarize.select): none. Its penalty on a sentence like those chosen
# rewards the sentences least like them, and where a collection holds other stories those
# are off the topic (over the samples, "the new Vellmar harbour bridge" took a lunar
# probe's sentence at .25). The training weeks cannot show it, every passage read there
# being near its topic, and a repeat is dropped whatever the diversity.
DIVERSITY = 0.0
COVERAGE_GRID = (0.5, 1.0, 2.0)  # the weight of the facts a sentence adds (rag.summarize.COVERAGE)
# How much a story topic's sentence counts in training against a question's: stories are
# what a summary is asked for, and a few hundred of them sit beside ~2,000 questions.
STORY_WEIGHT_GRID = (1.0, 3.0, 6.0)


def collect(index, qs: list[dict]) -> list[dict]:
    """Each question's sentences: features, labels, the hand scores, what selection needs."""
    from rag.answer import sentences_of
    from rag.discourse import is_boilerplate, is_fragment, needs_context
    from rag.query import Query
    from rag.question import analyse
    from rag.salience import salience_features
    from rag.summarize import SummaryConfig, hand_scores, readable, sentence_concepts, summary_passages
    from rag.text import content_stems

    plain = SummaryConfig(standalone=False)
    defaults = SummaryConfig()
    out = []
    start = time.perf_counter()
    for n, q in enumerate(qs, 1):
        day = dt.date.fromisoformat(q["question_date"])
        query = q["question"]
        qa = analyse(query)
        qvec = index.embedder.encode_queries([query])[0]
        sents = readable(sentences_of(summary_passages(index.corpus, Query(query, as_of=day), qvec, plain)), plain)
        if not sents:
            continue
        vecs = index.embedder.encode_for_ranking([s.text for s in sents])
        x, sims = salience_features(qa, sents, vecs, qvec, day)
        hand = hand_scores(qa, sents, vecs, qvec, sims, defaults)
        facts = [_facts(s.text, q) for s in sents]
        out.append(
            {
                "id": q["id"],
                "week": q.get("week", q["question_date"]),
                "kind": q.get("kind", QUIZ),
                "x": x,
                "sims": sims.astype(np.float32),
                "facts": facts,
                "y": np.array([bool(f) for f in facts], dtype=np.float64),
                "hand": hand,
                "bags": [set(content_stems(s.text)) for s in sents],
                "concepts": sentence_concepts(qa, sents),
                "standalone": np.array(
                    [not (is_boilerplate(s.text) or is_fragment(s.text) or needs_context(s.text)) for s in sents]
                ),
            }
        )
        if n % 100 == 0:
            _log(f"  {n}/{len(qs)} questions ({(time.perf_counter() - start) / n * 1000:.0f} ms each)")
    return out


def _facts(text: str, q: dict) -> frozenset[int]:
    """Which of the topic's facts a sentence states: the nuggets it holds (any of a
    nugget's forms, as eval.summary matches them), or the question's answer (fact 0)."""
    from eval.common import contains_answer, states_nugget

    if "nuggets" in q:
        low = text.lower()
        return frozenset(i for i, forms in enumerate(q["nuggets"]) if states_nugget(low, forms))
    return frozenset({0}) if contains_answer(text, q["answers"]) else frozenset()


def in_summary(row: dict, scores: np.ndarray, diversity: float, coverage: float | None = None) -> float:
    """The share of the facts the stand-alone sentences read state (the answer, or a
    story's nuggets) that the summary chosen by ``scores`` states, as rag summarises."""
    from rag.summarize import SummaryConfig, select

    keep = np.flatnonzero(row["standalone"])
    present = frozenset().union(*(row["facts"][i] for i in keep))
    if not present:
        return 0.0
    config = SummaryConfig(diversity=diversity, coverage=coverage)
    chosen, _ = select(
        scores[keep],
        row["sims"][np.ix_(keep, keep)],
        [row["bags"][i] for i in keep],
        SENTENCES,
        config,
        [row["concepts"][i] for i in keep],
    )
    return len(frozenset().union(*(row["facts"][keep[c]] for c in chosen))) / len(present)


def recall(rows: list[dict], scores: list[np.ndarray], diversity: float, coverage: float | None = None) -> float:
    held = [(r, s) for r, s in zip(rows, scores) if r["y"][r["standalone"]].any()]
    return float(np.mean([in_summary(r, s, diversity, coverage) for r, s in held])) if held else 0.0


def recalls(
    rows: list[dict], scores: list[np.ndarray], diversity: float, coverage: float | None = None
) -> tuple[float, ...]:
    """:func:`recall` of each kind of topic apart (:data:`KINDS`)."""
    kinds = [[i for i, r in enumerate(rows) if r["kind"] == kind] for kind in KINDS]
    return tuple(recall([rows[i] for i in k], [scores[i] for i in k], diversity, coverage) for k in kinds)


def _standardised(rows: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x = np.vstack([r["x"] for r in rows])
    y = np.concatenate([r["y"] for r in rows])
    mean = x.mean(axis=0)
    std = x.std(axis=0)
    scale = np.where(std > 1e-9, std, 1.0)
    return (x - mean) / scale, y, mean, scale


def fit(rows: list[dict], alpha: float, story_weight: float = 1.0):
    """:data:`NETWORKS` networks from as many seeds on every sentence of ``rows``, a story
    topic's sentences weighing ``story_weight`` times a question's."""
    from sklearn.neural_network import MLPClassifier

    from rag.salience import Salience

    x, y, mean, scale = _standardised(rows)
    weight = np.concatenate([np.full(len(r["y"]), story_weight if r["kind"] == STORY else 1.0) for r in rows])
    networks = []
    for seed in range(SEED, SEED + NETWORKS):
        m = MLPClassifier((HIDDEN,), alpha=alpha, max_iter=200, early_stopping=True, random_state=seed)
        m.fit(x, y, sample_weight=weight)
        networks.append(tuple((w.copy(), b.copy()) for w, b in zip(m.coefs_, m.intercepts_)))
    return Salience(mean=mean, scale=scale, networks=tuple(networks))


def _logistic_scores(train: list[dict], test: list[dict], C: float) -> list[np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    x, y, mean, scale = _standardised(train)
    m = LogisticRegression(C=C, max_iter=3000, random_state=SEED).fit(x, y)
    return [m.predict_proba((r["x"] - mean) / scale)[:, 1] for r in test]


def out_of_fold(
    rows: list[dict], fold: np.ndarray, alpha: float | None, C: float = LOGISTIC_C, story_weight: float = 1.0
) -> list[np.ndarray]:
    """Each row's scores by a model fitted to the other folds' weeks: the networks with
    weight decay ``alpha`` (and ``story_weight``, see :func:`fit`), or with ``alpha`` None
    the logistic regression."""
    scores: list[np.ndarray] = [np.zeros(0) for _ in rows]
    for f in range(FOLDS):
        train = [rows[i] for i in np.flatnonzero(fold != f)]
        held = np.flatnonzero(fold == f)
        if alpha is None:
            got = _logistic_scores(train, [rows[i] for i in held], C)
        else:
            model = fit(train, alpha, story_weight)
            got = [model.scores(rows[i]["x"]) for i in held]
        for i, s in zip(held, got):
            scores[i] = s
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m train.salience", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="../shared/realtimeqa-train", help="the RealTimeQA training weeks")
    parser.add_argument(
        "--index",
        default="indexes/rtqa-train",
        help="the training articles' index (built once by train.reader, reused)",
    )
    parser.add_argument("--every", type=int, default=2, help="take every n-th question (default: %(default)s)")
    parser.add_argument(
        "--reading", type=int, default=READING, help="reading questions read as topics (default: %(default)s)"
    )
    parser.add_argument(
        "--stories", type=int, default=STORIES, help="story topics made from the articles (default: %(default)s)"
    )
    parser.add_argument("--out", default=None, help="model file to write (default: the one rag ships)")
    args = parser.parse_args()
    from rag.salience import MODEL_FILE
    from train.topics import story_topics

    np.random.seed(SEED)
    data = Path(args.data)
    all_questions = questions(data)
    qs = all_questions[:: max(1, args.every)]
    arts = articles(data)
    weeks = sorted({q["question_date"] for q in all_questions})
    qs += [dict(q, kind=READ) for q in reading_questions(arts, args.reading, weeks)]
    with build_index(Path(args.index), arts) as index:
        stories = story_topics(index, args.stories)
        qs += [dict(t, kind=STORY, week=week_of(t["question_date"], weeks)) for t in stories]
        _log(f"salience: reading {len(qs)} questions and topics ({len(stories)} stories)")
        rows = collect(index, qs)
    fold = folds_of(rows)
    report: dict = {
        "questions": sum(r["kind"] == QUIZ for r in rows),
        "reading_questions": sum(r["kind"] == READ for r in rows),
        "stories": sum(r["kind"] == STORY for r in rows),
        "with_a_fact_in_sentences": sum(bool(r["y"].any()) for r in rows),
    }
    report["hand"] = [round(v, 4) for v in recalls(rows, [r["hand"] for r in rows], DIVERSITY)]
    _log(f"  hand scoring: facts in the summary (quizzes, reading, stories) {report['hand']}")
    s = out_of_fold(rows, fold, None)
    key = f"logistic C={LOGISTIC_C}"
    report[key] = [round(v, 4) for v in recalls(rows, s, DIVERSITY)]
    _log(f"  {key}: facts in the summary (quizzes, reading, stories) {report[key]}")
    best = None
    for alpha in ALPHA_GRID:
        for weight in STORY_WEIGHT_GRID:
            s = out_of_fold(rows, fold, alpha, story_weight=weight)
            for cov in COVERAGE_GRID:
                key = f"networks alpha={alpha}, story weight {weight}, coverage {cov}"
                report[key] = [round(v, 4) for v in recalls(rows, s, DIVERSITY, cov)]
                _log(f"  {key}: facts in the summary (quizzes, reading, stories) {report[key]}")
                if best is None or sum(report[key]) > sum(report[best[3]]):
                    best = (alpha, weight, cov, key)
    alpha, weight, coverage, _ = best
    report.update(
        chosen_alpha=alpha,
        chosen_story_weight=weight,
        chosen_diversity=DIVERSITY,
        chosen_coverage=coverage,
        hidden=HIDDEN,
        networks=NETWORKS,
    )
    model = fit(rows, alpha, weight)
    model = dataclasses.replace(
        model,
        info={
            "trained_on": "RealTimeQA training weeks from 2023-04: quizzes, reading questions and story topics made from their articles",
            "trained": dt.date.today().isoformat(),
            "seed": SEED,
            **report,
        },
    )
    out = Path(args.out) if args.out else MODEL_FILE
    model.save(out)
    _log(f"  wrote {out}: {NETWORKS} networks, weight decay {alpha}, story weight {weight}, coverage {coverage}")
    print(json.dumps({"written": str(out), **report}, indent=1))


if __name__ == "__main__":
    main()
