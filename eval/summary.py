"""Query-focused summaries against gold nuggets, side by side with the usual summarisers.

    python -m eval.summary --gold ../shared/gold/seeds-summary-dev.jsonl --articles ../shared/seeds [--index DIR] [--json] [--no-peers]
    python -m eval.summary --gold ../shared/realtimeqa-2023q1/summaries.jsonl --articles ../shared/realtimeqa-2023q1/articles.jsonl --index indexes/rtqa-2023q1

Every system summarises the same retrieved passages in the same number of sentences
(:mod:`eval.summarizers`: lead-k, LexRank, TextRank, MMR). For each:

- nugget_recall: share of a query's nuggets (each a list of alternative strings) found
  in its summary, averaged over queries;
- repeats: pairs of summary sentences that say the same thing (content-word Jaccard
  >= 0.6, or one inside the other);
- context: sentences that open by pointing back at one the summary does not show
  ("He said", "Before that"; :func:`rag.discourse.needs_context`) unless the sentence
  before it in the summary is the one before it in its article;
- boilerplate: page furniture (:func:`rag.discourse.is_boilerplate`);
- date_order: adjacent sentences whose articles go back in time;
- cited: distinct articles cited per summary; words: words per summary;
- cited_doc_precision: share of cited articles that the gold names.

A QA gold file works too: each question is a query and its answers one nugget.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import statistics
import time

from rag.discourse import is_boilerplate, needs_context
from rag.query import Mode, Query
from rag.sentences import split
from rag.summarize import summary_passages
from rag.text import content_stems

from .common import add_index_args, as_of, built_index, load_answerable, percentile, run_main, states_nugget
from .summarizers import PEERS, Picked, peer_summaries

REPEAT_JACCARD = 0.6
SYSTEM = "rag"


def is_repeat(a: str, b: str) -> bool:
    sa, sb = set(content_stems(a)), set(content_stems(b))
    if not sa or not sb:
        return False
    return len(sa & sb) / len(sa | sb) >= REPEAT_JACCARD or sa <= sb or sb <= sa


def _follows(prev: Picked, cur: Picked, texts: dict[str, str]) -> bool:
    """Whether ``cur`` comes right after ``prev`` in their (same) article."""
    if prev.doc_id != cur.doc_id or prev.doc_id not in texts:
        return False
    sents = split(texts[prev.doc_id])
    return any(a == prev.text and b == cur.text for a, b in zip(sents, sents[1:]))


def diagnose(picked: list[Picked], nuggets: list[list[str]], gold_docs: list[str], texts: dict[str, str]) -> dict:
    """The figures of one summary (see the module's docstring)."""
    text = " ".join(p.text for p in picked).lower()
    covered = [states_nugget(text, nugget) for nugget in nuggets]
    context = sum(needs_context(p.text) and not (i and _follows(picked[i - 1], p, texts)) for i, p in enumerate(picked))
    days = [p.date or dt.date.min for p in picked]
    cited = {p.doc_id for p in picked}
    out = {
        "nugget_recall": sum(covered) / len(covered) if covered else 0.0,
        "missed": [n[0] for n, c in zip(nuggets, covered) if not c],
        "repeats": sum(is_repeat(a.text, b.text) for a, b in itertools.combinations(picked, 2)),
        "context": context,
        "boilerplate": sum(is_boilerplate(p.text) for p in picked),
        "date_order": sum(b < a for a, b in zip(days, days[1:])),
        "cited": len(cited),
        "words": sum(len(p.text.split()) for p in picked),
    }
    if gold_docs:
        out["cited_doc_precision"] = len(cited & set(gold_docs)) / len(cited) if cited else 0.0
    return out


def score_row(index, row: dict, mode: Mode, peers: bool) -> dict:
    query = row.get("query") or row["question"]
    nuggets = row.get("nuggets") or [row["answers"]]
    n = row.get("max_sentences", 5)
    day = as_of(row)
    t0 = time.perf_counter()
    summary = index.summarize(query, n, mode=mode, as_of=day)
    latency = (time.perf_counter() - t0) * 1000
    ours = [Picked(s.text, s.doc_id, s.date) for s in summary.sentences]
    systems = {SYSTEM: ours}
    if peers:
        passages = summary_passages(
            index.corpus, Query(query, n, mode=mode, as_of=day), index.embedder.encode_queries([query])[0]
        )
        systems.update(peer_summaries(index.corpus, query, passages, n))
    texts = index.corpus.texts(sorted({p.doc_id for picked in systems.values() for p in picked}))
    return {
        "id": row.get("id"),
        "query": query,
        "sentences": [s.to_json() for s in summary.sentences],
        "latency_ms": round(latency, 1),
        **{name: diagnose(picked, nuggets, row.get("doc_ids") or [], texts) for name, picked in systems.items()},
        "peers": {name: [p.text for p in picked] for name, picked in systems.items() if name != SYSTEM},
    }


def aggregate(rows: list[dict], name: str) -> dict:
    rs = [r[name] for r in rows]
    precisions = [r["cited_doc_precision"] for r in rs if "cited_doc_precision" in r]
    return {
        "nugget_recall": round(statistics.fmean(r["nugget_recall"] for r in rs), 4),
        "repeats": sum(r["repeats"] for r in rs),
        "context": sum(r["context"] for r in rs),
        "boilerplate": sum(r["boilerplate"] for r in rs),
        "date_order": sum(r["date_order"] for r in rs),
        "cited": round(statistics.fmean(r["cited"] for r in rs), 2),
        "words": round(statistics.fmean(r["words"] for r in rs), 1),
        "cited_doc_precision": round(statistics.fmean(precisions), 4) if precisions else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m eval.summary", description=__doc__.split("\n\n")[0])
    add_index_args(parser)
    parser.add_argument(
        "--no-peers", action="store_true", help="rag's summaries only, without lead-k, LexRank, TextRank and MMR"
    )
    args = parser.parse_args()
    gold = load_answerable(args.gold)
    with built_index(args) as (index, ingest):
        rows = [score_row(index, g, Mode(args.mode), not args.no_peers) for g in gold]
    names = [SYSTEM] + ([] if args.no_peers else list(PEERS))
    systems = {name: aggregate(rows, name) for name in names}
    latencies = [r["latency_ms"] for r in rows]
    report = {
        "n": len(rows),
        **systems[SYSTEM],
        "latency_ms_p50": round(percentile(latencies, 50), 1),
        "latency_ms_p95": round(percentile(latencies, 95), 1),
        "systems": systems,
        "ingest": ingest,
        "rows": rows,
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for r in rows:
        print(f"{r['id']}: {r['query']}  (nuggets {r[SYSTEM]['nugget_recall']:.2f}, repeats {r[SYSTEM]['repeats']})")
        for s in r["sentences"]:
            print(f"   - {s['text']} [{s['doc_id']}, {s['date']}]")
        if r[SYSTEM]["missed"]:
            print(f"   missed: {', '.join(r[SYSTEM]['missed'])}")
    print()
    cols = ("nugget_recall", "repeats", "context", "boilerplate", "date_order", "cited", "words", "cited_doc_precision")
    print(f"{'system':>10} " + " ".join(f"{c:>14}" for c in cols))
    for name, figs in systems.items():
        print(f"{name:>10} " + " ".join(f"{'' if figs[c] is None else figs[c]:>14}" for c in cols))
    print()
    for key in ("n", "latency_ms_p50", "latency_ms_p95", "ingest"):
        print(f"{key:>20}: {report[key]}")


if __name__ == "__main__":
    run_main(main)
