"""The span scorer (rag/qa/span.py): its search for the best span, its offsets, its files."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.qa.span import (
    MAX_SPAN_TOKENS,
    MODEL_DIR,
    Read,
    SpanModelError,
    SpanScorer,
    best_spans,
    default_scorer,
    top_spans,
)

from .conftest import ask_with_env


@settings(max_examples=60, deadline=None)
@given(st.integers(3, 40), st.integers(0, 2**31 - 1))
def test_best_span_is_the_best_ordered_short_pair_of_context_tokens(n, seed):
    rng = np.random.default_rng(seed)
    start, end = rng.normal(size=n), rng.normal(size=n)
    context = rng.random(n) < 0.7
    context[0] = False  # [CLS]
    (s, e, score), null = best_spans(start, end, context)
    assert null == pytest.approx(start[0] + end[0])
    pairs = [
        start[i] + end[j] for i in range(n) for j in range(i, min(n, i + MAX_SPAN_TOKENS)) if context[i] and context[j]
    ]
    if not pairs:
        assert score == -np.inf
        return
    assert score == pytest.approx(max(pairs))
    assert context[s] and context[e] and 0 <= e - s < MAX_SPAN_TOKENS


def test_a_span_scores_its_first_tokens_start_and_last_tokens_end():
    offsets = np.array([[-1, -1], [0, 3], [4, 9], [9, 10], [11, 15], [-1, -1]])
    r = Read(np.arange(6.0), np.arange(6.0) * 10, offsets, 0.0)
    assert r.score(4, 10) == 2 + 30  # "words" "," -> tokens 2..3
    assert r.score(5, 8) == 2 + 20  # inside one token
    assert r.score(0, 15) == 1 + 40
    assert r.score(40, 45) is None  # cut off


def test_passages_read_together_come_back_in_their_order_as_read_alone():
    """The scorer reads the longest passages first on the cores it has; each read is
    still the passage's, as it reads alone."""
    question = "Who scored twice in the cup final?"
    passages = [
        "Short one.",
        "A much longer passage about the cup final, which Northbridge won 3-1.",
        "Mid length text.",
    ]
    scorer = default_scorer()
    together = scorer.read(question, passages)
    for p, read in zip(passages, together):
        (alone,) = scorer.read(question, [p])
        assert np.array_equal(read.offsets, alone.offsets) and np.allclose(read.start, alone.start)


def _name_scores(passage: str, *names: str) -> tuple[dict[str, float | None], float]:
    """The shipped scorer's score for each name's first mention in ``passage`` as the
    answer to "Who scored twice in the cup final?" (None: cut off), and its "no answer"."""
    (read,) = default_scorer().read("Who scored twice in the cup final?", [passage])
    return {n: read.score(passage.index(n), passage.index(n) + len(n)) for n in names}, read.null


def test_shipped_model_prefers_the_answer_to_a_place_and_to_no_answer():
    passage = (
        "The final was played in Tallinn on Sunday. Striker Maya Lindqvist scored twice as "
        "Northbridge won 3-1, their first cup in a decade."
    )
    scores, null = _name_scores(passage, "Maya Lindqvist", "Tallinn")
    best = scores["Maya Lindqvist"]
    assert best is not None and best > null
    assert best > (scores["Tallinn"] or -np.inf)


def test_shipped_model_reads_the_sentence_that_answers_not_the_lead_name():
    passage = (
        "Northbridge won the league cup in Tallinn on Sunday, beating Port Ellis 3-1. "
        "Striker Maya Lindqvist scored twice in the second half."
    )
    scores, null = _name_scores(passage, "Maya Lindqvist", "Northbridge", "Tallinn", "Port Ellis")
    assert all(value is not None for value in scores.values())
    answer = scores.pop("Maya Lindqvist")
    assert answer > max(scores.values())
    assert answer > null


def _copy(tmp_path):
    folder = tmp_path / "span"
    folder.mkdir()
    for name in ("span.json", "span.onnx"):
        shutil.copy(MODEL_DIR / name, folder / name)
    return folder


@pytest.mark.parametrize(
    "damage, says",
    [
        (lambda f: (f / "span.json").unlink(), "span.json is missing"),
        (lambda f: (f / "span.onnx").unlink(), "span.onnx is missing"),
        (lambda f: (f / "span.json").write_text("{half"), "span.json is damaged"),
        (lambda f: (f / "span.onnx").write_bytes((f / "span.onnx").read_bytes()[:-10]), "checksum differs"),
        (
            lambda f: (f / "span.json").write_text(
                json.dumps({**json.loads((f / "span.json").read_text()), "version": 99})
            ),
            "version 99",
        ),
    ],
)
def test_missing_or_damaged_span_model_is_refused_with_one_clear_line(tmp_path, damage, says):
    folder = _copy(tmp_path)
    damage(folder)
    with pytest.raises(SpanModelError) as err:
        SpanScorer(folder)
    assert says in str(err.value) and "\n" not in str(err.value)


def test_cli_with_a_damaged_span_model_prints_one_error_line(tmp_path, sample_index):
    folder = _copy(tmp_path)
    (folder / "span.onnx").write_bytes(b"not a model")
    out = ask_with_env(sample_index, {"RAG_SPAN_MODEL": str(folder)})
    assert out.returncode == 1
    assert out.stderr.strip().startswith("error: span model") and len(out.stderr.strip().splitlines()) == 1


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 60), st.integers(1, 6), st.integers(0, 2**31 - 1))
def test_top_spans_are_the_best_that_do_not_overlap(n, k, seed):
    rng = np.random.default_rng(seed)
    offsets = np.array([[-1, -1]] + [[4 * i, 4 * i + 3] for i in range(n - 1)])
    r = Read(rng.normal(size=n), rng.normal(size=n), offsets, 0.0)
    spans = top_spans(r, k)
    assert 1 <= len(spans) <= k
    assert [s for _, _, s in spans] == sorted((s for _, _, s in spans), reverse=True)
    for i, (a, b, _) in enumerate(spans):
        assert a < b and (b - a + 1) // 4 <= MAX_SPAN_TOKENS
        assert all(b <= c or d <= a for c, d, _ in spans[i + 1 :])
    first, _ = best_spans(r.start, r.end, offsets[:, 1] > 0)
    assert spans[0][2] == pytest.approx(first[2])


def test_proposed_spans_cover_whole_words_of_one_sentence():
    from rag.answer import _word_span

    text = "Striker Maya Lindqvist scored twice."
    assert text[slice(*_word_span(text, 8, 14))] == "Maya Lindqvist"  # "Maya L"
    assert text[slice(*_word_span(text, 14, 18))] == "Lindqvist"


@pytest.mark.parametrize(
    "sentence, question, answer",
    [
        ("Maya Lindqvist scored twice in the final on Sunday.", "Who scored twice in the final", "Maya Lindqvist"),
        ("Olivia Hart won the election on Thursday.", "What did Olivia Hart win", "election"),
        ("Kim Jong Un arrived in Beijing on Tuesday for talks.", "Where did Kim Jong Un arrive on Tuesday", "Beijing"),
        ("Kim Jong Un arrived in Beijing on Tuesday for talks.", "When did Kim Jong Un arrive in Beijing", "Tuesday"),
        ("About 30,000 people walked across the bridge on Saturday.", "How many people walked across", "About 30,000"),
    ],
)
def test_generated_training_questions_ask_for_an_entity_with_its_wh_word(sentence, question, answer):
    import importlib

    from rag.entities import _package
    from train.span import clause_questions

    doc = importlib.import_module(_package()).load()(sentence)
    made = {(q, sentence[s:e]) for q, s, e in filter(None, clause_questions(doc))}
    assert any(q.startswith(question) and a == answer for q, a in made), made
