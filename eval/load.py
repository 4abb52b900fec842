"""A bounded load test of `rag serve` on loopback.

    python -m eval.load --index indexes/rtqa-2023q1 --gold ../shared/realtimeqa-2023q1/questions.jsonl
                        --articles ../shared/realtimeqa-2023q1/articles.jsonl
                        [--concurrency 1 4 16] [--requests 200] [--time-limit 120] [--workers N] [--json]

The server runs on a temporary copy of ``--index`` (the ingest must not change the
real one). For each concurrency, a fixed number of ``POST /ask`` requests (the gold
questions in turn, each asked as of its ``question_date``) is sent by that many client
threads, first alone and then while a writer keeps posting articles of ``--articles``
under new ids, 20 to a request. Each phase stops at its request count or its time limit,
whichever comes first, and reports requests/s, p50/p95/p99 latency and the error count
(any status but 200, or a failed connection), and for the writer its articles/s and
errors. Ratios against concurrency 1 come from the same run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import numpy as np

from eval.common import load_gold
from eval.serving import start

INGEST_BATCH = 20


@dataclass
class Phase:
    concurrency: int
    ingest: bool
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    rps: float = 0.0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    ingested_articles: int = 0
    ingest_requests: int = 0
    ingest_errors: int = 0
    error_samples: list[str] = field(default_factory=list)


def _asks(gold: list[dict]) -> list[dict]:
    return [
        {"question": g["question"], "as_of": g["question_date"]}
        if g.get("question_date")
        else {"question": g["question"]}
        for g in gold
    ]


def _articles(path: Path) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [{k: r[k] for k in ("id", "text", "date", "source", "title") if r.get(k) not in (None, "")} for r in rows]


def run_phase(
    url: str, bodies: list[dict], concurrency: int, n: int, time_limit: float, articles: list[dict] | None, round_: int
) -> Phase:
    phase = Phase(concurrency, articles is not None)
    latencies: list[float] = []
    counter = itertools.count()
    lock = threading.Lock()
    stop = threading.Event()
    deadline = time.monotonic() + time_limit

    def client() -> None:
        with httpx.Client(base_url=url, timeout=60) as c:
            while not stop.is_set() and time.monotonic() < deadline:
                i = next(counter)
                if i >= n:
                    return
                began = time.perf_counter()
                try:
                    r = c.post("/ask", json=bodies[i % len(bodies)])
                    ok, why = r.status_code == 200, f"{r.status_code} {r.text[:200]}"
                except httpx.HTTPError as exc:
                    ok, why = False, f"{type(exc).__name__}: {exc}"
                took = time.perf_counter() - began
                with lock:
                    latencies.append(took)
                    if not ok:
                        phase.errors += 1
                        if len(phase.error_samples) < 3:
                            phase.error_samples.append(why)

    def writer() -> None:
        with httpx.Client(base_url=url, timeout=600) as c:
            for start_at in itertools.count(0, INGEST_BATCH):
                if stop.is_set():
                    return
                batch = [
                    {**a, "id": f"load{round_}-{a['id']}"} for a in articles[start_at % len(articles) :][:INGEST_BATCH]
                ]
                try:
                    r = c.post("/articles", json={"articles": batch})
                    ok = r.status_code == 200
                    if ok:
                        phase.ingested_articles += r.json()["added"] + r.json()["replaced"]
                except httpx.HTTPError:
                    ok = False
                phase.ingest_requests += 1
                phase.ingest_errors += 0 if ok else 1

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    ingest = threading.Thread(target=writer) if articles is not None else None
    if ingest:
        ingest.start()
        time.sleep(1.0)  # the first batch is under way before the clock starts
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    phase.seconds = time.perf_counter() - began
    stop.set()
    if ingest:
        ingest.join()
    phase.requests = len(latencies)
    if latencies:
        ms = np.array(latencies) * 1000
        phase.rps = phase.requests / phase.seconds
        phase.p50_ms, phase.p95_ms, phase.p99_ms = (float(np.percentile(ms, q)) for q in (50, 95, 99))
    return phase


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, default=Path("indexes/rtqa-2023q1"))
    ap.add_argument("--gold", type=Path, required=True)
    ap.add_argument(
        "--articles", type=Path, required=True, help="JSON Lines articles the writer posts during the ingest phases"
    )
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--requests", type=int, default=200, help="requests per phase")
    ap.add_argument("--time-limit", type=float, default=120.0, help="seconds per phase at most")
    ap.add_argument("--workers", type=int, help="rag serve --workers (default: its own)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not (args.index / "rag.sqlite").exists():
        print(f"error: {args.index}: no index (build it with rag ingest or eval.qa)", file=sys.stderr)
        return 1
    bodies = _asks(load_gold(args.gold))
    articles = _articles(args.articles)
    phases: list[Phase] = []
    with tempfile.TemporaryDirectory(prefix="rag-load-") as tmp:
        copy = Path(tmp) / "index"
        shutil.copytree(args.index, copy, ignore=shutil.ignore_patterns("write.lock"))
        server = start(copy, *(["--workers", str(args.workers)] if args.workers else []))
        try:
            run_phase(server.url, bodies, 2, 20, 60, None, 0)  # warm-up, not reported
            for round_, c in enumerate(args.concurrency):
                for with_ingest in (False, True):
                    phase = run_phase(
                        server.url, bodies, c, args.requests, args.time_limit, articles if with_ingest else None, round_
                    )
                    phases.append(phase)
                    if not args.json:
                        print(_row(phase), file=sys.stderr, flush=True)
        finally:
            server.stop()
    base = {p.ingest: p.rps for p in phases if p.concurrency == args.concurrency[0]}
    report = {
        "requests_per_phase": args.requests,
        "time_limit_s": args.time_limit,
        "phases": [
            asdict(p) | {"rps_vs_first": round(p.rps / base[p.ingest], 2) if base.get(p.ingest) else None}
            for p in phases
        ],
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"\n{'conc':>4} {'ingest':>6} {'reqs':>5} {'errors':>6} {'req/s':>7} {'x c1':>5} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'ingest art/s':>12}"
        )
        for p in report["phases"]:
            rate = f"{p['ingested_articles'] / p['seconds']:.1f}" if p["ingest"] and p["seconds"] else "-"
            print(
                f"{p['concurrency']:>4} {'yes' if p['ingest'] else 'no':>6} {p['requests']:>5} {p['errors']:>6} {p['rps']:>7.2f} {p['rps_vs_first'] or 0:>5.2f} "
                f"{p['p50_ms']:>7.1f} {p['p95_ms']:>7.1f} {p['p99_ms']:>7.1f} {rate:>12}"
            )
    return 1 if any(p.errors or p.ingest_errors for p in phases) else 0


def _row(p: Phase) -> str:
    return (
        f"concurrency {p.concurrency}{' + ingest' if p.ingest else ''}: {p.requests} requests, {p.errors} errors, {p.rps:.2f}/s, p50 {p.p50_ms:.1f} ms, p99 {p.p99_ms:.1f} ms"
        + (f"; {p.error_samples}" if p.error_samples else "")
    )


if __name__ == "__main__":
    sys.exit(main())
