"""Train the passage ranker (:mod:`rag.rank`) on the RealTimeQA training weeks.

    python -m train.ranker --data ../shared/realtimeqa-train [--index indexes/rtqa-train]

1. Use the training index of :mod:`train.reader` (built once) and its questions.
2. For each question, as of its quiz day, take the candidates retrieval ranks (the union
   of the dense and BM25 lists, :func:`rag.retrieve.candidates`, searched with the query
   adapter fitted on the other weeks: :mod:`train.adapter`) and label each chunk: it
   holds one of the quiz's answers.
3. Choose the regularisation of a logistic regression over :data:`rag.rank.RANK_FEATURES`
   by grouped cross-validation over weeks: the share of answerable questions whose first
   ``TARGET_K`` distinct passages hold the answer, against the hand-set blend.
4. Refit on every week and write ``rag/models/ranker.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np

from rag.adapter import QueryAdapter
from train.reader import FOLDS, SEED, _log, articles, build_index, folds_of, questions

TARGET_K = 5  # the passages a search shows first
READ_K = 8  # the passages an answer reads (rag.answer.AnswerConfig.read_passages)
C_GRID = (0.01, 0.1, 1.0)


def collect(index, qs: list[dict], adapters: dict[str, QueryAdapter] | None = None) -> list[dict]:
    """Each question's candidates: features, labels, the hand blend's scores and texts.
    A question searches with its week's held-out query adapter (``adapters``, see
    :func:`train.adapter.held_out`), as retrieval maps a new question."""
    from eval.common import contains_answer
    from rag.adapter import search_vector
    from rag.question import analyse
    from rag.rank import rank_features
    from rag.retrieve import DEFAULT_MODE, POOL, candidates, recency_boost

    corpus = index.corpus
    queries = [analyse(q["question"]).query for q in qs]
    vectors = index.embedder.encode_queries(queries)
    out = []
    start = time.perf_counter()
    for n, (q, query, plain) in enumerate(zip(qs, queries, vectors), 1):
        day = dt.date.fromisoformat(q["question_date"])
        adapter = adapters.get(q["question_date"]) if adapters else None
        vec = search_vector(index.embedder.name, query, plain, adapter) if adapter else plain
        passages, bm = candidates(corpus, query, vec, POOL, corpus.allowed_ids(None, day), DEFAULT_MODE)
        hand = np.array([p.score for p in passages]) + recency_boost(passages, query, day) if passages else np.zeros(0)
        out.append(
            {
                "id": q["id"],
                "week": q["question_date"],
                "passages": passages,
                "x": rank_features(query, passages, bm, day),
                "y": np.array([contains_answer(p.text, q["answers"]) for p in passages], dtype=np.float64),
                "hand": hand,
            }
        )
        if n % 500 == 0:
            _log(f"  {n}/{len(qs)} questions ({(time.perf_counter() - start) / n * 1000:.0f} ms each)")
    return out


def hits(row: dict, scores: np.ndarray, k: int) -> bool:
    """Whether the first ``k`` distinct passages by ``scores`` hold the answer."""
    from rag.retrieve import collapse_duplicates

    order = np.argsort(-scores, kind="stable")
    ranked = [row["passages"][i] for i in order]
    kept = {p.chunk_id for p in collapse_duplicates(ranked, k)}
    return any(row["y"][i] for i in order if row["passages"][i].chunk_id in kept)


def hit_rate(rows: list[dict], scores: list[np.ndarray], k: int) -> float:
    held = [(r, s) for r, s in zip(rows, scores) if r["y"].any()]
    return float(np.mean([hits(r, s, k) for r, s in held])) if held else 0.0


def fit(rows: list[dict], C: float):
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([r["x"] for r in rows if len(r["y"])])
    y = np.concatenate([r["y"] for r in rows if len(r["y"])])
    mean = x.mean(axis=0)
    scale = np.where(x.std(axis=0) > 1e-9, x.std(axis=0), 1.0)
    m = LogisticRegression(C=C, max_iter=3000, random_state=SEED).fit((x - mean) / scale, y)
    from rag.rank import Ranker

    return Ranker(mean=mean, scale=scale, weights=m.coef_[0].copy(), bias=float(m.intercept_[0]))


def out_of_fold(rows: list[dict], fold: np.ndarray, C: float) -> list[np.ndarray]:
    scores: list[np.ndarray] = [np.zeros(0) for _ in rows]
    for f in range(FOLDS):
        ranker = fit([rows[i] for i in np.flatnonzero(fold != f)], C)
        for i in np.flatnonzero(fold == f):
            scores[i] = ranker.scores(rows[i]["x"]) if len(rows[i]["y"]) else np.zeros(0)
    return scores


def train(index, qs: list[dict], out: Path | None = None, adapters: dict[str, QueryAdapter] | None = None) -> dict:
    """Collect, cross-validate, refit on every week and write the ranker; returns its report.
    ``adapters``: each week's held-out query adapter (default: fitted here, with the
    shipped adapter's penalty)."""
    from rag.rank import MODEL_FILE, RANK_FEATURES

    if adapters is None:
        adapters = held_out_adapters(index, qs)
    _log(f"ranker: collecting candidates for {len(qs)} questions")
    rows = collect(index, qs, adapters)
    fold = folds_of(rows)
    report: dict = {"questions": len(rows), "with_answer_in_candidates": sum(bool(r["y"].any()) for r in rows)}
    report["hand_blend"] = {
        f"hit@{k}": round(hit_rate(rows, [r["hand"] for r in rows], k), 4) for k in (1, TARGET_K, READ_K)
    }
    _log(f"  hand blend: {report['hand_blend']}")
    best = None
    for C in C_GRID:
        s = out_of_fold(rows, fold, C)
        report[f"logistic C={C}"] = {f"hit@{k}": round(hit_rate(rows, s, k), 4) for k in (1, TARGET_K, READ_K)}
        _log(f"  logistic C={C}: {report[f'logistic C={C}']}")
        if (
            best is None
            or report[f"logistic C={C}"][f"hit@{TARGET_K}"] > report[f"logistic C={best}"][f"hit@{TARGET_K}"]
        ):
            best = C
    report["chosen_C"] = best
    ranker = fit(rows, best)
    ranker = type(ranker)(
        ranker.mean,
        ranker.scale,
        ranker.weights,
        ranker.bias,
        info={"trained_on": "RealTimeQA training weeks from 2023-04", **report},
    )
    ranker.save(out or MODEL_FILE)
    _log(f"  wrote {out or MODEL_FILE}; weights:")
    for name, w in sorted(zip(RANK_FEATURES, ranker.weights), key=lambda t: -abs(t[1])):
        _log(f"    {name:18s} {w:+.3f}")
    return report


def held_out_adapters(index, qs: list[dict]) -> dict[str, QueryAdapter]:
    """Each week's query adapter fitted on the other weeks, with the penalty the shipped
    adapter was chosen with (:mod:`train.adapter`)."""
    from rag.adapter import default_adapter
    from train.adapter import held_out

    shipped = default_adapter()
    if shipped is None:
        raise SystemExit("the query adapter is switched off ($RAG_ADAPTER_MODEL=off); train it first")
    lam = float((shipped.info or {})["chosen_lam"])
    _log(f"query adapters for held-out weeks (lam {lam})")
    return held_out(index, qs, lam)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the RealTimeQA training folder")
    parser.add_argument("--index", type=Path, default=Path("indexes/rtqa-train"))
    parser.add_argument("--out", type=Path, default=None, help="write the model here instead of the package")
    args = parser.parse_args()
    arts, qs = articles(args.data), questions(args.data)
    train(build_index(args.index, arts), qs, args.out)


if __name__ == "__main__":
    sys.exit(main())
