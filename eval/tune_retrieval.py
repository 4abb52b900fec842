"""Measure retrieval settings on two halves of a gold file: tune on one, check on the other.

    python -m eval.tune_retrieval --gold ../shared/realtimeqa-2023q1/questions.jsonl --index indexes/rtqa-2023q1

Rows are split into halves A and B by a hash of their id. For the learned ranker
(rag/rank.py, trained on other weeks), and for each mode, blend weight and recency
strength of the hand-set blend, prints hit@1/5/10 on A, on B and on all rows
(a top-k passage contains a gold answer; each row's ``question_date`` is its "as of").
The blend's defaults in rag/retrieve.py were chosen on half A. The passages scored are the
ranked chunks, before ``rag search`` widens them into windows (rag/windows.py): what the
settings rank.
"""

from __future__ import annotations

import contextlib
import json
import statistics
from unittest import mock

from rag import Index
from rag import retrieve as r

from .common import HIT_DEPTHS, as_of, half, hits_at, passage_can_hold, run_main, tuning_run


def measure(index: Index, rows: list[dict], vectors, **settings) -> dict:
    hits: dict[int, list[list[bool]]] = {0: [], 1: []}
    mode = settings.pop("mode", r.DEFAULT_MODE)
    alpha = settings.pop("alpha", r.HYBRID_ALPHA)
    ranking = settings.pop("ranking", r.Ranking.BLEND)
    with mock.patch.multiple(r, **settings) if settings else contextlib.nullcontext():
        for row, vec in zip(rows, vectors):
            if not passage_can_hold(row["answers"]):
                continue
            ranked = r.retrieve(
                index.corpus, row["question"], vec, 10, mode=mode, as_of=as_of(row), alpha=alpha, ranking=ranking
            )
            hits[half(row)].append(list(hits_at((p.text for p in ranked), row["answers"]).values()))

    def rates(rs: list[list[bool]]) -> list[float]:
        return [round(statistics.fmean(x[i] for x in rs), 3) for i in range(len(HIT_DEPTHS))] if rs else []

    return {"A": rates(hits[0]), "B": rates(hits[1]), "all": rates(hits[0] + hits[1])}


def main() -> None:
    with tuning_run("python -m eval.tune_retrieval", __doc__.split("\n\n")[0]) as (index, rows, vectors):
        runs = [("hybrid, learned ranker (shipped)", {"mode": r.Mode.HYBRID, "ranking": r.Ranking.LEARNED})]
        runs += [("dense", {"mode": r.Mode.DENSE}), ("lexical", {"mode": r.Mode.LEXICAL})]
        runs += [(f"hybrid alpha={a}", {"mode": r.Mode.HYBRID, "alpha": a}) for a in (0.3, 0.5, 0.6, 0.7)]
        runs += [("no recency", {"RECENCY_CUED": 0.0, "RECENCY_PLAIN": 0.0})]
        runs += [
            (f"recency cued={c} plain={p}", {"RECENCY_CUED": c, "RECENCY_PLAIN": p})
            for c, p in ((0.2, 0.0), (0.2, 0.1), (0.2, 0.2), (0.3, 0.3))
        ]
        for name, settings in runs:
            print(json.dumps({"setting": name, "hit@1/5/10": measure(index, rows, vectors, **settings)}), flush=True)


if __name__ == "__main__":
    run_main(main)
