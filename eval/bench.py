"""Vector search benchmark: each index type against exact flat search and numpy, one run.

    python -m eval.bench [--sizes 10000 100000 1000000] [--index indexes/rtqa-2023q1]
                         [--gold ../shared/realtimeqa-2023q1/questions.jsonl] [--json]

For each size it builds every index type through :mod:`rag.vectors` (the code the
project runs) and reports build time, bytes per vector (the written file), open time,
recall@10 against exact search, single-query latency p50/p95 on 1 and 2 OpenMP threads,
batch queries per second, and recall and single-query latency with a filter keeping
10% of the vectors (as a date range does). Ratios are against exact flat search and numpy brute force measured in
the same run, since this machine is shared and absolute figures drift.

Vectors: the real chunk embeddings of ``--index`` where there are enough, and beyond
that clustered synthetic ones (a real vector plus Gaussian noise, renormalised: about
cosine 0.85 to its real neighbour), so that neighbourhoods look like real text's.
Without ``--index`` all vectors are synthetic around random centres. Queries are the
embedded questions of ``--gold`` (loads the model) or else perturbed real vectors.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from rag import vectors
from rag.vectors import IndexType

from .common import load_gold, percentile, run_main

K = 10
NOISE = 0.6  # norm of the noise added to a real vector to make a synthetic one
FILTER_SHARE = 0.1


def real_vectors(index_dir: Path) -> np.ndarray:
    meta = dict(sqlite3.connect(index_dir / "rag.sqlite").execute("SELECT key, value FROM meta"))
    index = vectors.read_index(index_dir / meta["faiss_file"])
    _, vecs = vectors.contents(index)
    return vecs


def synthetic(base: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    picked = base[rng.integers(0, len(base), n)]
    x = picked + rng.normal(0, NOISE / np.sqrt(base.shape[1]), picked.shape).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def corpus(real: np.ndarray | None, n: int, rng: np.random.Generator, dim: int = 384) -> np.ndarray:
    if real is None:
        real = synthetic(rng.normal(size=(2000, dim)).astype(np.float32), 2000, rng)
    if n <= len(real):
        return real[np.sort(rng.choice(len(real), n, replace=False))]
    return np.concatenate([real, synthetic(real, n - len(real), rng)])


def single_latencies(search, queries: np.ndarray, threads: int) -> list[float]:
    faiss.omp_set_num_threads(threads)
    out = []
    for q in queries:
        start = time.perf_counter()
        search(q[None, :])
        out.append((time.perf_counter() - start) * 1000)
    return out


def numpy_search(x: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    scores = q @ x.T
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return np.take_along_axis(top, np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1), axis=1)


def measure(name: str, x: np.ndarray, q: np.ndarray, truth: np.ndarray | None, mask: np.ndarray, filtered_truth: np.ndarray, tmp: Path) -> dict:
    ids = np.arange(len(x), dtype=np.int64)
    row: dict = {"method": name}
    if name == "numpy":
        start = time.perf_counter()
        row["build_s"] = 0.0
        row["bytes_per_vector"] = x.shape[1] * 4
        row["open_s"] = 0.0
        search = lambda qq: numpy_search(x, qq, K)  # noqa: E731
        filtered = lambda qq: numpy_search(x[mask], qq, K)  # noqa: E731  (a boolean take: what a filter costs numpy)
        found = numpy_search(x, q, K)
        found_filtered = np.flatnonzero(mask)[numpy_search(x[mask], q, K)]
    else:
        faiss.omp_set_num_threads(2)
        start = time.perf_counter()
        index = vectors.build(IndexType(name), x, ids, x.shape[1])
        row["build_s"] = round(time.perf_counter() - start, 2)
        vectors.write_index(index, tmp / "bench.faiss")
        row["bytes_per_vector"] = round((tmp / "bench.faiss").stat().st_size / len(x), 1)
        start = time.perf_counter()
        index = vectors.read_index(tmp / "bench.faiss")
        row["open_s"] = round(time.perf_counter() - start, 3)
        row["type"] = vectors.index_type(index)
        search = lambda qq: index.search(qq, K)  # noqa: E731
        filtered = lambda qq: vectors.search(index, qq, K, mask)  # noqa: E731
        found = index.search(q, K)[1]
        found_filtered = np.stack([vectors.search(index, qq[None, :], K, mask)[1][0] for qq in q])
    if truth is not None:
        row["recall@10"] = round(float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth)])), 4)
    row["filtered_recall@10"] = round(float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found_filtered, filtered_truth)])), 4)
    for threads in (1, 2):
        lat = single_latencies(search, q, threads)
        row[f"p50_ms_{threads}t"], row[f"p95_ms_{threads}t"] = round(percentile(lat, 50), 3), round(percentile(lat, 95), 3)
    faiss.omp_set_num_threads(2)
    start = time.perf_counter()
    search(q)
    row["batch_qps"] = round(len(q) / (time.perf_counter() - start), 1)
    row["filtered_p50_ms_1t"] = round(percentile(single_latencies(filtered, q, 1), 50), 3)
    return row


def significant(x: float, digits: int = 3) -> float:
    return float(f"{x:.{digits}g}")


def bench_size(n: int, real: np.ndarray | None, queries: np.ndarray, kinds: list[str], rng: np.random.Generator) -> list[dict]:
    x = corpus(real, n, rng, queries.shape[1])
    mask = rng.random(n) < FILTER_SHARE
    rows = []
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        truth = numpy_search(x, queries, K)
        filtered_truth = np.flatnonzero(mask)[numpy_search(x[mask], queries, K)]
        for name in ["flat", "numpy", *kinds]:
            rows.append(measure(name, x, queries, truth, mask, filtered_truth, Path(tmp)))
        flat = rows[0]
    for r in rows:
        r["n"] = n
        r["speedup_vs_flat_1t"] = significant(flat["p50_ms_1t"] / r["p50_ms_1t"])
        r["speedup_vs_numpy_1t"] = significant(rows[1]["p50_ms_1t"] / r["p50_ms_1t"])
        r["filtered_vs_unfiltered"] = significant(r["filtered_p50_ms_1t"] / r["p50_ms_1t"])
    return rows


def query_vectors(args: argparse.Namespace, real: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    if args.gold:
        from rag.embed import Embedder

        questions = [row["question"] for row in load_gold(args.gold)][: args.queries]
        return Embedder(args.model).encode_queries(questions)
    base = real if real is not None else synthetic(rng.normal(size=(2000, 384)).astype(np.float32), 2000, rng)
    return synthetic(base, args.queries, rng)


COLUMNS = [
    ("n", "n"), ("method", "method"), ("build_s", "build s"), ("bytes_per_vector", "B/vec"), ("open_s", "open s"),
    ("recall@10", "R@10"), ("p50_ms_1t", "p50 1t"), ("p95_ms_1t", "p95 1t"), ("p50_ms_2t", "p50 2t"),
    ("batch_qps", "batch q/s"), ("speedup_vs_flat_1t", "x flat"), ("speedup_vs_numpy_1t", "x numpy"),
    ("filtered_recall@10", "filt R@10"), ("filtered_vs_unfiltered", "filter x"),
]


def print_table(rows: list[dict]) -> None:
    print("  ".join(f"{title:>10}" for _, title in COLUMNS))
    for r in rows:
        print("  ".join(f"{r.get(key, ''):>10}" for key, _ in COLUMNS))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--index", type=Path, help="an index whose real vectors to use")
    parser.add_argument("--gold", help="gold JSON Lines whose questions are the queries (loads the model)")
    parser.add_argument("--model", help="embedding model for --gold (default: all-MiniLM-L6-v2)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--hnsw-max", type=int, default=100_000, help="largest size to build HNSW at (slow to build)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    real = real_vectors(args.index) if args.index else None
    queries = query_vectors(args, real, rng)
    rows = []
    for n in args.sizes:
        kinds = [IndexType.IVF_SQ8.value] + ([IndexType.HNSW.value] if n <= args.hnsw_max else [])
        rows += bench_size(n, real, queries, kinds, rng)
        if not args.json:
            print_table([r for r in rows if r["n"] == n])
            print(flush=True)
    if args.json:
        print(json.dumps({"queries": len(queries), "real_vectors": 0 if real is None else len(real), "rows": rows}, indent=2))


if __name__ == "__main__":
    run_main(main)
