"""Train the query adapter (:mod:`rag.adapter`) on the RealTimeQA training weeks.

    python -m train.adapter --data ../shared/realtimeqa-train [--index indexes/rtqa-train]

1. Use the training index of :mod:`train.reader` (built once) and its questions that ask
   (:func:`rag.adapter.asks`), each embedded as retrieval embeds it.
2. For each question, as of its quiz day: its positives are the chunks that hold the
   quiz's answer (the ``MAX_POSITIVES`` closest to it), its negatives the ``NEGATIVES``
   chunks closest to it by the plain vectors, all published by that day.
3. Learn ``delta`` by a softmax over each question's candidates (temperature ``TAU``,
   the positives' share of it maximised, as in contrastive retrieval training) with an
   L2 penalty ``lam * |delta|^2`` that keeps the map near the identity.
4. Choose ``lam`` by grouped cross-validation over weeks: the share of questions whose
   first ``TARGET_K`` chunks by the mapped vector, searched over every chunk published by
   their day, hold the answer.
5. Refit on every week and write ``rag/models/adapter.json``.

The ranker learns from retrieval's candidates, so it must see the adapter as it does
on questions it was not fitted on: :func:`held_out` gives each week the map fitted on
the other weeks (:mod:`train.ranker` uses it; ``train.reader --pool-search held-out``
too).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.adapter import MODEL_ENV, MODEL_FILE, OFF, QueryAdapter, asks
from train.reader import FOLDS, SEED, _log, articles, build_index, folds_of, questions

LAMBDAS = (0.3, 0.1, 0.03)  # the penalty's grid, strongest first: a tie keeps the map nearer the identity
TAU = 0.05  # softmax temperature over cosines (contrastive retrieval's usual .05)
NEGATIVES = 256  # closest chunks per question, as the first stage would see them
MAX_POSITIVES = 32
EPOCHS = 60
BATCH = 64
LEARNING_RATE = 2e-3
TARGET_K = 5  # the passages a search shows first
REPORT_K = (1, 5, 20, 64)


@dataclass
class Data:
    """What the adapter learns from: chunk vectors and days, the questions' vectors, days,
    weeks and positive chunk rows (rows of ``chunks``)."""

    chunks: np.ndarray  # (n, d) float32, unit length
    chunk_days: np.ndarray  # ISO dates, '9999' for undated (never allowed)
    queries: np.ndarray  # (m, d)
    days: np.ndarray  # each question's ISO day
    weeks: list[str]
    positives: list[np.ndarray]


def gather(index, qs: list[dict]) -> Data:
    """Every chunk's vector and day, and each question's vector and positive chunks."""
    from eval.common import normalize
    from rag.question import analyse
    from rag.vectors import contents

    corpus = index.corpus
    ids, vecs = contents(corpus.vectors)
    rows = corpus.store.chunks([int(i) for i in ids])
    days = np.array([rows[int(i)].date.isoformat() if rows[int(i)].date else "9999" for i in ids])
    texts = [normalize(rows[int(i)].text) for i in ids]
    asked = [q for q in qs if asks(analyse(q["question"]).query)]
    queries = index.embedder.encode_queries([analyse(q["question"]).query for q in asked])
    positives = []
    for q, v in zip(asked, queries):
        golds = [g for g in (normalize(a) for a in q["answers"]) if g]
        held = np.array(
            [i for i in np.flatnonzero(days <= q["question_date"]) if any(g in texts[i] for g in golds)], dtype=np.int64
        )
        positives.append(held[np.argsort(-(vecs[held] @ v))][:MAX_POSITIVES] if len(held) else held)
    return Data(
        vecs.astype(np.float32),
        days,
        queries,
        np.array([q["question_date"] for q in asked]),
        [q["question_date"] for q in asked],
        positives,
    )


def candidate_sets(data: Data) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """Each question's candidate chunk rows and which are positive (None: no positive)."""
    out: list[tuple[np.ndarray, np.ndarray] | None] = []
    for v, day, pos in zip(data.queries, data.days, data.positives):
        if not len(pos):
            out.append(None)
            continue
        s = np.where(data.chunk_days <= day, data.chunks @ v, -9.0)
        near = np.argpartition(-s, NEGATIVES)[:NEGATIVES]
        rows = np.unique(np.concatenate([near, pos]))
        out.append((rows, np.isin(rows, pos)))
    return out


def fit(data: Data, sets: list, which: np.ndarray, lam: float) -> np.ndarray:
    """``delta`` learned on the questions ``which`` (indices into ``sets``)."""
    import torch

    torch.manual_seed(SEED)
    items = [i for i in which if sets[i] is not None]
    width = max(len(sets[i][0]) for i in items)
    cand = np.zeros((len(items), width), dtype=np.int64)
    label = np.zeros((len(items), width), dtype=bool)
    valid = np.zeros((len(items), width), dtype=bool)
    for r, i in enumerate(items):
        rows, pos = sets[i]
        cand[r, : len(rows)], label[r, : len(rows)], valid[r, : len(rows)] = rows, pos, True
    chunks = torch.from_numpy(data.chunks)
    queries = torch.from_numpy(data.queries[items])
    cand_t, label_t, valid_t = torch.from_numpy(cand), torch.from_numpy(label), torch.from_numpy(valid)
    d = data.chunks.shape[1]
    delta = torch.zeros(d, d, requires_grad=True)
    opt = torch.optim.Adam([delta], lr=LEARNING_RATE)
    rng = np.random.default_rng(SEED)
    for _ in range(EPOCHS):
        order = rng.permutation(len(items))
        for b in range(0, len(order), BATCH):
            take = torch.from_numpy(order[b : b + BATCH])
            q = queries[take]
            q = q + q @ delta
            q = q / q.norm(dim=1, keepdim=True)
            s = torch.einsum("bcd,bd->bc", chunks[cand_t[take]], q) / TAU
            s = s.masked_fill(~valid_t[take], -1e9)
            pos = s.masked_fill(~label_t[take], -1e9)
            loss = (torch.logsumexp(s, 1) - torch.logsumexp(pos, 1)).mean() + lam * (delta**2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return delta.detach().numpy()


def mapped(queries: np.ndarray, delta: np.ndarray) -> np.ndarray:
    return QueryAdapter(delta.astype(np.float32), "").apply(queries)


def hit_rates(data: Data, queries: np.ndarray) -> dict[str, float]:
    """Share of questions with a positive whose first k chunks (every chunk published by
    their day, searched exactly) hold the answer."""
    found = {k: [] for k in REPORT_K}
    for v, day, pos in zip(queries, data.days, data.positives):
        if not len(pos):
            continue
        s = np.where(data.chunk_days <= day, data.chunks @ v, -9.0)
        top = np.argpartition(-s, max(REPORT_K))[: max(REPORT_K)]
        top = top[np.argsort(-s[top])]
        for k in REPORT_K:
            found[k].append(bool(np.isin(top[:k], pos).any()))
    return {f"hit@{k}": round(float(np.mean(v)), 4) for k, v in found.items()}


def folds(data: Data) -> np.ndarray:
    """A fold per question, whole weeks to a fold, as the ranker and the reader deal them."""
    return folds_of([{"week": w} for w in data.weeks])


def out_of_fold(data: Data, sets: list, lam: float) -> tuple[np.ndarray, list[np.ndarray]]:
    """Each question's vector mapped by the delta fitted on the other folds' weeks, and
    those deltas."""
    fold = folds(data)
    out = data.queries.copy()
    deltas = []
    for f in range(FOLDS):
        delta = fit(data, sets, np.flatnonzero(fold != f), lam)
        out[fold == f] = mapped(data.queries[fold == f], delta)
        deltas.append(delta)
    return out, deltas


def held_out(index, qs: list[dict], lam: float) -> dict[str, QueryAdapter]:
    """For each week of ``qs``, the adapter fitted (with ``lam``) on the other folds'
    weeks: what the ranker learns from sees the map as on new questions."""
    data = gather(index, qs)
    _, deltas = out_of_fold(data, candidate_sets(data), lam)
    by_fold = [QueryAdapter(delta.astype(np.float32), index.embedder.name) for delta in deltas]
    return {w: by_fold[f] for w, f in zip(data.weeks, folds(data))}


@contextlib.contextmanager
def searching_with(adapters: dict[str, QueryAdapter] | None) -> Iterator[Callable[[str], None]]:
    """A function that makes retrieval in this process search with the adapter of a
    week (through ``$RAG_ADAPTER_MODEL``, files in a temporary folder), for code that
    retrieves the way answering does; with None, every question searches with its plain
    vector. The variable is restored afterwards."""
    before = os.environ.get(MODEL_ENV)
    with tempfile.TemporaryDirectory() as folder:
        files: dict[int, Path] = {}
        for a in (adapters or {}).values():
            if id(a) not in files:
                files[id(a)] = Path(folder) / f"adapter-{len(files)}.json"
                a.save(files[id(a)])

        def use(week: str) -> None:
            os.environ[MODEL_ENV] = str(files[id(adapters[week])]) if adapters else OFF

        try:
            yield use
        finally:
            if before is None:
                os.environ.pop(MODEL_ENV, None)
            else:
                os.environ[MODEL_ENV] = before


def train(index, qs: list[dict], out: Path | None = None) -> dict:
    """Cross-validate ``lam``, refit on every week and write the adapter; returns its report."""
    t0 = time.perf_counter()
    data = gather(index, qs)
    sets = candidate_sets(data)
    report: dict = {
        "questions": len(data.queries),
        "with_answer_in_index": sum(s is not None for s in sets),
        "plain": hit_rates(data, data.queries),
    }
    _log(
        f"adapter: {report['questions']} questions, gathered in {time.perf_counter() - t0:.0f} s; plain {report['plain']}"
    )
    best = None
    for lam in LAMBDAS:
        held, _ = out_of_fold(data, sets, lam)
        report[f"lam={lam}"] = hit_rates(data, held)
        _log(f"  lam {lam}: {report[f'lam={lam}']} (held-out weeks)")
        if best is None or report[f"lam={lam}"][f"hit@{TARGET_K}"] > report[f"lam={best}"][f"hit@{TARGET_K}"]:
            best = lam
    report["chosen_lam"] = best
    assert best is not None
    delta = fit(data, sets, np.arange(len(sets)), best)
    info = {
        "trained": dt.date.today().isoformat(),
        "data": f"RealTimeQA training weeks: {len(data.queries)} questions asked from 2023-04",
        "tau": TAU,
        "negatives": NEGATIVES,
        "epochs": EPOCHS,
        "seed": SEED,
        **report,
    }
    adapter = QueryAdapter(delta.astype(np.float32), index.embedder.name, info)
    adapter.save(out or MODEL_FILE)
    _log(f"  wrote {out or MODEL_FILE} ({time.perf_counter() - t0:.0f} s)")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m train.adapter", description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="the RealTimeQA training folder")
    parser.add_argument("--index", type=Path, default=Path("indexes/rtqa-train"))
    parser.add_argument("--out", type=Path, default=None, help="write the model here instead of the package")
    args = parser.parse_args()
    arts, qs = articles(args.data), questions(args.data)
    with build_index(args.index, arts) as index:
        print(json.dumps(train(index, qs, args.out), indent=1))


if __name__ == "__main__":
    sys.exit(main())
