"""The salience model's file and its inference (rag/salience.py), against sklearn."""

from __future__ import annotations

import numpy as np
import pytest

from rag.salience import MODEL_FILE, SALIENCE_FEATURES, Salience, SalienceModelError, read_salience

from .conftest import run_with_truncated_model, write_damaged_model


def _networks(rng: np.random.Generator, n: int = 2, hidden: int = 4) -> tuple:
    k = len(SALIENCE_FEATURES)
    return tuple(
        (
            (rng.normal(size=(k, hidden)), rng.normal(size=hidden)),
            (rng.normal(size=(hidden, 1)), rng.normal(size=1)),
        )
        for _ in range(n)
    )


def test_shipped_model_loads_and_scores_probabilities():
    model = read_salience(MODEL_FILE)
    assert model.networks
    scores = model.scores(np.random.default_rng(0).normal(size=(7, len(SALIENCE_FEATURES))))
    assert scores.shape == (7,) and np.all((scores > 0) & (scores < 1))


def test_model_round_trips_through_its_file(tmp_path):
    rng = np.random.default_rng(1)
    k = len(SALIENCE_FEATURES)
    model = Salience(rng.normal(size=k), rng.uniform(0.5, 2, size=k), _networks(rng), {"note": "test"})
    path = tmp_path / "salience.json"
    model.save(path)
    back = read_salience(path)
    x = rng.normal(size=(5, k))
    assert np.allclose(back.scores(x), model.scores(x)) and back.info == {"note": "test"}


def test_scores_are_the_mean_of_sklearns_networks():
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(2)
    x = rng.normal(size=(400, len(SALIENCE_FEATURES)))
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(int)
    nets = [MLPClassifier((6,), alpha=0.1, max_iter=300, random_state=s).fit(x, y) for s in (0, 1)]
    k = len(SALIENCE_FEATURES)
    model = Salience(np.zeros(k), np.ones(k), tuple(tuple(zip(m.coefs_, m.intercepts_)) for m in nets), {})
    expected = np.mean([m.predict_proba(x)[:, 1] for m in nets], axis=0)
    assert np.allclose(model.scores(x), expected, atol=1e-9)


@pytest.mark.parametrize(
    "damage, says",
    [
        ("missing", "missing"),
        ("{not json", "damaged"),
        ({"info": {"edited": True}}, "checksum"),
        (("sign", {"version": 1}), "version 1, this rag reads version 2"),
        (("sign", {"features": ["cosine"]}), "other features"),
        (("sign", {"networks": [[{"weights": [[1.0]], "bias": [0.0]}]]}), "damaged"),
        (("sign", {"networks": []}), "damaged"),
        (("sign", {"format": "rag-reader"}), "not a rag salience model"),
    ],
)
def test_missing_or_damaged_model_is_refused_with_one_clear_line(tmp_path, damage, says):
    path = tmp_path / "salience.json"
    write_damaged_model(MODEL_FILE, path, damage)
    with pytest.raises(SalienceModelError) as err:
        read_salience(path)
    message = str(err.value)
    assert says in message and "\n" not in message and str(path) in message


def test_summarize_with_a_damaged_model_prints_one_error_line(tmp_path, sample_index):
    out = run_with_truncated_model(sample_index, tmp_path, "RAG_SALIENCE_MODEL", "summarize", "the bridge")
    assert out.returncode == 1
    assert out.stderr.strip().startswith("error: salience model") and len(out.stderr.strip().splitlines()) == 1


def test_training_weighs_a_story_topics_sentences_by_the_story_weight():
    from train.salience import QUIZ, STORY, fit

    rng = np.random.default_rng(3)
    k = len(SALIENCE_FEATURES)

    def rows(kind: str, n: int, right_when_positive: bool) -> list[dict]:
        out = []
        for _ in range(n):
            x = rng.normal(size=(20, k))
            out.append({"kind": kind, "x": x, "y": ((x[:, 0] > 0) == right_when_positive).astype(float)})
        return out

    # the quizzes' sentences are right where feature 0 is high, the fewer stories' where it is low
    data = rows(QUIZ, 30, True) + rows(STORY, 10, False)
    probe = np.zeros((2, k))
    probe[:, 0] = (1.5, -1.5)
    high, low = fit(data, 0.01, story_weight=1.0).scores(probe)
    assert high > low  # the many quizzes win
    high, low = fit(data, 0.01, story_weight=10.0).scores(probe)
    assert low > high  # weighed ten times, the stories win
