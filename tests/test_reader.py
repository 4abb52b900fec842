"""The learned reader's model file and its inference (rag/qa/reader.py), against sklearn."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rag.modelfile import digest
from rag.qa.features import FEATURES
from rag.qa.reader import MODEL_FILE, Reader, ReaderModelError, read_model

from .conftest import ask_with_env


def test_shipped_model_loads_with_the_features_rag_computes():
    reader = read_model(MODEL_FILE)
    assert reader.features == FEATURES
    logits = reader.logits(np.zeros((3, len(FEATURES))))
    assert logits.shape == (3,) and np.all(np.isfinite(logits))
    assert 0.0 < reader.threshold < 1.0
    assert reader.info["data"].startswith("RealTimeQA training weeks")


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


@pytest.mark.parametrize("hidden", [None, 4])
def test_model_round_trips_through_its_file(tmp_path, hidden):
    reader = _tiny(hidden)
    reader.save(tmp_path / "r.json")
    back = read_model(tmp_path / "r.json")
    x = np.random.default_rng(1).normal(size=(5, len(FEATURES)))
    assert np.allclose(back.logits(x), reader.logits(x))
    assert back.calibration == reader.calibration and back.threshold == reader.threshold


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
    bad = tmp_path / "reader.json"
    bad.write_text("{truncated")
    out = ask_with_env(sample_index, {"RAG_READER_MODEL": str(bad)})
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
