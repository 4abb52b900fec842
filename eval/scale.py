"""Asking at a million chunks: an archive built from a real index, and warm asks side by side.

    python -m eval.scale --index indexes/rtqa-2023q1 --gold ../shared/realtimeqa-2023q1/questions.jsonl
                         [--chunks 1000000] [--out indexes/rtqa-2023q1-scaled-1000000] [--asks 150] [--json]

Embedding a million chunks takes about a day on this machine, so the large index is
grown from a real one: the real articles stay as they are, and copies of them are added
as an archive of earlier years (copy k dated k years earlier, ids and sources marked
``#archive-k``), until there are ``--chunks`` chunks. A copy's text, chunk offsets and
entities are the original's, so the lexical index has real posting lists; its vectors
are the original's plus noise (cosine about 0.85, as ``eval.bench search`` makes its
synthetic ones), so the vector index has real neighbourhoods. The vector index type is
the one ``auto`` picks at that size. Built once into ``--out`` and reused.

Then the same gold questions are asked through the API of both indexes, taking turns,
each as of its ``question_date``, with the model loaded (warm): ask latency p50/p95,
hit@5 and answer accuracy on each, and the ratio. Opening time is reported too.

Last, ``--ingest N`` articles (copies of real ones under new ids) are added to the large
index and removed again, timed, beside a rebuild of its whole BM25 index in the same
run: what every commit cost before the lexical index had segments.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from rag import lexical, vectors
from rag.index import Index
from rag.store import DB_NAME, Store, connect
from rag.types import Document

from .bench import near
from .common import as_of, contains_answer, hits_at, load_answerable, passage_can_hold

ARCHIVE = "#archive-"


def build(src: Path, out: Path, chunks: int, seed: int = 1234) -> dict:
    """Grow a copy of ``src`` into ``out`` with archive copies up to ``chunks`` chunks."""
    began = time.perf_counter()
    tmp = out.with_name(out.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp, ignore=shutil.ignore_patterns("write.lock"))  # the log too: it may hold commits
    conn = sqlite3.connect(tmp / DB_NAME)
    meta = Store(conn).meta()
    real = vectors.read_index(tmp / meta.faiss_file)
    real_ids, real_vecs = vectors.contents(real)
    order = np.argsort(real_ids)
    real_ids, real_vecs = real_ids[order], real_vecs[order]
    n_real = len(real_ids)
    copies = -(-(chunks - n_real) // n_real)
    stride = int(real_ids.max()) + 1
    rng = np.random.default_rng(seed)
    all_ids, all_vecs = [real_ids], [real_vecs]
    with conn:
        for k in range(1, copies + 1):
            mark = f"{ARCHIVE}{k}"
            conn.execute(
                "INSERT INTO articles (id, source, title, date, content_hash, text, tagger) "
                "SELECT id || ?, source || ?, title, date(date, ?), content_hash, text, tagger FROM articles WHERE instr(id, ?) = 0",
                (mark, mark, f"-{k} years", ARCHIVE),
            )
            conn.execute(
                "INSERT INTO chunks (id, doc_id, start, end, date) SELECT id + ?, doc_id || ?, start, end, date(date, ?) FROM chunks WHERE id < ?",
                (k * stride, mark, f"-{k} years", stride),
            )
            conn.execute(
                "INSERT INTO entities (doc_id, start, end, label) SELECT doc_id || ?, start, end, label FROM entities WHERE instr(doc_id, ?) = 0",
                (mark, ARCHIVE),
            )
            all_ids.append(real_ids + k * stride)
            all_vecs.append(near(real_vecs, rng))  # a copy of a chunk stays near its original
    conn.close()
    ids, vecs = np.concatenate(all_ids), np.concatenate(all_vecs)
    kind = vectors.resolve(vectors.IndexType.AUTO, len(ids))
    t = time.perf_counter()
    index = vectors.build(kind, vecs, ids, vecs.shape[1])
    vector_seconds = time.perf_counter() - t
    del vecs, all_vecs
    conn = connect(tmp / DB_NAME, create=False)
    chunk_ids, texts = Store(conn).all_chunk_texts()
    conn.close()
    t = time.perf_counter()
    lex = lexical.build(chunk_ids, texts)
    lexical_seconds = time.perf_counter() - t
    del texts
    faiss_file, lexical_dir = "vectors-scaled.faiss", "lexical-scaled"
    vectors.write_index(index, tmp / faiss_file)
    lexical.write(lex, tmp / lexical_dir)
    conn = sqlite3.connect(tmp / DB_NAME)
    with conn:
        Store(conn).update_meta(faiss_file=faiss_file, lexical_dir=lexical_dir)
    conn.close()
    for old in (meta.faiss_file, meta.lexical_dir):
        if old:
            shutil.rmtree(tmp / old, ignore_errors=True) if (tmp / old).is_dir() else (tmp / old).unlink(
                missing_ok=True
            )
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return {
        "chunks": int(len(ids)),
        "real_chunks": n_real,
        "archive_copies": copies,
        "index_type": kind.value,
        "vector_build_s": round(vector_seconds, 1),
        "lexical_build_s": round(lexical_seconds, 1),
        "total_s": round(time.perf_counter() - began, 1),
    }


def measure(paths: dict[str, Path], rows: list[dict], asks: int) -> dict[str, dict]:
    """Warm asks through the API on each index, taking turns question by question. Each
    is opened as a read-only snapshot (as the server reads), sharing one loaded model."""
    opened: dict[str, Index] = {}
    open_s: dict[str, float] = {}
    embedder = None  # one model for both, as one process serving would have
    for name, path in paths.items():
        t = time.perf_counter()
        opened[name] = Index.snapshot(path, embedder=embedder)
        open_s[name] = time.perf_counter() - t
        embedder = opened[name].embedder
    rows = rows[:asks]
    latencies: dict[str, list[float]] = {n: [] for n in paths}
    hits: dict[str, list[bool]] = {n: [] for n in paths}
    correct: dict[str, list[bool]] = {n: [] for n in paths}
    first: dict[str, float] = {}
    try:
        for name, index in opened.items():  # the first ask loads the model and the lexical index, dates
            t = time.perf_counter()
            index.ask(rows[0]["question"], as_of=as_of(rows[0]))
            first[name] = time.perf_counter() - t
        for row in rows:
            for name, index in opened.items():
                t = time.perf_counter()
                answer = index.ask(row["question"], as_of=as_of(row))
                latencies[name].append(time.perf_counter() - t)
                correct[name].append(contains_answer(answer.display, row["answers"]))
                if passage_can_hold(row["answers"]):
                    hits[name].append(hits_at((p.text for p in answer.passages), row["answers"], (5,))["hit@5"])
    finally:
        for index in opened.values():
            index.close()
    out = {}
    for name, index_path in paths.items():
        ms = np.array(latencies[name]) * 1000
        with Index.open(index_path) as index:
            info = index.info()
        out[name] = {
            "chunks": info.chunks,
            "index_type": info.index_type,
            "open_s": round(open_s[name], 3),
            "first_ask_s": round(first[name], 2),
            "asks": len(rows),
            "ask_p50_ms": round(float(np.percentile(ms, 50)), 1),
            "ask_p95_ms": round(float(np.percentile(ms, 95)), 1),
            "hit@5": round(statistics.fmean(hits[name]), 3),
            "accuracy": round(statistics.fmean(correct[name]), 3),
        }
    return out


def ingest(path: Path, source: Path, n: int) -> dict:
    """Add ``n`` articles of ``source`` (under new ids) to the index at ``path``, remove
    them again, and rebuild its lexical index from every chunk, timing each."""
    with Index.open(source) as real:
        ids = [
            r[0]
            for r in real.store.conn.execute("SELECT id FROM articles WHERE date IS NOT NULL ORDER BY id LIMIT ?", (n,))
        ]
        docs = [real.store.article(i) for i in ids]
    mark = "#ingest-test"
    docs = [Document(d.id + mark, d.text, d.date, d.source + mark, d.title) for d in docs if d is not None]
    with Index.open(path) as index:
        left = [r[0] for r in index.store.conn.execute("SELECT id FROM articles WHERE id LIKE ?", (f"%{mark}",))]
        if left:  # from a run that was interrupted
            index.remove(left)
        t = time.perf_counter()
        added = index.add_documents(docs)
        add_s = time.perf_counter() - t
        lex = index.lexical()
        state = {"delta_rows": lex.delta.n, "tombstones": len(lex.dead)}
        t = time.perf_counter()
        index.remove([d.id for d in docs])
        remove_s = time.perf_counter() - t
        t = time.perf_counter()
        chunk_ids, texts = index.store.all_chunk_texts()
        lexical.build(chunk_ids, texts)
        rebuild_s = time.perf_counter() - t
    return {
        "articles": added.added,
        "chunks": added.chunks,
        "add_s": round(add_s, 1),
        "after_add": state,
        "remove_s": round(remove_s, 1),
        "lexical_rebuild_s": round(rebuild_s, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, default=Path("indexes/rtqa-2023q1"))
    ap.add_argument("--gold", type=Path, required=True)
    ap.add_argument("--chunks", type=int, default=1_000_000)
    ap.add_argument(
        "--out", type=Path, help="where the large index is built (default: indexes/<index>-scaled-<chunks>)"
    )
    ap.add_argument("--asks", type=int, default=150, help="questions asked of each index")
    ap.add_argument(
        "--ingest", type=int, default=20, help="articles added to and removed from the large index, timed (0: skip)"
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not (args.index / DB_NAME).exists():
        print(f"error: {args.index}: no index (build it with eval.qa)", file=sys.stderr)
        return 1
    out = args.out or args.index.with_name(f"{args.index.name}-scaled-{args.chunks}")
    built = None
    if not (out / DB_NAME).exists():
        print(f"building {out} ...", file=sys.stderr, flush=True)
        built = build(args.index, out, args.chunks)
    report = {
        "built": built,
        "indexes": measure({"real": args.index, "scaled": out}, load_answerable(args.gold), args.asks),
    }
    real, scaled = report["indexes"]["real"], report["indexes"]["scaled"]
    report["p50_ratio_scaled_vs_real"] = round(scaled["ask_p50_ms"] / real["ask_p50_ms"], 2)
    if args.ingest:
        report["ingest"] = ingest(out, args.index, args.ingest)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    if built:
        print(f"built: {built}")
    print(
        f"{'index':>7} {'chunks':>9} {'open s':>7} {'1st ask s':>9} {'p50 ms':>7} {'p95 ms':>7} {'hit@5':>6} {'acc':>6}  type"
    )
    for name, r in report["indexes"].items():
        print(
            f"{name:>7} {r['chunks']:>9} {r['open_s']:>7.3f} {r['first_ask_s']:>9.2f} {r['ask_p50_ms']:>7.1f} {r['ask_p95_ms']:>7.1f} {r['hit@5']:>6.3f} {r['accuracy']:>6.3f}  {r['index_type']}"
        )
    print(f"ask p50, scaled / real: {report['p50_ratio_scaled_vs_real']}x")
    if "ingest" in report:
        i = report["ingest"]
        print(
            f"ingest {i['articles']} articles ({i['chunks']} chunks) into {scaled['chunks']}: {i['add_s']} s; removing them: {i['remove_s']} s; "
            f"rebuilding BM25 from every chunk (each commit, before segments): {i['lexical_rebuild_s']} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
