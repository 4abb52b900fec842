"""The query adapter (rag/adapter.py): which queries it maps, its model file, and that
retrieval searches with the mapped vector of a question only."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from rag.adapter import MODEL_FILE, AdapterModelError, QueryAdapter, asks, read_adapter, search_vector
from rag.embed import DEFAULT_MODEL

from .conftest import ask_with_truncated_model, write_damaged_model

DAY = dt.date(2025, 9, 1)


@pytest.mark.parametrize(
    "query, asking",
    [
        ("Who scored twice in the cup final?", True),
        ("which city hosted the summit", True),
        ("Did the lander touch down", True),
        ("The lander touched down where?", True),
        ("the cup final in Riverton", False),
        ("Kim Jong Un's trip to Beijing", False),
        ("", False),
    ],
)
def test_only_queries_that_ask_are_mapped(query, asking):
    assert asks(query) is asking


def _unit(rng: np.random.Generator, n: int, d: int = 8) -> np.ndarray:
    v = rng.normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_the_map_keeps_vectors_unit_length_and_a_zero_delta_changes_nothing():
    rng = np.random.default_rng(0)
    v = _unit(rng, 5)
    assert np.allclose(QueryAdapter(np.zeros((8, 8), np.float32), "m").apply(v), v)
    mapped = QueryAdapter(rng.normal(size=(8, 8)).astype(np.float32), "m").apply(v)
    assert np.allclose(np.linalg.norm(mapped, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(mapped, v)


def test_a_topic_or_another_models_vector_is_left_as_it_is():
    rng = np.random.default_rng(1)
    adapter = QueryAdapter(rng.normal(size=(8, 8)).astype(np.float32), "m")
    v = _unit(rng, 1)[0]
    assert np.array_equal(search_vector("m", "the cup final", v, adapter), v)
    assert np.array_equal(search_vector("other-model", "Who won the cup final?", v, adapter), v)
    assert np.allclose(search_vector("m", "Who won the cup final?", v, adapter), adapter.apply(v))


def test_shipped_model_is_for_the_default_model_and_round_trips(tmp_path):
    adapter = read_adapter(MODEL_FILE)
    assert adapter.model == DEFAULT_MODEL and adapter.delta.shape == (384, 384)
    assert adapter.info["chosen_lam"] > 0 and adapter.info["data"].startswith("RealTimeQA training weeks")
    adapter.save(tmp_path / "a.json")
    back = read_adapter(tmp_path / "a.json")
    assert np.array_equal(back.delta, adapter.delta)  # float16 both ways: nothing more is lost


@pytest.mark.parametrize(
    "damage, says",
    [
        ("missing", "missing"),
        ("{half", "damaged"),
        ({"model": "another"}, "checksum"),
        (("sign", {"version": 9}), "version 9"),
        (("sign", {"shape": [384, 383]}), "damaged"),
        (("sign", {"delta_f16": "AAAA"}), "damaged"),
    ],
)
def test_missing_or_damaged_model_is_refused_with_one_clear_line(tmp_path, damage, says):
    path = tmp_path / "adapter.json"
    write_damaged_model(MODEL_FILE, path, damage)
    with pytest.raises(AdapterModelError) as err:
        read_adapter(path)
    assert says in str(err.value) and "\n" not in str(err.value) and str(path) in str(err.value)


def test_retrieval_searches_with_a_questions_mapped_vector(sample_index, tmp_path, monkeypatch):
    from rag import Index
    from rag.retrieve import Mode, retrieve
    from rag.vectors import contents

    question, topic = "Who scored twice in the cup final?", "scoring twice in the cup final"
    with Index.open(sample_index) as index:
        q, t = index.embedder.encode_queries([question, topic])
        plain = retrieve(index.corpus, question, q, 3, as_of=DAY, mode=Mode.DENSE)
        topic_plain = retrieve(index.corpus, topic, t, 3, as_of=DAY, mode=Mode.DENSE)
        ids, vecs = contents(index.corpus.vectors)
        far = int(np.argmin(vecs @ q))  # the chunk least like the question
        # a map that sends the question's vector onto that chunk's: v -> (v . q) c
        delta = np.outer(q, vecs[far]) - np.eye(len(q), dtype=np.float32)
        QueryAdapter(delta.astype(np.float32), index.embedder.name).save(tmp_path / "a.json")
        monkeypatch.setenv("RAG_ADAPTER_MODEL", str(tmp_path / "a.json"))
        mapped = retrieve(index.corpus, question, q, 3, as_of=DAY, mode=Mode.DENSE)
        topic_mapped = retrieve(index.corpus, topic, t, 3, as_of=DAY, mode=Mode.DENSE)
    assert plain[0].chunk_id != int(ids[far])
    assert mapped[0].chunk_id == int(ids[far]) and mapped[0].similarity == pytest.approx(1.0, abs=1e-2)
    assert [p.chunk_id for p in topic_mapped] == [p.chunk_id for p in topic_plain]


def test_cli_with_a_damaged_adapter_prints_one_error_line(tmp_path, sample_index):
    out = ask_with_truncated_model(sample_index, tmp_path, "RAG_ADAPTER_MODEL")
    assert out.returncode == 1
    assert out.stderr.strip().startswith("error: query adapter model") and len(out.stderr.strip().splitlines()) == 1


def test_switched_off_a_question_searches_with_its_own_vector(monkeypatch):
    rng = np.random.default_rng(2)
    v = _unit(rng, 1, 384)[0]
    monkeypatch.setenv("RAG_ADAPTER_MODEL", "off")
    assert np.array_equal(search_vector(DEFAULT_MODEL, "Who won the cup final?", v), v)
    monkeypatch.delenv("RAG_ADAPTER_MODEL")
    assert not np.array_equal(search_vector(DEFAULT_MODEL, "Who won the cup final?", v), v)
