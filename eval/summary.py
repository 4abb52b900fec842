"""Query-focused summaries against gold nuggets.

    python -m eval.summary --gold ../shared/gold/seeds-summary-dev.jsonl --articles ../shared/seeds [--index DIR] [--json]

nugget_recall: share of a query's nuggets (each a list of alternative strings) found in
its summary, averaged over queries. repeats: pairs of summary sentences that say the
same thing (content-word Jaccard >= 0.6, or one inside the other). cited_doc_precision:
share of cited articles that the gold names. A QA gold file works too: each question is
a query and its answers one nugget.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics

from rag.retrieve import Mode
from rag.text import content_stems

from .common import add_index_args, as_of, built_index, load_answerable, run_main

REPEAT_JACCARD = 0.6


def is_repeat(a: str, b: str) -> bool:
    sa, sb = set(content_stems(a)), set(content_stems(b))
    if not sa or not sb:
        return False
    return len(sa & sb) / len(sa | sb) >= REPEAT_JACCARD or sa <= sb or sb <= sa


def score_row(index, row: dict, mode: Mode) -> dict:
    query = row.get("query") or row["question"]
    nuggets = row.get("nuggets") or [row["answers"]]
    summary = index.summarize(query, row.get("max_sentences", 5), mode=mode, as_of=as_of(row))
    text = " ".join(s.text for s in summary.sentences).lower()
    covered = [any(alt.lower() in text for alt in nugget) for nugget in nuggets]
    repeats = sum(is_repeat(a.text, b.text) for a, b in itertools.combinations(summary.sentences, 2))
    cited = {s.doc_id for s in summary.sentences}
    out = {
        "id": row.get("id"),
        "query": query,
        "sentences": [s.to_json() for s in summary.sentences],
        "nugget_recall": sum(covered) / len(covered),
        "missed": [n[0] for n, c in zip(nuggets, covered) if not c],
        "repeats": repeats,
    }
    if row.get("doc_ids"):
        out["cited_doc_precision"] = len(cited & set(row["doc_ids"])) / len(cited) if cited else 0.0
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m eval.summary", description=__doc__.split("\n\n")[0])
    add_index_args(parser)
    args = parser.parse_args()
    gold = load_answerable(args.gold)
    with built_index(args) as (index, ingest):
        rows = [score_row(index, g, Mode(args.mode)) for g in gold]
    precisions = [r["cited_doc_precision"] for r in rows if "cited_doc_precision" in r]
    report = {
        "n": len(rows),
        "nugget_recall": round(statistics.fmean(r["nugget_recall"] for r in rows), 4),
        "repeats": sum(r["repeats"] for r in rows),
        "cited_doc_precision": round(statistics.fmean(precisions), 4) if precisions else None,
        "ingest": ingest,
        "rows": rows,
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for r in rows:
        print(f"{r['id']}: {r['query']}  (nuggets {r['nugget_recall']:.2f}, repeats {r['repeats']})")
        for s in r["sentences"]:
            print(f"   - {s['text']} [{s['doc_id']}, {s['date']}]")
        if r["missed"]:
            print(f"   missed: {', '.join(r['missed'])}")
    print()
    for key in ("n", "nugget_recall", "repeats", "cited_doc_precision", "ingest"):
        print(f"{key:>20}: {report[key]}")


if __name__ == "__main__":
    run_main(main)
