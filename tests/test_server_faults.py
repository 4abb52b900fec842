"""A server killed with SIGKILL in the middle of an ingest comes back whole."""

import random
import threading
import time

import httpx

from eval.serving import running, start
from rag import Index

ROUNDS = 12  # kills at random points of an ingest; a round starts a two-worker server anew (~7 s here)


def _batch(tag: str, n: int) -> dict:
    text = " ".join(
        f"Dispatch {tag}-{i} reports that the Ostrand ferry carried {i * 37 + 11} passengers in a storm."
        for i in range(12)
    )
    return {"articles": [{"id": f"{tag}-{i}", "text": f"{text} Item {i}.", "date": "2024-09-02"} for i in range(n)]}


def _post(client: httpx.Client, body: dict, answered: list[int]) -> None:
    try:
        answered.append(client.post("/articles", json=body).status_code)
    except httpx.TransportError:  # the server died under it: not acknowledged
        pass


def test_a_server_killed_mid_ingest_restarts_holding_every_acknowledged_article(sample_index):
    rng = random.Random(20241125)
    acknowledged: set[str] = set()
    cut_short = 0
    for round_ in range(ROUNDS):
        srv = start(sample_index, "--workers", "2")
        try:
            with srv.client() as client:
                assert client.post("/ask", json={"question": "When did the bridge open?"}).status_code == 200
                assert client.post("/articles", json=_batch(f"warm{round_}", 1)).status_code == 200
                acknowledged.add(f"warm{round_}-0")
                began = time.monotonic()
                assert client.post("/articles", json=_batch(f"a{round_}", 6)).status_code == 200
                took = time.monotonic() - began
                acknowledged.update(f"a{round_}-{i}" for i in range(6))

                in_flight = _batch(f"b{round_}", 6)
                answered: list[int] = []
                thread = threading.Thread(target=_post, args=(client, in_flight, answered))
                thread.start()
                time.sleep(rng.uniform(0, took * 1.2))
                srv.kill()
                thread.join()
                if answered == [200]:
                    acknowledged.update(a["id"] for a in in_flight["articles"])
                else:
                    cut_short += 1
        finally:
            srv.kill()
        with Index.open(sample_index) as index:  # opens: vectors and chunks agree
            info = index.info()
            missing = [i for i in acknowledged if index.store.article(i) is None]
        assert info.chunks == info.vectors and not missing, (round_, missing)
    srv = start(sample_index)
    try:
        with srv.client() as client:
            answer = client.post(
                "/ask", json={"question": "How many passengers did the Ostrand ferry carry?", "as_of": "2024-12-31"}
            )
            assert answer.status_code == 200 and answer.json()["answer"]
    finally:
        srv.stop()
    assert cut_short >= ROUNDS // 4  # most kills did land inside an ingest


def test_workers_die_with_a_killed_supervisor(sample_index):
    srv = start(sample_index, "--workers", "2")
    try:
        children = srv.children()
        assert len(children) >= 2
        srv.kill()  # SIGKILL to the supervisor alone (it cannot stop its workers), then up to 10 s
        alive = [pid for pid in children if running(pid)]
        assert not alive
    finally:
        srv.kill()


def test_a_worker_that_cannot_start_stops_the_server_with_its_reason(sample_index, tmp_path, monkeypatch):
    """A broken model export: the workers say why and the server exits 1, rather than
    restarting them for ever."""
    import shutil
    import subprocess
    import sys

    from rag import onnx_backend
    from rag.embed import canonical_name

    real = onnx_backend.export_folder(canonical_name(None))
    monkeypatch.setenv("RAG_CACHE_DIR", str(tmp_path / "cache"))
    broken = onnx_backend.export_folder(canonical_name(None))
    broken.mkdir(parents=True)
    for name in ("rag-export.json", "tokenizer.json"):
        shutil.copy(real / name, broken / name)
    for name in ("model.onnx", "model-int8.onnx"):
        (broken / name).write_bytes(b"not a graph")
    out = subprocess.run(
        [sys.executable, "-m", "rag.cli", "serve", "--index", str(sample_index), "--port", "0", "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr
    assert "error: a worker could not start" in out.stderr and "cannot load the ONNX export" in out.stderr
    assert "serving" not in out.stderr  # announced only once every worker serves
