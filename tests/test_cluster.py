"""Embedding on a real Ray cluster on this machine: a head that runs no tasks and two
worker nodes of one CPU each, a capped object store, no dashboard; stopped at the end."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import ray
from ray.cluster_utils import Cluster

from eval.serving import free_port
from rag import Index
from rag.cluster import ClusterEmbedder, connect
from rag.embed import Backend, Embedder
from rag.shards import ShardedIndex
from rag.types import Document

from .conftest import SAMPLES, snapshot

STORE_BYTES = 80 * 2**20


@pytest.fixture(scope="module")
def cluster():
    c = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 0, "object_store_memory": STORE_BYTES, "include_dashboard": False},
    )
    workers = [c.add_node(num_cpus=1, object_store_memory=STORE_BYTES) for _ in range(2)]
    c.wait_for_nodes()
    connect(c.address)
    try:
        yield c, workers
    finally:
        ray.shutdown()
        c.shutdown()


def _texts(n: int) -> list[str]:
    return [f"The council of town {i} approved a budget of {i * 3} million dollars on Monday." for i in range(n)]


def test_vectors_embedded_on_the_cluster_equal_in_process_ones(cluster):
    local = Embedder(backend=Backend.ONNX)
    texts = _texts(300)
    on_cluster = ClusterEmbedder(local, workers=2).encode(texts)
    assert on_cluster.shape == (300, 384)
    assert np.abs(on_cluster - local.encode(texts)).max() < 1e-4


def test_articles_tagged_on_the_cluster_get_the_in_process_entities(cluster):
    from rag import entities

    local = Embedder(backend=Backend.ONNX)
    texts = _texts(40)
    articles = [" ".join(texts[i : i + 4]) + f" Mayor Anna Holt of Brightwater spoke in Paris. {i}" for i in range(10)]
    vecs, found = ClusterEmbedder(local, workers=2).encode_and_tag(texts, articles, [4] * 10)
    assert np.abs(vecs - local.encode(texts)).max() < 1e-4
    assert found == entities.tag(articles)
    assert any(e.label == "PERSON" for e in found[0])


def test_rag_ingest_on_the_cluster_builds_the_index_an_in_process_ingest_builds(cluster, tmp_path, built_index):
    c, _ = cluster
    path = tmp_path / "s"
    done = subprocess.run(
        [sys.executable, "-m", "rag.cli", "ingest", str(SAMPLES), "--index", str(path), "--shards", "2"]
        + ["--ray", c.address, "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["added"] == 5
    question = "When did the new harbour bridge in Vellmar open?"
    with Index.open(built_index) as one, ShardedIndex.open(path) as sharded:
        got = [(p.doc_id, p.start, p.end) for p in sharded.search(question, k=5)]
        assert got == [(p.doc_id, p.start, p.end) for p in one.search(question, k=5)]
        assert sharded.ask(question).text == one.ask(question).text


def test_a_worker_lost_during_an_ingest_leaves_the_shards_whole(cluster, tmp_path):
    c, workers = cluster
    path = tmp_path / "s"
    with ShardedIndex.create(path, 2) as sharded:
        sharded.add_documents([Document("first", "The bridge opened on Monday.", dt.date(2024, 3, 4), "t", "")])
    before = snapshot(path)
    docs = [Document(f"d{i}", text, dt.date(2024, 3, 5), f"t{i}", "") for i, text in enumerate(_texts(3000))]
    outcome: dict = {}

    def ingest() -> None:
        try:
            with ShardedIndex.open(path) as sharded:
                encoder = ClusterEmbedder(sharded.embedder, workers=2)
                outcome["report"] = sharded.add_documents(docs, encoder=encoder, checkpoint_seconds=3600)
        except Exception as exc:  # the one-line error the CLI would print
            outcome["error"] = exc

    thread = threading.Thread(target=ingest)
    thread.start()
    time.sleep(8)  # the replicas are up and embedding
    c.remove_node(workers[1])
    thread.join(timeout=600)
    assert not thread.is_alive()
    with ShardedIndex.open(path) as sharded:
        if "error" in outcome:  # nothing of the interrupted checkpoint was stored
            assert "Ray cluster" in str(outcome["error"]) and "\n" not in str(outcome["error"])
            assert snapshot(path) == before
        else:  # Ray Data retried the lost worker's batches on the other: all of it, once
            assert outcome["report"].added == len(docs)
            assert sharded.info().articles == len(docs) + 1
            assert sharded.info().vectors == sharded.info().chunks
    workers[1] = c.add_node(num_cpus=1, object_store_memory=STORE_BYTES)
    c.wait_for_nodes()


def test_without_a_cluster_address_the_error_is_one_line(monkeypatch):
    from rag.cluster import connect as join
    from rag.errors import RagError

    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(RagError, match="no Ray cluster named"):
        join(None)


def test_an_unreachable_cluster_is_a_one_line_error_that_leaves_no_index(tmp_path):
    from .test_cli import assert_one_line_error, rag

    port = free_port()  # nothing listens on it
    done = rag("ingest", str(SAMPLES), "--index", str(tmp_path / "idx"), "--ray", f"127.0.0.1:{port}")
    assert_one_line_error(done, "cannot reach the Ray cluster at 127.0.0.1:")
    assert not (tmp_path / "idx").exists()


def test_an_open_cluster_index_reads_its_commit_and_a_snapshot_the_next(cluster, sharded_indexes, tmp_path):
    import shutil

    from rag.cluster import open_on_cluster

    c, _ = cluster
    copy = tmp_path / "s3"
    shutil.copytree(sharded_indexes[3], copy)
    question = "When did the night ferry to Ostrand open?"
    ferry = Document("ferry", "On Monday Carrow opened a night ferry to Ostrand.", dt.date(2024, 6, 3), "t", "")
    with open_on_cluster(copy, c.address) as remote:
        before = remote.info().articles
        with ShardedIndex.open(copy) as writer:
            writer.add_documents([ferry])
        assert remote.info().articles == before and remote.article("ferry") is None  # its commit, as opened
        with remote.snapshot() as later:
            assert later.info().articles == before + 1
            assert later.search(question, k=1, as_of=dt.date(2024, 12, 31))[0].doc_id == "ferry"
            assert later.article("ferry").text == ferry.text
        assert remote.article("ferry") is None


def test_rag_serve_with_ray_answers_as_one_index_and_reads_what_it_is_sent(cluster, sharded_indexes, tmp_path):
    import shutil

    from eval.serving import start

    from .test_shards import QUESTIONS

    c, _ = cluster
    copy = tmp_path / "s2"
    shutil.copytree(sharded_indexes[2], copy)
    server = start(copy, "--ray", c.address)
    try:
        with server.client() as client, Index.open(sharded_indexes[1]) as one:
            for q in QUESTIONS:
                asked = {"question": q, "as_of": "2024-12-31"}
                assert client.post("/ask", json=asked).json() == one.ask(q, as_of=dt.date(2024, 12, 31)).to_json()
            assert client.get("/info").json()["articles"] == one.info().articles
            article = {"id": "ferry", "text": "On Monday Carrow opened a night ferry to Ostrand.", "date": "2024-06-03"}
            assert client.post("/articles", json={"articles": [article]}).json()["added"] == 1
            asked = {"question": "When did the night ferry to Ostrand open?", "as_of": "2024-12-31"}
            answer = client.post("/ask", json=asked).json()
            assert answer["date"] == "2024-06-03" and answer["passages"][0]["doc_id"] == "ferry"
            assert client.get("/articles/ferry").json()["text"] == article["text"]
            assert client.delete("/articles/ferry").status_code == 200
            assert client.get("/articles/ferry").status_code == 404
            assert client.get("/info").json()["articles"] == one.info().articles
    finally:
        server.stop()


def test_rag_serve_with_ray_runs_one_worker(built_index):
    from .test_cli import assert_one_line_error, rag

    done = rag("serve", "--index", str(built_index), "--ray", "127.0.0.1:1", "--workers", "2")
    assert_one_line_error(done, "--ray serves from one process")


def test_reading_through_an_unreachable_cluster_is_a_one_line_error(built_index):
    from .test_cli import assert_one_line_error, rag

    port = free_port()
    done = rag("ask", "When did the bridge open?", "--index", str(built_index), "--ray", f"127.0.0.1:{port}")
    assert_one_line_error(done, "cannot reach the Ray cluster at 127.0.0.1:")


def test_a_bad_question_fails_before_a_cluster_is_joined(built_index):
    from .test_cli import assert_one_line_error, rag

    done = rag("ask", "   ", "--index", str(built_index), "--ray", f"127.0.0.1:{free_port()}")
    assert_one_line_error(done, "the query is empty")


def test_nothing_but_rag_cluster_imports_ray():
    root = Path(__file__).resolve().parent.parent / "rag"
    importers = [p for p in root.rglob("*.py") if "import ray" in p.read_text() or "from ray" in p.read_text()]
    assert importers and all(p.parent == root / "cluster" for p in importers)


# -- reading through one actor per shard ----------------------------------------------


@pytest.fixture(scope="module")
def sharded_indexes(tmp_path_factory) -> dict[int, Path]:
    from .test_shards import _articles

    root = tmp_path_factory.mktemp("cluster-shards")
    docs = _articles()
    with Index.open(root / "one", create=True) as one:
        one.add_documents(docs)
    out = {1: root / "one"}
    for n in (2, 3):
        with ShardedIndex.create(root / f"s{n}", n) as sharded:
            sharded.add_documents(docs)
        out[n] = root / f"s{n}"
    return out


@pytest.mark.parametrize("n", [2, 3])
def test_shard_actors_give_the_same_json_as_one_index(cluster, sharded_indexes, n):
    from rag.cluster import open_on_cluster
    from rag.query import Mode

    from .test_shards import QUESTIONS

    c, _ = cluster
    with Index.open(sharded_indexes[1]) as one, open_on_cluster(sharded_indexes[n], c.address) as remote:
        for q in QUESTIONS:
            for mode in Mode:
                want = [p.to_json() for p in one.search(q, k=8, mode=mode)]
                assert [p.to_json() for p in remote.search(q, k=8, mode=mode)] == want
            as_of = dt.date(2024, 2, 1)
            assert [p.to_json() for p in remote.search(q, as_of=as_of)] == [
                p.to_json() for p in one.search(q, as_of=as_of)
            ]
            assert remote.ask(q).to_json() == one.ask(q).to_json()
        for topic in ("floods in the towns", "the harbour bridge"):
            assert remote.summarize(topic).to_json() == one.summarize(topic).to_json()


def test_rag_ask_with_ray_prints_what_the_in_process_ask_prints(cluster, sharded_indexes):
    from .test_cli import rag

    c, _ = cluster
    question = "How many visitors came to the Carrow harvest festival?"
    for command in ("ask", "search", "summarize"):
        here = rag(command, question, "--index", str(sharded_indexes[2]), "--json")
        there = rag(command, question, "--index", str(sharded_indexes[2]), "--ray", c.address, "--json")
        assert here.returncode == 0 and there.returncode == 0, there.stderr
        assert json.loads(there.stdout) == json.loads(here.stdout)


def test_a_shard_that_cannot_be_read_is_a_one_line_error(cluster, tmp_path, sharded_indexes):
    import shutil

    from rag.cluster import open_on_cluster
    from rag.errors import RagError

    c, _ = cluster
    copy = tmp_path / "s2"
    shutil.copytree(sharded_indexes[2], copy)
    (copy / "shard-001" / "rag.sqlite").write_bytes(b"not a database")
    with pytest.raises(RagError) as err:
        open_on_cluster(copy, c.address).close()
    assert "shard-001" in str(err.value) and "\n" not in str(err.value)


def test_a_worker_lost_during_queries_gives_whole_answers_or_a_clear_error(cluster, sharded_indexes):
    from rag.cluster import open_on_cluster
    from rag.errors import RagError

    from .test_shards import QUESTIONS

    c, workers = cluster
    with Index.open(sharded_indexes[1]) as one:
        want = {q: one.ask(q).to_json() for q in QUESTIONS}
    outcomes: list[str] = []
    with open_on_cluster(sharded_indexes[2], c.address, timeout=20) as remote:
        actor = remote.fanout.actors[0]
        before = ray.get(actor.node.remote())
        doomed = next(i for i, w in enumerate(workers) if w.node_id == before)
        killer = threading.Timer(3, c.remove_node, args=(workers[doomed],))  # while queries run
        killer.start()
        stop = time.monotonic() + 20
        while time.monotonic() < stop:
            for q in QUESTIONS:
                try:
                    got = remote.ask(q).to_json()
                except RagError as exc:  # within the timeout, one line, never fewer shards' answer
                    assert "\n" not in str(exc) and "Ray" in str(exc)
                    outcomes.append("error")
                else:
                    assert got == want[q]
                    outcomes.append("whole")
        killer.join()
        after = ray.get(actor.node.remote())
        assert after != before and outcomes[-1] == "whole"  # started again elsewhere, its shard reloaded
    workers[doomed] = c.add_node(num_cpus=1, object_store_memory=STORE_BYTES)
    c.wait_for_nodes()


def test_opening_on_the_cluster_finishes_a_write_a_crash_cut_off(cluster, sharded_indexes, tmp_path):
    from rag.cluster import open_on_cluster

    from .test_shards import QUESTIONS, _articles, _crash_after_first_commit

    c, _ = cluster
    path = tmp_path / "s"
    with ShardedIndex.create(path, 3) as sharded:
        sharded.add_documents(_articles()[:4])
    _crash_after_first_commit(path, "add")  # the rest, stored in one shard of three
    with Index.open(sharded_indexes[1]) as one, open_on_cluster(path, c.address) as remote:
        assert not (path / "journal").exists()
        for q in QUESTIONS:
            assert [p.to_json() for p in remote.search(q, k=8)] == [p.to_json() for p in one.search(q, k=8)]
            assert remote.ask(q).to_json() == one.ask(q).to_json()
