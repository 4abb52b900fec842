"""The learned reader's model file and its inference (rag/qa/reader.py), against sklearn."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.modelfile import digest
from rag.qa.features import FEATURES
from rag.qa.reader import MODEL_FILE, Reader, ReaderModelError, read_model

from .conftest import ask_with_truncated_model


def test_shipped_model_loads_with_the_features_rag_computes():
    reader = read_model(MODEL_FILE)
    assert reader.features == FEATURES
    logits = reader.logits(np.zeros((3, len(FEATURES))))
    assert logits.shape == (3,) and np.all(np.isfinite(logits))
    assert 0.0 < reader.threshold < 1.0
    assert reader.info["data"].startswith("RealTimeQA training weeks")


def test_answers_read_as_many_passages_as_the_shipped_reader_learned_from():
    from rag.answer import AnswerConfig
    from train.reader import READ

    learned = read_model(MODEL_FILE).info.get("read_passages", 8)  # recorded since train.reader --read; 8 before
    assert learned == AnswerConfig().read_passages == READ


def _tiny(hidden: int | None) -> Reader:
    rng = np.random.default_rng(0)
    n = len(FEATURES)
    layers = (
        ((rng.normal(size=(n, hidden)), rng.normal(size=hidden)), (rng.normal(size=(hidden, 1)), rng.normal(size=1)))
        if hidden
        else ((rng.normal(size=(n, 1)), rng.normal(size=1)),)
    )
    return Reader(
        FEATURES, rng.normal(size=n), rng.uniform(0.5, 2, size=n), layers, (1.0, 0.5, -1.0), 0.3, {"note": "test"}
    )


def _with_chooser(reader: Reader, hidden: int = 3) -> Reader:
    from dataclasses import replace

    rng = np.random.default_rng(5)
    n = len(FEATURES)
    chooser = (
        (rng.normal(size=(n, hidden)), rng.normal(size=hidden)),
        (rng.normal(size=(hidden, 1)), rng.normal(size=1)),
    )
    return replace(reader, chooser=chooser)


@pytest.mark.parametrize("hidden, chooser", [(None, False), (4, False), (4, True)])
def test_model_round_trips_through_its_file(tmp_path, hidden, chooser):
    reader = _with_chooser(_tiny(hidden)) if chooser else _tiny(hidden)
    reader.save(tmp_path / "r.json")
    back = read_model(tmp_path / "r.json")
    x = np.random.default_rng(1).normal(size=(5, len(FEATURES)))
    assert np.allclose(back.logits(x), reader.logits(x))
    assert back.choose(x, back.logits(x)) == reader.choose(x, reader.logits(x))
    assert (back.chooser is None) == (not chooser)
    assert back.calibration == reader.calibration and back.threshold == reader.threshold


def test_the_chooser_picks_the_answer_and_the_judge_says_how_sure():
    reader = _with_chooser(_tiny(4))
    x = np.random.default_rng(3).normal(size=(6, len(FEATURES)))
    logits = reader.logits(x)
    picked = reader.choose(x, logits)
    assert picked == int(np.argmax(_chooser_logits(reader, x)))
    judged = reader.confidence(logits, picked)
    a, b, c = reader.calibration
    others = np.delete(logits, picked)
    z = a * logits[picked] + b * min(logits[picked] - others.max(), 10.0) + c
    assert judged == pytest.approx(1 / (1 + np.exp(-z)))
    assert _tiny(4).choose(x, logits) == int(np.argmax(logits))  # without a chooser: the judge's best
    assert picked != int(np.argmax(logits))  # here the two disagree: the judge is less sure of the pick
    assert judged < reader.confidence(logits)


def _chooser_logits(reader: Reader, x: np.ndarray) -> np.ndarray:
    h = (x - reader.mean) / reader.scale
    (w1, b1), (w2, b2) = reader.chooser
    return (np.maximum(h @ w1 + b1, 0) @ w2 + b2)[:, 0]


def test_listwise_fit_picks_the_right_candidate_of_each_question():
    from train.reader import fit

    rng = np.random.default_rng(4)
    groups = np.repeat(np.arange(60), 5)
    x = rng.normal(size=(300, len(FEATURES)))
    y = np.zeros(300)
    for g in range(60):  # in each question the right candidate is the one with the largest first feature
        rows = np.flatnonzero(groups == g)
        y[rows[np.argmax(x[rows, 0])]] = 1.0
    mean, scale, layers = fit(x, y, {"kind": "listwise", "hidden": 8, "decay": 1e-3, "pointwise": 0.3}, groups)
    reader = Reader(FEATURES, mean, scale, tuple(layers), (1.0, 0.0, 0.0), 0.5, {})
    s = reader.logits(x)
    picked = [np.flatnonzero(groups == g)[np.argmax(s[groups == g])] for g in range(60)]
    assert np.mean(y[picked]) >= 0.9


def test_inference_matches_sklearn_for_both_model_kinds():
    from train.reader import fit

    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, len(FEATURES)))
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(float)
    for spec in ({"kind": "logistic", "C": 1.0}, {"kind": "mlp", "hidden": 8, "alpha": 1e-3}):
        mean, scale, layers = fit(x, y, spec)
        reader = Reader(FEATURES, mean, scale, tuple(layers), (1.0, 0.0, 0.0), 0.5, {})
        p = 1 / (1 + np.exp(-reader.logits(x)))
        from sklearn.linear_model import LogisticRegression
        from sklearn.neural_network import MLPClassifier

        z = (x - mean) / scale
        ref = (
            LogisticRegression(C=1.0, max_iter=2000).fit(z, y)
            if spec["kind"] == "logistic"
            else MLPClassifier(hidden_layer_sizes=(8,), alpha=1e-3, max_iter=400, random_state=0).fit(z, y)
        )
        assert np.allclose(p, ref.predict_proba(z)[:, 1], atol=1e-6)


def _write(path, data: dict, sign: bool = True) -> None:
    body = {k: v for k, v in data.items() if k != "sha256"}
    path.write_text(json.dumps({**body, "sha256": digest(body)} if sign else data))


@pytest.mark.parametrize(
    "damage, says",
    [
        (lambda d: None, "missing"),
        (lambda d: "{not json", "damaged"),
        (lambda d: {**d, "threshold": 0.01}, "checksum"),
        (lambda d: ("sign", {**d, "version": 99}), "version 99"),
        (lambda d: ("sign", {**d, "features": d["features"][:-1]}), "other features"),
        (lambda d: ("sign", {**d, "layers": [{"weights": [[1.0]], "bias": [0.0]}]}), "damaged"),
        (lambda d: ("sign", {**d, "chooser": [{"weights": [[1.0]], "bias": [0.0]}]}), "damaged"),
        (lambda d: ("sign", {**d, "format": "something-else"}), "not a rag reader model"),
    ],
)
def test_missing_or_damaged_model_is_refused_with_one_clear_line(tmp_path, damage, says):
    good = json.loads(MODEL_FILE.read_text())
    path = tmp_path / "reader.json"
    bad = damage(good)
    if isinstance(bad, str):
        path.write_text(bad)
    elif isinstance(bad, tuple):
        _write(path, bad[1])
    elif bad is not None:
        path.write_text(json.dumps(bad))
    with pytest.raises(ReaderModelError) as err:
        read_model(path)
    message = str(err.value)
    assert says in message and "\n" not in message and str(path) in message


def test_cli_with_a_damaged_model_prints_one_error_line(tmp_path, sample_index):
    out = ask_with_truncated_model(sample_index, tmp_path, "RAG_READER_MODEL")
    assert out.returncode == 1
    assert out.stderr.strip().startswith("error: reader model") and len(out.stderr.strip().splitlines()) == 1


def test_confidence_rises_with_the_best_score_and_its_lead():
    reader = _tiny(None)
    low = reader.confidence(np.array([0.0, -0.1]))
    assert reader.confidence(np.array([2.0, -0.1])) > low
    assert reader.confidence(np.array([0.0, -3.0])) > low
    assert reader.confidence(np.array([])) == 0.0


def test_threshold_keeps_right_answers_and_abstains_where_it_can():
    from train.reader import choose_threshold, ece

    p = np.array([0.9, 0.8, 0.3, 0.2, 0.1, 0.05])
    right = np.array([True, True, True, False, False, False])
    holds = np.array([True, True, True, True, False, False])
    t, stats = choose_threshold(p, right, holds, max_lost=0.0)
    assert t == 0.3 and stats["no_answer_unanswerable"] == 1.0 and stats["accuracy_answerable"] == 0.75
    t, _ = choose_threshold(p, right, holds, max_lost=0.34)  # one right answer of three may go
    assert t == 0.8
    assert ece(np.array([0.25, 0.25, 0.75, 0.75]), np.array([0.0, 1.0, 1.0, 1.0])) == pytest.approx(0.25)


def test_weeks_stay_whole_in_one_fold():
    from train.reader import folds_of

    rows = [{"week": w} for w in ["2024-01-04", "2024-01-04", "2024-01-11", "2024-01-18", "2024-01-11"]]
    fold = folds_of(rows, 2)
    assert fold[0] == fold[1] and fold[2] == fold[4] and fold[0] != fold[2]


def test_a_restandardised_chooser_scores_as_before():
    from train.reader import logits_of, restandardised

    rng = np.random.default_rng(6)
    n = len(FEATURES)
    model = (
        rng.normal(size=n),
        rng.uniform(0.5, 2, size=n),
        [(rng.normal(size=(n, 5)), rng.normal(size=5)), (rng.normal(size=(5, 1)), rng.normal(size=1))],
    )
    mean, scale = rng.normal(size=n), rng.uniform(0.5, 2, size=n)
    x = rng.normal(size=(7, n))
    moved = (mean, scale, list(restandardised(model, mean, scale)))
    assert np.allclose(logits_of(moved, x), logits_of(model, x))


def test_reading_questions_come_from_the_articles_and_are_filed_under_a_quiz_week():
    from train.reader import reading_questions

    text = (
        "Riverton Rovers won the league cup on Saturday after a long and difficult season in the north. "
        "Striker Maya Lindqvist scored twice in the second half of the final at the National Stadium."
    )
    arts = [{"id": f"a{i}", "date": "2023-05-02", "text": text} for i in range(6)]
    made = reading_questions(arts, 4, ["2023-04-28", "2023-05-05"])
    assert made and len(made) <= 4
    for q in made:
        assert q["question"].endswith("?") and q["answers"][0] in text and q["answers"][0] not in q["question"]
        assert q["question_date"] == "2023-05-02" and q["week"] == "2023-05-05"
    assert made == reading_questions(arts, 4, ["2023-04-28", "2023-05-05"])  # seeded


def test_small_collections_hold_the_answering_article_its_nearest_report_and_a_few_more():
    from train.reader import SMALL_WINDOW, small_collections

    def art(i: int, day: str, text: str) -> dict:
        return {"id": f"a{i}", "date": day, "title": "", "text": text}

    bridge = "The Vellmar harbour bridge opened to traffic on Monday, the mayor Ana Ribeiro said."
    arts = [
        art(0, "2023-05-02", bridge),
        art(1, "2023-05-01", "Ana Ribeiro opened the harbour bridge in Vellmar to traffic on Monday morning."),
        *(
            art(i, "2023-04-29", f"Market report {i}: grain prices rose again as the dry season went on.")
            for i in range(2, 8)
        ),
        art(8, "2023-03-01", "An old harbour bridge story from long before the question's week, about Vellmar."),
        {"id": "ev-q1", "date": "2023-05-02", "title": "", "text": bridge},
    ]
    quiz = {"id": "q1", "question": "Who opened the bridge?", "answers": ["Ana Ribeiro"], "question_date": "2023-05-03"}
    reading = {**quiz, "id": "reading-0", "question_date": "2023-05-02", "week": "2023-05-03", "article": "a0"}
    made = small_collections(arts, [quiz] * 40, [reading] * 40, 40)
    assert len(made) == 40 and made == small_collections(arts, [quiz] * 40, [reading] * 40, 40)  # seeded
    for item in made:
        ids = item["articles"]
        assert 1 <= len(ids) <= 5 and len(set(ids)) == len(ids)
        assert "ev-q1" not in ids and "a8" not in ids  # no evidence paragraphs, nothing from before the window
        if "article" in item and "a0" in ids:
            assert ids[:2] == ["a0", "a1"]  # the home article, then the other report of its story
    assert any("a0" not in item["articles"] for item in made if "article" in item)  # some leave the home out
    assert {item.get("week", item["question_date"]) for item in made} == {"2023-05-03"}  # the source's week
    assert SMALL_WINDOW >= 1


def test_a_small_collection_is_indexed_on_its_own_and_asked_there():
    from rag.qa.features import FEATURES
    from train.reader import collect_small

    arts = [
        {
            "id": "b1",
            "date": "2024-03-04",
            "title": "Bridge opens",
            "text": "Mayor Ana Ribeiro opened the Vellmar bridge on Monday. Crowds cheered.",
        },
        {
            "id": "b2",
            "date": "2024-03-05",
            "title": "Traffic",
            "text": "More than 41,000 vehicles crossed the new bridge in Vellmar on Tuesday.",
        },
        {
            "id": "m1",
            "date": "2024-03-05",
            "title": "Markets",
            "text": "Grain prices rose for a third week as the dry season went on.",
        },
    ]
    item = {
        "id": "small-0",
        "question": "Who opened the Vellmar bridge?",
        "answers": ["Ana Ribeiro"],
        "question_date": "2024-03-06",
    }
    rows = collect_small([{**item, "articles": ["b1", "b2"]}, {**item, "id": "small-1", "articles": ["m1"]}], arts)
    assert [r["id"] for r in rows] == ["small-0", "small-1"]
    assert rows[0]["x"].shape == (len(rows[0]["shown"]), len(FEATURES)) and any(
        "Ana Ribeiro" in s for s in rows[0]["shown"]
    )
    assert rows[0]["on_topic"] and not rows[1]["on_topic"]  # the answer is only where its article was indexed
