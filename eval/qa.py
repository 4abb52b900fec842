"""Question answering against gold answers.

    python -m eval.qa --gold ../shared/gold/seeds-dev.jsonl --articles ../shared/seeds [--index DIR] [--json]

An answer is correct when, lower-cased and without punctuation, it contains a gold
answer (the answer scored is what a user reads: the span with its ISO date). Rows
with ``doc_ids`` score retrieval as doc recall@1/@5 and MRR over the distinct articles
of the ranked passages; rows without them score hit@k (a top-k passage contains a gold
answer); hit@k is reported for every row whose gold a passage can hold as its own words
(not a true-or-false claim's "True": :func:`eval.common.passage_can_hold`). Rows marked ``answerable: false`` are
asked too and scored apart: the share answered "no answer". With ``--baseline-cache
DIR`` the naive pipeline of :mod:`eval.baseline` answers the same questions in the same
run, and the report adds its figures and our gain over it in points; with ``--rules``
the hand-weighed answer selection that the reader replaced answers them too; with
``--published DIR`` the predictions of other systems on the same questions (one
``{"id", "prediction"}`` file per system) are scored by the same rule.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from rag.answer import AnswerConfig, Selection, answer
from rag.query import Mode, Query

from .common import (
    HIT_DEPTHS,
    add_index_args,
    as_of,
    built_index,
    contains_answer,
    exact_match,
    f1,
    half,
    hits_at,
    load_gold,
    passage_can_hold,
    percentile,
    run_main,
)

RANK_DEPTH = 10


def score_unanswerable(index, row: dict, mode: Mode, selection: Selection = Selection.LEARNED) -> dict:
    """A question no article answers: right when the answer is "no answer"."""
    got = answer(index.corpus, Query(row["question"], mode=mode, as_of=as_of(row)), AnswerConfig(selection=selection))
    return {
        "id": row.get("id"),
        "question": row["question"],
        "answer": got.display,
        "no_answer": got.text is None,
        "confidence": round(got.confidence, 3),
    }


def score_rules(index, row: dict, mode: Mode) -> dict:
    """The hand-weighed selection's answer to an answerable row."""
    got = answer(
        index.corpus, Query(row["question"], mode=mode, as_of=as_of(row)), AnswerConfig(selection=Selection.RULES)
    )
    return {
        "id": row.get("id"),
        "half": "AB"[half(row)],
        "answer": got.display,
        "correct": contains_answer(got.display, row["answers"]),
        "exact_match": exact_match(got.text, row["answers"]),
    }


def score_row(index, row: dict, mode: Mode) -> dict:
    day = as_of(row)
    start = time.perf_counter()
    answer = index.ask(row["question"], mode=mode, as_of=day)
    latency = time.perf_counter() - start
    ranked = index.search(row["question"], k=RANK_DEPTH, mode=mode, as_of=day)
    shown = answer.display
    out = {
        "id": row.get("id"),
        "half": "AB"[half(row)],
        "question": row["question"],
        "answer": shown,
        "gold": row["answers"],
        "correct": contains_answer(shown, row["answers"]),
        "exact_match": exact_match(answer.text, row["answers"]),
        "f1": f1(shown, row["answers"]),
        "confidence": round(answer.confidence, 3),
        "latency_ms": round(latency * 1000, 1),
    }
    if row.get("doc_ids"):
        docs = list(dict.fromkeys(p.doc_id for p in ranked))
        gold = set(row["doc_ids"])
        out["doc_recall@1"] = len(gold & set(docs[:1])) / len(gold)
        out["doc_recall@5"] = len(gold & set(docs[:5])) / len(gold)
        out["rr"] = next((1 / (i + 1) for i, d in enumerate(docs) if d in gold), 0.0)
    if passage_can_hold(row["answers"]):
        out.update(hits_at((p.text for p in ranked), row["answers"]))
    return out


def score_baseline_row(naive, row: dict) -> dict:
    start = time.perf_counter()
    answer, hits = naive.answer(row["question"])
    latency = time.perf_counter() - start
    out = {
        "id": row.get("id"),
        "half": "AB"[half(row)],
        "answer": answer,
        "correct": contains_answer(answer, row["answers"]),
        "latency_ms": round(latency * 1000, 1),
    }
    if passage_can_hold(row["answers"]):
        out.update(hits_at((h.text for h in hits), row["answers"]))
    return out


def rates(rows: list[dict]) -> dict[str, float | None]:
    """Accuracy and hit@k of ``rows``."""
    if not rows:
        return {}
    scored = [r for r in rows if "hit@1" in r]
    return {
        "accuracy": round(statistics.fmean(r["correct"] for r in rows), 4),
        **{
            f"hit@{k}": round(statistics.fmean(r[f"hit@{k}"] for r in scored), 4) if scored else None
            for k in HIT_DEPTHS
        },
    }


def by_half(rows: list[dict]) -> dict[str, dict]:
    """The figures on halves A and B separately: rules tuned on A must hold on B."""
    return {h: {"n": sum(r["half"] == h for r in rows), **rates([r for r in rows if r["half"] == h])} for h in "AB"}


def compare(ours: list[dict], naive: list[dict]) -> dict:
    """The baseline's figures on the same questions and our gain over them, in points."""
    base = {**rates(naive), "latency_ms_p50": round(percentile([r["latency_ms"] for r in naive], 50), 1)}
    mine = rates(ours)
    gain = {k: round(100 * (mine[k] - base[k]), 1) for k in mine}
    halves = {
        h: {
            k: round(100 * (v - rates([r for r in naive if r["half"] == h])[k]), 1)
            for k, v in rates([r for r in ours if r["half"] == h]).items()
        }
        for h in "AB"
    }
    return {"baseline": base, "baseline_halves": by_half(naive), "gain_points": gain, "gain_points_halves": halves}


def no_answer_share(rows: list[dict]) -> dict:
    return {"n": len(rows), "no_answer": round(statistics.fmean(r["no_answer"] for r in rows), 4) if rows else None}


def calibration_error(rows: list[dict], bins: int = 10) -> float | None:
    """Expected calibration error of the answers given: |confidence - accuracy| per bin of
    confidence, weighted by the bin's share."""
    given = [(r["confidence"], float(r["correct"])) for r in rows if r["answer"] is not None]
    if not given:
        return None
    total = 0.0
    for b in range(bins):
        inside = [(c, y) for c, y in given if min(int(c * bins), bins - 1) == b]
        if inside:
            total += (
                abs(statistics.fmean(c for c, _ in inside) - statistics.fmean(y for _, y in inside))
                * len(inside)
                / len(given)
            )
    return round(total, 4)


def published(folder: Path, gold: list[dict]) -> dict[str, dict]:
    """Each published system's accuracy and exact match on the answerable ``gold`` rows
    (a missing prediction counts as wrong)."""
    out = {}
    for path in sorted(folder.glob("*.jsonl")):
        preds = {r["id"]: r.get("prediction") for r in load_gold(path)}
        out[path.stem] = {
            "accuracy": round(statistics.fmean(contains_answer(preds.get(g["id"]), g["answers"]) for g in gold), 4),
            "exact_match": round(statistics.fmean(exact_match(preds.get(g["id"]), g["answers"]) for g in gold), 4),
            "halves": {
                h: round(
                    statistics.fmean(
                        contains_answer(preds.get(g["id"]), g["answers"]) for g in gold if "AB"[half(g)] == h
                    ),
                    4,
                )
                for h in "AB"
            },
        }
    return out


def summarise(rows: list[dict], skipped: int, ingest: dict, mode: str) -> dict:
    def mean(key: str) -> float | None:
        values = [float(r[key]) for r in rows if key in r]
        return round(statistics.fmean(values), 4) if values else None

    latencies = [r["latency_ms"] for r in rows]
    report = {
        "n": len(rows),
        "skipped_unanswerable": skipped,
        "correct": sum(r["correct"] for r in rows),
        "accuracy": mean("correct"),
        "exact_match": mean("exact_match"),
        "f1": mean("f1"),
        "doc_recall@1": mean("doc_recall@1"),
        "doc_recall@5": mean("doc_recall@5"),
        "mrr": mean("rr"),
        **{f"hit@{k}": mean(f"hit@{k}") for k in HIT_DEPTHS},
        "hit_rows": sum("hit@1" in r for r in rows),
        "answered": sum(r["answer"] is not None for r in rows),
        "calibration_error": calibration_error(rows),
        "mode": mode,
        "latency_ms_p50": round(percentile(latencies, 50), 1),
        "latency_ms_p95": round(percentile(latencies, 95), 1),
        "halves": by_half(rows),
        "ingest": ingest,
        "rows": rows,
    }
    return report


def print_table(report: dict) -> None:
    for r in report["rows"]:
        mark = "ok " if r["correct"] else "NO "
        print(f"{mark} {r['id']}: {r['question']}\n      -> {r['answer']!s}   gold: {' | '.join(r['gold'][:3])}")
    print()
    for key, value in report.items():
        if isinstance(value, dict):
            value = {k: v for k, v in value.items() if k != "rows"}
        if key not in ("rows",) and value is not None:
            print(f"{key:>22}: {value}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m eval.qa", description=__doc__.split("\n\n")[0])
    add_index_args(parser)
    parser.add_argument(
        "--baseline-cache", help="also score the naive baseline (vectors cached in this folder), side by side"
    )
    parser.add_argument(
        "--rules", action="store_true", help="also score the hand-weighed answer selection, side by side"
    )
    parser.add_argument(
        "--published", help="folder of other systems' predictions ({id, prediction} per line) to score side by side"
    )
    args = parser.parse_args()
    gold = load_gold(args.gold)
    usable = [g for g in gold if g.get("answerable", True)]
    unusable = [g for g in gold if not g.get("answerable", True)]
    mode = Mode(args.mode)
    with built_index(args) as (index, ingest):
        rows = [score_row(index, g, mode) for g in usable]
        unanswerable = [score_unanswerable(index, g, mode) for g in unusable]
        rules = [score_rules(index, g, mode) for g in usable] if args.rules else []
        rules_unanswerable = (
            [score_unanswerable(index, g, mode, Selection.RULES) for g in unusable] if args.rules else []
        )
    report = summarise(rows, len(unusable), ingest, args.mode)
    report["unanswerable"] = {**no_answer_share(unanswerable), "rows": unanswerable}
    if args.rules:
        report["rules"] = {
            "accuracy": round(statistics.fmean(r["correct"] for r in rules), 4),
            "exact_match": round(statistics.fmean(r["exact_match"] for r in rules), 4),
            "halves": {h: round(statistics.fmean(r["correct"] for r in rules if r["half"] == h), 4) for h in "AB"},
            "unanswerable": no_answer_share(rules_unanswerable),
            "rows": rules,
        }
    if args.published:
        report["published"] = published(Path(args.published), usable)
    if args.baseline_cache:
        from .baseline import NaiveIndex

        naive = NaiveIndex.build(args.articles, Path(args.baseline_cache), args.model)
        report.update(compare(rows, [score_baseline_row(naive, g) for g in usable]))
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print_table(report)


if __name__ == "__main__":
    run_main(main)
