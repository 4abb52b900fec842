"""The evaluation scripts on a small gold file of the same format as ../shared/gold."""

import json
import subprocess
import sys

from eval.common import contains_answer, exact_match, f1, hits_at, normalize, passage_can_hold

from .conftest import FIXTURES, ROOT, SAMPLES


def test_gold_rule_lowercases_and_drops_punctuation():
    assert normalize("Monday (2025-09-01)!") == "monday 20250901"
    assert contains_answer("Monday (2025-09-01)", ["2025-09"])
    assert contains_answer("Foreign Minister Choe Son Hui", ["choe son hui"])
    assert not contains_answer(None, ["x"]) and not contains_answer("2019", ["January 2019"])


def test_only_a_true_or_false_gold_is_one_no_passage_can_hold():
    assert not passage_can_hold(["TRUE"]) and not passage_can_hold(["True.", "false"])
    assert passage_can_hold(["True Detective"]) and passage_can_hold(["TRUE", "Monday"])


def test_hit_at_k_counts_from_the_first_passage_holding_the_answer():
    ranked = ["Nothing here.", "Still nothing.", "", "x", "y", "The mayor, Ana Ruiz, spoke.", "Ana Ruiz again."]
    assert hits_at(ranked, ["ana ruiz"]) == {"hit@1": False, "hit@5": False, "hit@10": True}
    assert hits_at(ranked[5:], ["Ana Ruiz"], (1,)) == {"hit@1": True}
    assert hits_at([], ["Ana Ruiz"]) == {"hit@1": False, "hit@5": False, "hit@10": False}


def test_squad_exact_match_and_f1():
    assert exact_match("the special train", ["special train"]) == 1.0
    assert f1("a special train", ["train"]) == 2 * 0.5 * 1 / 1.5
    assert f1(None, ["x"]) == 0.0


def run(module: str, gold: str, index) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            module,
            "--gold",
            str(FIXTURES / gold),
            "--articles",
            str(SAMPLES),
            "--index",
            str(index),
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_qa_eval_reports_accuracy_retrieval_and_rows(sample_index):
    report = run("eval.qa", "samples-qa.jsonl", sample_index)
    assert report["n"] == 4 and len(report["rows"]) == 4
    assert report["correct"] == 4 and report["accuracy"] == 1.0
    assert report["doc_recall@5"] == 1.0 and 0 < report["mrr"] <= 1
    assert report["hit@5"] == 1.0  # the row without doc_ids is scored by hit@k
    # a true-or-false claim's gold 'True' is no passage's words: its row has no hit@k
    assert report["hit_rows"] == 3 and "hit@5" not in report["rows"][3]
    assert report["ingest"]["skipped"] == 5  # the existing index was reused


def test_summary_eval_reports_nuggets_repeats_and_citations(sample_index):
    report = run("eval.summary", "samples-summary.jsonl", sample_index)
    assert report["n"] == 1 and report["repeats"] == 0
    assert report["nugget_recall"] == 1.0 and report["cited_doc_precision"] == 1.0


def test_tune_retrieval_reports_both_halves(sample_index):
    from eval.common import load_gold
    from eval.tune_retrieval import measure
    from rag import Index
    from rag.retrieve import Mode

    rows = load_gold(FIXTURES / "samples-qa.jsonl")
    with Index.open(sample_index) as index:
        vectors = index.embedder.encode([r["question"] for r in rows])
        result = measure(index, rows, vectors, mode=Mode.HYBRID, RECENCY_PLAIN=0.0)
    assert result["all"][1] == 1.0 and len(result["A"]) + len(result["B"]) in (3, 6)


def test_tune_answer_scores_each_half_and_a_setting_can_change_it(sample_index):
    from eval.common import load_gold
    from eval.tune_answer import measure
    from rag import Index
    from rag.answer import AnswerConfig
    from rag.retrieve import retrieve

    rows = load_gold(FIXTURES / "samples-qa.jsonl")
    with Index.open(sample_index) as index:
        vectors = index.embedder.encode([r["question"] for r in rows])
        retrieved = [(v, retrieve(index.corpus, r["question"], v, 8)) for r, v in zip(rows, vectors)]
        best = measure(rows, retrieved, index.embedder.encode, AnswerConfig(), read=8)
        blind = measure(rows, retrieved, index.embedder.encode, AnswerConfig(), read=0)
    assert best["all"] >= 0.5 and set(best) == {"A", "B", "all"}
    assert blind["all"] == 0.0


def test_search_bench_compares_every_type_with_exact_search(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "eval.bench", "search", "--sizes", "3000", "--queries", "20", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    rows = {r["method"]: r for r in json.loads(out.stdout)["rows"]}
    assert set(rows) == {"flat", "numpy", "ivf-sq8", "hnsw"}
    assert rows["flat"]["recall@10"] == rows["numpy"]["recall@10"] == 1.0
    assert (
        0.5 < rows["ivf-sq8"]["recall@10"] <= 1.0
        and rows["ivf-sq8"]["bytes_per_vector"] < rows["flat"]["bytes_per_vector"] / 3
    )
    assert all(r["p50_ms_1t"] > 0 and r["speedup_vs_flat_1t"] > 0 for r in rows.values())


def test_ask_bench_reports_ingest_rate_cold_and_warm_asks():
    out = subprocess.run(
        [sys.executable, "-m", "eval.bench", "ask", "--articles", str(SAMPLES), "--repeat", "1", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["ingest"]["articles"] == 5 and data["ingest"]["tokens_per_s"] > 0
    assert data["cold_ask_s"]["median"] > 0 and data["warm_ask_ms"]["n"] == 20 and data["warm_ask_ms"]["p50"] > 0


def test_the_load_test_reports_every_phase_without_errors(built_index):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "eval.load",
            "--index",
            str(built_index),
            "--gold",
            str(FIXTURES / "samples-qa.jsonl"),
            "--articles",
            str(SAMPLES / "wire.jsonl"),
            "--concurrency",
            "1",
            "3",
            "--requests",
            "6",
            "--time-limit",
            "60",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    phases = json.loads(out.stdout)["phases"]
    assert [(p["concurrency"], p["ingest"]) for p in phases] == [(1, False), (1, True), (3, False), (3, True)]
    assert all(p["requests"] == 6 and p["errors"] == 0 and p["p99_ms"] >= p["p50_ms"] > 0 for p in phases)
    assert all(p["ingest_requests"] >= 1 and p["ingest_errors"] == 0 for p in phases if p["ingest"])


def test_the_scale_bench_grows_an_archive_that_opens_and_answers(built_index, tmp_path):
    out_dir = tmp_path / "scaled"
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "eval.scale",
            "--index",
            str(built_index),
            "--gold",
            str(FIXTURES / "samples-qa.jsonl"),
            "--chunks",
            "40",
            "--out",
            str(out_dir),
            "--ingest",
            "2",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    data = json.loads(out.stdout)
    real, scaled = data["indexes"]["real"], data["indexes"]["scaled"]
    copies = data["built"]["archive_copies"]
    assert scaled["chunks"] == real["chunks"] * (copies + 1) >= 40
    assert real["asks"] == scaled["asks"] == 4 and real["accuracy"] == 1.0
    assert scaled["ask_p50_ms"] > 0 and data["p50_ratio_scaled_vs_real"] > 0
    ingest = data["ingest"]
    assert ingest["articles"] == 2 and ingest["chunks"] > 0 and ingest["add_s"] > 0 and ingest["lexical_rebuild_s"] >= 0
    from rag import Index

    with Index.open(out_dir) as index:
        info = index.info()
        assert info.vectors == info.chunks == scaled["chunks"]  # the articles ingested were removed again
        assert index.lexical().live == info.chunks
        original = index.store.article("vellmar-bridge-opens")
        archived = index.store.article(f"vellmar-bridge-opens#archive-{copies}")
        assert archived.text == original.text and archived.date.year == original.date.year - copies


def test_exact_match_ignores_typographic_quotes_as_squad_ignores_ascii_ones():
    assert exact_match("Spare", ["“Spare”"]) == 1.0 and exact_match("Spare", ['"Spare"']) == 1.0
    assert (
        exact_match("Spare", ["Spared"]) == 0.0
        and f1("Everything Everywhere", ["‘Everything Everywhere All at Once’"]) > 0.5
    )
