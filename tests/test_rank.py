"""The learned passage ranker (rag/rank.py): its features, its model file, and that
hybrid retrieval ranks by it."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pytest

from rag.rank import MODEL_FILE, RANK_FEATURES, Ranker, RankerModelError, rank_features, read_ranker
from rag.types import Entity, Passage

from .conftest import run_with_truncated_model, write_damaged_model

DAY = dt.date(2025, 9, 1)


def _passage(
    i: int,
    text: str,
    *,
    title: str = "",
    date: dt.date | None = DAY,
    start: int = 0,
    doc: str | None = None,
    sim: float = 0.5,
) -> Passage:
    return Passage(i, doc or f"d{i}", "src", title, date, text, start, start + len(text), sim, sim)


def _col(x: np.ndarray, name: str) -> np.ndarray:
    return x[:, RANK_FEATURES.index(name)]


def test_features_measure_overlap_with_the_query():
    query = "When did Kim Jong Un visit Beijing?"
    ps = [
        _passage(0, "Kim Jong Un arrived in Beijing on Monday for a visit."),
        _passage(1, "The weather in Paris was mild."),
    ]
    x = rank_features(query, ps, np.array([5.0, 0.0]), DAY)
    assert x.shape == (2, len(RANK_FEATURES))
    assert _col(x, "coverage")[0] == 1.0 and _col(x, "coverage")[1] == 0.0
    assert _col(x, "name_coverage")[0] == 1.0  # kim, jong, un, beijing
    assert _col(x, "bm25_share").tolist() == [1.0, 0.0]
    assert _col(x, "lexical_rank")[0] == 1.0 and _col(x, "lexical_rank")[1] < 1.0


def test_features_see_age_position_and_articles():
    ps = [
        _passage(0, "old news", date=DAY - dt.timedelta(days=60), start=0, doc="a"),
        _passage(1, "more of it", date=DAY - dt.timedelta(days=60), start=4000, doc="a"),
        _passage(2, "undated", date=None, doc="b"),
    ]
    x = rank_features("this week's news", ps, np.zeros(3), DAY)
    assert _col(x, "recent")[0] == pytest.approx(np.exp(-2.0))
    assert _col(x, "recent_cued")[0] == _col(x, "recent")[0]  # 'this week' cues recency
    assert _col(x, "undated").tolist() == [0.0, 0.0, 1.0]
    assert _col(x, "lead_chunk").tolist() == [1.0, 0.0, 1.0]
    assert _col(x, "doc_chunks_log")[0] == pytest.approx(np.log(2)) and _col(x, "doc_chunks_log")[2] == 0.0
    plain = rank_features("news", ps, np.zeros(3), DAY)
    assert _col(plain, "recent_cued")[0] == 0.0


def test_typed_features_count_names_of_the_asked_kind_the_question_does_not_hold():
    text = "Kim Jong Un met Choe Son Hui in Beijing."
    ents = (Entity(0, 11, "PERSON"), Entity(16, 27, "PERSON"), Entity(31, 38, "GPE"))
    ps = [replace(_passage(0, text), entities=ents), _passage(1, text)]
    who = rank_features("Who did Kim Jong Un meet?", ps, np.zeros(2), DAY)
    assert _col(who, "typed_log").tolist() == [pytest.approx(np.log(2)), 0.0]  # Choe Son Hui only
    assert _col(who, "entities_log").tolist() == [pytest.approx(np.log(4)), 0.0]
    where = rank_features("Where did Kim Jong Un meet Choe Son Hui?", ps, np.zeros(2), DAY)
    assert _col(where, "typed_log")[0] == pytest.approx(np.log(2))  # Beijing
    open_ended = rank_features("Why did Kim Jong Un travel?", ps, np.zeros(2), DAY)
    assert _col(open_ended, "typed_log").tolist() == [0.0, 0.0]


def test_no_candidates_give_no_rows():
    assert rank_features("anything", [], np.zeros(0), DAY).shape == (0, len(RANK_FEATURES))


def test_scores_match_sklearns_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, len(RANK_FEATURES)))
    y = (x[:, 0] - x[:, 3] > 0).astype(float)
    m = LogisticRegression(C=1.0, max_iter=2000).fit(x, y)
    ranker = Ranker(np.zeros(x.shape[1]), np.ones(x.shape[1]), m.coef_[0], float(m.intercept_[0]))
    assert np.allclose(ranker.scores(x), m.predict_proba(x)[:, 1], atol=1e-9)


def test_shipped_model_loads_and_round_trips(tmp_path):
    ranker = read_ranker(MODEL_FILE)
    assert ranker.info["trained_on"].startswith("RealTimeQA training weeks")
    ranker.save(tmp_path / "r.json")
    back = read_ranker(tmp_path / "r.json")
    x = np.random.default_rng(0).normal(size=(5, len(RANK_FEATURES)))
    assert np.allclose(back.scores(x), ranker.scores(x))


@pytest.mark.parametrize(
    "damage, says",
    [
        ("missing", "missing"),
        ("{half", "damaged"),
        ({"bias": 3.0}, "checksum"),
        (("sign", {"version": 7}), "version 7"),
        (("sign", {"features": ["cosine"]}), "other features"),
        (("sign", {"weights": [1.0]}), "damaged"),
    ],
)
def test_missing_or_damaged_model_is_refused_with_one_clear_line(tmp_path, damage, says):
    path = tmp_path / "ranker.json"
    write_damaged_model(MODEL_FILE, path, damage)
    with pytest.raises(RankerModelError) as err:
        read_ranker(path)
    assert says in str(err.value) and "\n" not in str(err.value) and str(path) in str(err.value)


def test_hybrid_search_ranks_by_the_learned_model_and_blend_stays_available(sample_index):
    from rag import Index
    from rag.retrieve import Mode, Ranking, retrieve

    with Index.open(sample_index) as index:
        query = "Who scored twice in the cup final?"
        vec = index.embedder.encode_queries([query])[0]
        learned = retrieve(index.corpus, query, vec, 3, as_of=DAY)
        blend = retrieve(index.corpus, query, vec, 3, as_of=DAY, ranking=Ranking.BLEND)
        dense = retrieve(index.corpus, query, vec, 3, as_of=DAY, mode=Mode.DENSE)
    assert learned and all(0.0 <= p.score <= 1.0 for p in learned)  # probabilities
    assert [p.score for p in learned] == sorted((p.score for p in learned), reverse=True)
    assert [p.score for p in blend] != [p.score for p in learned]
    assert all(
        p.score == pytest.approx(p.similarity + 0.1 * np.exp(-max((DAY - p.date).days, 0) / 30))
        for p in dense
        if p.date
    )


def test_cli_with_a_damaged_ranker_prints_one_error_line(tmp_path, sample_index):
    out = run_with_truncated_model(sample_index, tmp_path, "RAG_RANKER_MODEL", "search", "cup final")
    assert out.returncode == 1
    assert out.stderr.strip().startswith("error: ranker model") and len(out.stderr.strip().splitlines()) == 1
    assert out.stderr.strip().startswith("error: ranker model") and len(out.stderr.strip().splitlines()) == 1
