"""Benchmarks: vector search, embedding backends, and asking end to end, each side by side.

    python -m eval.bench search [--sizes 10000 100000 1000000] [--index indexes/rtqa-2023q1]
                                [--gold ../shared/realtimeqa-2023q1/questions.jsonl] [--json]
    python -m eval.bench embed --index indexes/rtqa-2023q1 [--quality GOLD] [--json]
    python -m eval.bench ask --articles ../shared/seeds [--gold GOLD] [--json]
    python -m eval.bench shards --index indexes/rtqa-2023q1 --gold GOLD [--shards 2 4] [--json]
    python -m eval.bench cluster --index indexes/rtqa-2023q1 [--sample 4096] [--json]

``search``: for each size it builds every index type through :mod:`rag.vectors` (the code the
project runs) and reports build time, bytes per vector (the written file), open time
(as an index opens it: flat memory-mapped),
recall@10 against exact search, single-query latency p50/p95 on 1 and 2 OpenMP threads,
batch queries per second, and recall and single-query latency with a filter keeping
10% of the vectors (as a date range does). Ratios are against exact flat search and numpy brute force measured in
the same run, since this machine is shared and absolute figures drift.

Vectors: the real chunk embeddings of ``--index`` where there are enough, and beyond
that clustered synthetic ones (a real vector plus Gaussian noise, renormalised: about
cosine 0.85 to its real neighbour), so that neighbourhoods look like real text's.
Without ``--index`` all vectors are synthetic around random centres. Queries are the
embedded questions of ``--gold`` (loads the model) or else perturbed real vectors.

``embed``: chunks/s and tokens/s of each backend on the same sample of the index's
chunks, the backends taking turns, best of three rounds each (sentence-transformers'
default batch of 32 is the reference), and each one's cosine to the torch vectors. With ``--quality GOLD`` the whole index is embedded again
with int8 (in a temporary copy) and hit@1/5/10 compared with the index as it is.

``ask``: ingest rate of ``--articles`` into a fresh index, a cold ``rag ask`` (a new
process: imports, model load, one answer) and warm asks through the API.

``shards``: ``--index`` copied into sharded indexes of each ``--shards`` count
(:func:`rag.shards.reshard`: same chunks, ids and vectors, nothing embedded), then the
questions of ``--gold`` searched on each (as of their day, the indexes taking turns
question by question): p50/p99 latency and queries per second in-process, the p50 the
fan-out adds over one index, and the share of searches whose passages are identical to
one index's.

``cluster``: embedding the same chunks of ``--index`` in one plain process (every core)
and on a local Ray cluster started here (a head that runs no tasks, then one and two
worker nodes of one CPU each), as ``rag ingest --ray`` embeds: chunks/s, the replicas'
start-up (a hand-over of a few chunks), the rate without it, each replica's peak
memory, and the largest difference from the plain process's vectors (int8 weights
quantise each batch's activations by its own range, so they move with how the chunks
are batched; fp32 ones do not). Then ``--articles`` whole articles of the index, the
ingest's work on them: their chunks embedded and their names tagged, in the plain
process and on the replicas (articles/s).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import faiss
import numpy as np

from rag import vectors
from rag.store import Store
from rag.vectors import IndexType

from .common import load_answerable, load_gold, percentile, run_main

K = 10
NOISE = 0.6  # norm of the noise added to a real vector to make a synthetic one
FILTER_SHARE = 0.1


def real_vectors(index_dir: Path) -> np.ndarray:
    meta = Store(sqlite3.connect(index_dir / "rag.sqlite")).meta()
    index = vectors.read_index(index_dir / meta.faiss_file)
    _, vecs = vectors.contents(index)
    return vecs


def synthetic(base: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return near(base[rng.integers(0, len(base), n)], rng)


def near(vecs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each vector moved by noise and renormalised (cosine about 0.85 to where it was)."""
    x = vecs + rng.normal(0, NOISE / np.sqrt(vecs.shape[1]), vecs.shape).astype(np.float32)
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


def measure(
    name: str,
    x: np.ndarray,
    q: np.ndarray,
    truth: np.ndarray | None,
    mask: np.ndarray,
    filtered_truth: np.ndarray,
    tmp: Path,
) -> dict:
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
        index = vectors.read_index(tmp / "bench.faiss", mmap=True)  # as an index opens it
        row["open_s"] = round(time.perf_counter() - start, 3)
        row["type"] = vectors.index_type(index)
        search = lambda qq: index.search(qq, K)  # noqa: E731
        filtered = lambda qq: vectors.search(index, qq, K, mask)  # noqa: E731
        found = index.search(q, K)[1]
        found_filtered = np.stack([vectors.search(index, qq[None, :], K, mask)[1][0] for qq in q])
    if truth is not None:
        row["recall@10"] = round(float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth)])), 4)
    row["filtered_recall@10"] = round(
        float(np.mean([len(set(f) & set(t)) / K for f, t in zip(found_filtered, filtered_truth)])), 4
    )
    for threads in (1, 2):
        lat = single_latencies(search, q, threads)
        row[f"p50_ms_{threads}t"], row[f"p95_ms_{threads}t"] = (
            round(percentile(lat, 50), 3),
            round(percentile(lat, 95), 3),
        )
    faiss.omp_set_num_threads(2)
    start = time.perf_counter()
    search(q)
    row["batch_qps"] = round(len(q) / (time.perf_counter() - start), 1)
    row["filtered_p50_ms_1t"] = round(percentile(single_latencies(filtered, q, 1), 50), 3)
    return row


def significant(x: float, digits: int = 3) -> float:
    return float(f"{x:.{digits}g}")


def bench_size(
    n: int, real: np.ndarray | None, queries: np.ndarray, kinds: list[str], rng: np.random.Generator
) -> list[dict]:
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
    ("n", "n"),
    ("method", "method"),
    ("build_s", "build s"),
    ("bytes_per_vector", "B/vec"),
    ("open_s", "open s"),
    ("recall@10", "R@10"),
    ("p50_ms_1t", "p50 1t"),
    ("p95_ms_1t", "p95 1t"),
    ("p50_ms_2t", "p50 2t"),
    ("batch_qps", "batch q/s"),
    ("speedup_vs_flat_1t", "x flat"),
    ("speedup_vs_numpy_1t", "x numpy"),
    ("filtered_recall@10", "filt R@10"),
    ("filtered_vs_unfiltered", "filter x"),
]


def print_table(rows: list[dict], columns: list[tuple[str, str]]) -> None:
    print("  ".join(f"{title:>10}" for _, title in columns))
    for r in rows:
        print("  ".join(f"{r.get(key, ''):>10}" for key, _ in columns))


def run_search(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(args.seed)
    real = real_vectors(args.index) if args.index else None
    queries = query_vectors(args, real, rng)
    rows = []
    for n in args.sizes:
        kinds = [IndexType.IVF_SQ8.value] + ([IndexType.HNSW.value] if n <= args.hnsw_max else [])
        rows += bench_size(n, real, queries, kinds, rng)
        if not args.json:
            print_table([r for r in rows if r["n"] == n], COLUMNS)
            print(flush=True)
    if args.json:
        print(
            json.dumps(
                {"queries": len(queries), "real_vectors": 0 if real is None else len(real), "rows": rows}, indent=2
            )
        )


# -- embedding backends ----------------------------------------------------------------

EMBED_COLUMNS = [
    ("backend", "backend"),
    ("batch", "batch"),
    ("chunks_per_s", "chunks/s"),
    ("tokens_per_s", "tokens/s"),
    ("vs_torch", "x torch"),
    ("cosine_mean", "cos mean"),
    ("cosine_min", "cos min"),
    ("articles_per_s", "articles/s (embed+tag)"),
]


def sample_chunks(index_dir: Path, n: int) -> list[str]:
    conn = sqlite3.connect(index_dir / "rag.sqlite")
    total = conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
    step = max(1, total // n)
    rows = conn.execute(
        "SELECT substr(a.text, c.start + 1, c.end - c.start) FROM chunks c JOIN articles a ON a.id = c.doc_id WHERE c.id % ? = 0 LIMIT ?",
        (step, n),
    )
    return [r[0] for r in rows]


def sample_articles(index_dir: Path, n: int) -> tuple[list[str], list[str], list[int]]:
    """``n`` articles of the index spread over it: their texts, their chunks' texts (in
    article order) and how many chunks each has."""
    conn = sqlite3.connect(index_dir / "rag.sqlite")
    total = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
    step = max(1, total // max(1, n))
    ids = [r[0] for r in conn.execute("SELECT id FROM articles ORDER BY id").fetchall()[::step][:n]]
    articles, chunks, counts = [], [], []
    for doc_id in ids:
        text = conn.execute("SELECT text FROM articles WHERE id = ?", (doc_id,)).fetchone()[0]
        spans = conn.execute("SELECT start, end FROM chunks WHERE doc_id = ? ORDER BY id", (doc_id,)).fetchall()
        articles.append(text)
        chunks.extend(text[a:b] for a, b in spans)
        counts.append(len(spans))
    return articles, chunks, counts


def embed_rates(texts: list[str], model: str | None, rounds: int = 3) -> list[dict]:
    """Each backend times the same texts once per round, the backends taking turns, and
    keeps its best round: on a shared machine the noise is slowdowns, and taking turns
    spreads them over every backend alike."""
    from rag import embed as e

    torch_model = e.Embedder(model, backend=e.Backend.TORCH)
    tokens = sum(torch_model.count_tokens(texts))
    onnx = {b: e.Embedder(model, backend=b) for b in (e.Backend.ONNX, e.Backend.ONNX_INT8)}
    runs = {
        ("torch", 32): lambda: torch_model.model.encode(texts, batch_size=32, normalize_embeddings=True),
        ("torch", e.TORCH_BATCH): lambda: torch_model.model.encode(
            texts, batch_size=e.TORCH_BATCH, normalize_embeddings=True
        ),
        **{(b.value, e.onnx_backend.ONNX_BATCH): (lambda m=m: m.encode(texts)) for b, m in onnx.items()},
    }
    for run in runs.values():  # load, export and warm up outside the timing
        run()
    best: dict = {key: float("inf") for key in runs}
    vecs: dict = {}
    for _ in range(rounds):
        for key, run in runs.items():
            start = time.perf_counter()
            vecs[key] = run()
            best[key] = min(best[key], time.perf_counter() - start)
    reference_key = ("torch", 32)
    rows = []
    for (name, batch), seconds in best.items():
        cos = np.sum(vecs[(name, batch)] * vecs[reference_key], axis=1)
        rows.append(
            {
                "backend": name,
                "batch": batch,
                "chunks": len(texts),
                "best_of": rounds,
                "seconds": round(seconds, 2),
                "chunks_per_s": round(len(texts) / seconds, 1),
                "tokens_per_s": round(tokens / seconds),
                "vs_torch": significant(best[reference_key] / seconds),
                "cosine_mean": round(float(cos.mean()), 4),
                "cosine_min": round(float(cos.min()), 4),
            }
        )
    return rows


def retrieval_hits(index, rows: list[dict]) -> dict:
    from .tune_retrieval import measure

    vecs = index.embedder.encode_queries([r["question"] for r in rows])
    return dict(zip(("hit@1", "hit@5", "hit@10"), measure(index, rows, vecs)["all"]))


def int8_quality(index_dir: Path, gold: str) -> dict:
    """hit@k of the index as built and of a temporary copy re-embedded with int8."""
    from rag import Index
    from rag.embed import Backend

    rows = load_answerable(gold)
    with Index.open(index_dir) as index:
        built = retrieval_hits(index, rows)
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        copy = Path(tmp) / "index"
        shutil.copytree(index_dir, copy)
        with Index.open(copy, backend=Backend.ONNX_INT8) as index:
            start = time.perf_counter()
            n = index.reembed(progress=sys.stderr.isatty())
            seconds = time.perf_counter() - start
            int8 = retrieval_hits(index, rows)
    return {
        "questions": len(rows),
        "as_built": built,
        "onnx-int8": int8,
        "reembed_chunks": n,
        "reembed_s": round(seconds, 1),
        "reembed_chunks_per_s": round(n / seconds, 1),
    }


def run_embed(args: argparse.Namespace) -> None:
    rows = embed_rates(sample_chunks(args.index, args.sample), args.model, args.rounds)
    out: dict = {"rows": rows}
    if args.quality:
        out["quality"] = int8_quality(args.index, args.quality)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print_table(rows, EMBED_COLUMNS)
    if args.quality:
        print(json.dumps(out["quality"]))


# -- asking end to end -----------------------------------------------------------------


def run_ask(args: argparse.Namespace) -> None:
    from rag import Index
    from rag.load import load_paths

    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        path = Path(tmp) / "index"
        docs = load_paths(args.articles).documents
        with Index.open(path, create=True) as index:
            index.embedder.encode_queries(["warm up"])  # model load and export are not ingest
            start = time.perf_counter()
            report = index.add_documents(docs)
            seconds = time.perf_counter() - start
            tokens = sum(index.embedder.count_tokens([d.text for d in docs]))
        out["ingest"] = {
            "articles": report.added,
            "chunks": report.chunks,
            "seconds": round(seconds, 2),
            "articles_per_s": round(report.added / seconds, 2),
            "tokens_per_s": round(tokens / seconds),
        }
        question = args.question
        cold = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "rag.cli", "ask", question, "--index", str(path), "--json"],
                capture_output=True,
                text=True,
            )
            cold.append(time.perf_counter() - start)
            if done.returncode != 0:
                raise SystemExit(f"rag ask failed: {done.stderr.strip()}")
        out["cold_ask_s"] = {"median": round(statistics.median(cold), 3), "runs": [round(c, 3) for c in cold]}
        questions = [r["question"] for r in load_gold(args.gold)] if args.gold else [question] * 20
        with Index.open(path) as index:
            index.ask(questions[0])
            warm = []
            for q in questions:
                start = time.perf_counter()
                index.ask(q)
                warm.append((time.perf_counter() - start) * 1000)
        out["warm_ask_ms"] = {
            "n": len(warm),
            "p50": round(percentile(warm, 50), 1),
            "p95": round(percentile(warm, 95), 1),
        }
    print(json.dumps(out, indent=None if not args.json else 2))


SHARD_COLUMNS = [
    ("index", "index"),
    ("p50_ms", "p50 ms"),
    ("p99_ms", "p99 ms"),
    ("qps", "qps"),
    ("added_p50_ms", "+p50 ms"),
    ("identical", "identical"),
]


def run_shards(args: argparse.Namespace) -> None:
    import datetime as dt

    from rag import Index
    from rag.query import Query
    from rag.shards import reshard

    rows = load_answerable(args.gold)[: args.queries]
    with tempfile.TemporaryDirectory(prefix="rag-bench-shards-") as tmp, Index.open(args.index) as one:
        indexes: dict[str, object] = {"one index": one}
        copy_s = {}
        for n in args.shards:
            start = time.perf_counter()
            indexes[f"{n} shards"] = reshard(one, Path(tmp) / f"s{n}", n)
            copy_s[n] = round(time.perf_counter() - start, 1)
        cluster = _local_cluster(args.ray_workers) if args.ray_workers else None
        if cluster is not None:
            from rag.cluster import open_on_cluster

            for n in args.shards:
                indexes[f"{n} shards on ray"] = open_on_cluster(Path(tmp) / f"s{n}", cluster.address)
        queries = [Query(r["question"], k=5, as_of=dt.date.fromisoformat(r["question_date"])) for r in rows]
        for index in indexes.values():
            index.search(queries[0])  # type: ignore[attr-defined]  # model, files and caches loaded
        times: dict[str, list[float]] = {name: [] for name in indexes}
        same = {name: 0 for name in indexes}
        for q in queries:
            want = None
            for name, index in indexes.items():
                start = time.perf_counter()
                got = index.search(q)  # type: ignore[attr-defined]
                times[name].append((time.perf_counter() - start) * 1000)
                key = [(p.doc_id, p.start, p.end, round(p.score, 6)) for p in got]
                want = key if want is None else want
                same[name] += key == want
        base = percentile(times["one index"], 50)
        out = []
        for name, ts in times.items():
            out.append(
                {
                    "index": name,
                    "p50_ms": round(percentile(ts, 50), 2),
                    "p99_ms": round(percentile(ts, 99), 2),
                    "qps": round(1000 / statistics.mean(ts), 1),
                    "added_p50_ms": round(percentile(ts, 50) - base, 2),
                    "identical": round(same[name] / len(queries), 4),
                }
            )
        for index in indexes.values():
            index.close()  # type: ignore[attr-defined]
        if cluster is not None:
            _stop_cluster(cluster)
    info = {"queries": len(queries), "reshard_s": copy_s, "ray_workers": args.ray_workers}
    if args.json:
        print(json.dumps({**info, "rows": out}, indent=2))
    else:
        print(f"{len(queries)} questions searched on each; copying into shards took {copy_s} s")
        print_table(out, SHARD_COLUMNS)


CLUSTER_COLUMNS = [
    ("run", "run"),
    ("chunks_per_s", "chunks/s"),
    ("vs_plain", "x plain"),
    ("startup_s", "start s"),
    ("steady_chunks_per_s", "steady/s"),
    ("peak_rss_mb", "peak MB"),
    ("max_abs_diff", "max diff"),
    ("cosine_min", "cos min"),
    ("articles_per_s", "articles/s (embed+tag)"),
]


def _replica_peaks(peaks: dict[int, int], stop: threading.Event) -> None:
    """Peak resident memory (VmHWM, kB) of every Ray worker process, sampled until ``stop``."""
    while not stop.wait(0.5):
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                if not (proc / "cmdline").read_bytes().startswith(b"ray::"):
                    continue
                for line in (proc / "status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peaks[int(proc.name)] = max(peaks.get(int(proc.name), 0), int(line.split()[1]))
            except OSError:
                continue


def _local_cluster(workers: int, store: int = 200 * 2**20):
    """A Ray cluster on this machine, joined: a head that runs no tasks and ``workers``
    nodes of one CPU each, no dashboard."""
    from ray.cluster_utils import Cluster

    from rag.cluster import connect

    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 0, "object_store_memory": store, "include_dashboard": False}
    )
    for _ in range(workers):
        cluster.add_node(num_cpus=1, object_store_memory=store)
    cluster.wait_for_nodes()
    connect(cluster.address)
    return cluster


def _stop_cluster(cluster) -> None:
    import ray

    ray.shutdown()
    cluster.shutdown()


def run_cluster(args: argparse.Namespace) -> None:
    import resource

    import ray

    from rag import entities
    from rag.cluster import ClusterEmbedder
    from rag.embed import Backend, Embedder

    texts = sample_chunks(args.index, args.sample)
    articles, article_chunks, counts = sample_articles(args.index, args.articles)
    local = Embedder(backend=Backend(args.backend))
    local.encode(texts[:64])  # load (and export) outside the timing
    entities.tag(articles[:1])
    start = time.perf_counter()
    reference = local.encode(texts)
    plain = time.perf_counter() - start
    start = time.perf_counter()
    local.encode(article_chunks)
    entities.tag(articles)
    plain_articles = time.perf_counter() - start
    rows = [
        {
            "run": "plain process",
            "chunks_per_s": round(len(texts) / plain, 1),
            "vs_plain": 1.0,
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "articles_per_s": round(len(articles) / plain_articles, 2),
        }
    ]
    store = 200 * 2**20
    cluster = _local_cluster(0, store)
    try:
        ray.data.DataContext.get_current().enable_progress_bars = False
        for workers in args.workers:
            while len(cluster.list_all_nodes()) < workers + 1:
                cluster.add_node(num_cpus=1, object_store_memory=store)
            cluster.wait_for_nodes()
            encoder = ClusterEmbedder(local, workers)
            start = time.perf_counter()
            encoder.encode(texts[: 8 * workers])
            startup = time.perf_counter() - start
            peaks: dict[int, int] = {}
            stop = threading.Event()
            sampler = threading.Thread(target=_replica_peaks, args=(peaks, stop), daemon=True)
            sampler.start()
            start = time.perf_counter()
            vecs = encoder.encode(texts)
            seconds = time.perf_counter() - start
            start = time.perf_counter()
            encoder.encode_and_tag(article_chunks, articles, counts)
            article_seconds = time.perf_counter() - start
            stop.set()
            sampler.join()
            rows.append(
                {
                    "run": f"ray {workers} x 1 cpu",
                    "chunks_per_s": round(len(texts) / seconds, 1),
                    "vs_plain": significant(plain / seconds),
                    "startup_s": round(startup, 1),
                    "steady_chunks_per_s": round(len(texts) / max(seconds - startup, 1e-9), 1),
                    "peak_rss_mb": round(max(peaks.values(), default=0) / 1024),
                    "max_abs_diff": significant(float(np.abs(vecs - reference).max())),
                    "cosine_min": round(float(np.sum(vecs * reference, axis=1).min()), 4),
                    "articles_per_s": round(len(articles) / article_seconds, 2),
                }
            )
    finally:
        _stop_cluster(cluster)
    out = {
        "chunks": len(texts),
        "articles": len(articles),
        "backend": args.backend,
        "cores": os.cpu_count(),
        "rows": rows,
    }
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(
            f"{len(texts)} chunks and {len(articles)} articles of {args.index}, backend {args.backend}, {os.cpu_count()} cores"
        )
        print_table(rows, CLUSTER_COLUMNS)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m eval.bench", description=__doc__.splitlines()[0])
    parts = parser.add_subparsers(dest="part", required=True)
    search = parts.add_parser("search", help="vector index types at several sizes")
    search.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    search.add_argument("--index", type=Path, help="an index whose real vectors to use")
    search.add_argument("--gold", help="gold JSON Lines whose questions are the queries (loads the model)")
    search.add_argument("--model", help="embedding model for --gold (default: all-MiniLM-L6-v2)")
    search.add_argument("--queries", type=int, default=200)
    search.add_argument("--hnsw-max", type=int, default=100_000, help="largest size to build HNSW at (slow to build)")
    search.add_argument("--seed", type=int, default=0)
    search.add_argument("--json", action="store_true")
    embed = parts.add_parser("embed", help="embedding backends on the same chunks")
    embed.add_argument("--index", type=Path, required=True, help="an index whose chunks to embed")
    embed.add_argument("--sample", type=int, default=384, help="chunks to time each backend on")
    embed.add_argument("--rounds", type=int, default=3, help="turns each backend takes; its best counts")
    embed.add_argument(
        "--quality", metavar="GOLD", help="also re-embed the whole index with int8 and compare hit@k on this gold file"
    )
    embed.add_argument("--model")
    embed.add_argument("--json", action="store_true")
    ask = parts.add_parser("ask", help="ingest rate, cold and warm ask")
    ask.add_argument("--articles", nargs="+", required=True)
    ask.add_argument("--question", default="When did the Vellmar Harbour Bridge open?")
    ask.add_argument("--gold", help="gold file whose questions the warm asks use")
    ask.add_argument("--repeat", type=int, default=5, help="cold runs")
    ask.add_argument("--json", action="store_true")
    shards = parts.add_parser("shards", help="one index against sharded copies of it, in-process and on Ray")
    shards.add_argument("--index", type=Path, required=True, help="the index to copy into shards")
    shards.add_argument("--gold", required=True, help="gold file whose questions are searched")
    shards.add_argument("--shards", type=int, nargs="+", default=[2, 4])
    shards.add_argument("--queries", type=int, default=200)
    shards.add_argument(
        "--ray-workers",
        type=int,
        default=0,
        metavar="N",
        help="also read each sharded copy through shard actors on a local Ray cluster of N one-CPU workers",
    )
    shards.add_argument("--json", action="store_true")
    cluster = parts.add_parser("cluster", help="embedding in one process against a local Ray cluster")
    cluster.add_argument("--index", type=Path, required=True, help="an index whose chunks to embed")
    cluster.add_argument("--sample", type=int, default=4096)
    cluster.add_argument("--backend", default="onnx-int8", help="as rag ingest --backend")
    cluster.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    cluster.add_argument("--articles", type=int, default=100, help="whole articles to embed and tag")
    cluster.add_argument("--json", action="store_true")
    args = parser.parse_args()
    parts_run = {"search": run_search, "embed": run_embed, "ask": run_ask, "shards": run_shards, "cluster": run_cluster}
    parts_run[args.part](args)


if __name__ == "__main__":
    run_main(main)
