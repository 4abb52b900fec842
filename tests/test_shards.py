"""A sharded index against one index over the same articles: same ids, scores and JSON."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import faiss
import numpy as np
import pytest

from rag import Index, InputError, RagError, vectors
from rag.candidates import merge_top
from rag.ingest import content_hash
from rag.lexical import combined, tokenize
from rag.load import load_paths
from rag.query import Mode
from rag.shards import ShardedIndex, open_index, read_manifest, shard_of
from rag.types import Document, IndexType

from .conftest import SAMPLES

TOWNS = ["Arden", "Belmoor", "Carrow", "Dunmere", "Elstow", "Farleigh", "Greyhaven", "Hollin"]
TOPICS = [
    ("council", "The {town} council voted {n} to {m} to approve a new budget for road repairs on {day}."),
    ("festival", "About {n},000 visitors came to the {town} harvest festival, organisers said on {day}."),
    ("flood", "Floodwater closed {n} streets in {town} after the river rose {m} feet on {day}."),
]


def _articles() -> list[Document]:
    """Thirty small dated articles written for these tests, plus the bundled samples."""
    docs = list(load_paths([SAMPLES]).documents)
    for i in range(30):
        town = TOWNS[i % len(TOWNS)]
        topic, template = TOPICS[i % len(TOPICS)]
        day = dt.date(2024, 1, 1) + dt.timedelta(days=3 * i)
        first = template.format(town=town, n=i + 3, m=i % 5 + 1, day=day.strftime("%A"))
        second = f"Officials in {town} said more details on the {topic} would follow next week."
        docs.append(Document(f"{topic}-{town.lower()}-{i}", f"{first} {second}", day, f"test://{topic}/{i}", ""))
    return docs


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[int, Path]:
    """One index and sharded ones of 2 and 3 shards over the same articles, in the same order."""
    root = tmp_path_factory.mktemp("shards")
    docs = _articles()
    out = {}
    with Index.open(root / "one", create=True) as one:
        one.add_documents(docs)
    out[1] = root / "one"
    for n in (2, 3):
        with ShardedIndex.create(root / f"s{n}", n) as sharded:
            sharded.add_documents(docs)
        out[n] = root / f"s{n}"
    return out


QUESTIONS = [
    "When did the new harbour bridge in Vellmar open?",
    "How many visitors came to the Carrow harvest festival?",
    "Which streets closed in Dunmere after the flood?",
    "What did the Arden council approve?",
]


def _search_json(index, q: str, **kw) -> list[dict]:
    return [p.to_json() for p in index.search(q, **kw)]


@pytest.mark.parametrize("n", [2, 3])
def test_search_ask_and_summarize_give_the_same_json_as_one_index(built, n):
    with Index.open(built[1]) as one, open_index(built[n]) as sharded:
        for q in QUESTIONS:
            for mode in Mode:
                assert _search_json(sharded, q, k=8, mode=mode) == _search_json(one, q, k=8, mode=mode)
            as_of = dt.date(2024, 2, 1)
            assert _search_json(sharded, q, as_of=as_of) == _search_json(one, q, as_of=as_of)
            assert sharded.ask(q).to_json() == one.ask(q).to_json()
        for topic in ("floods in the towns", "the harbour bridge"):
            assert sharded.summarize(topic).to_json() == one.summarize(topic).to_json()


@pytest.mark.parametrize("n", [2, 3])
def test_bm25_scores_every_chunk_with_corpus_wide_statistics(built, n):
    with Index.open(built[1]) as one, ShardedIndex.open(built[n]) as sharded:
        ids = np.sort(one.corpus.filters.chunk_dates()[0])
        for q in QUESTIONS:
            single = one.corpus.lexical_hits(q, None)
            parts = [s.corpus for s in sharded.shards]  # as rag.candidates.of_shard reads each
            stats = combined([p.lexical().stats(tokenize(q)) for p in parts])
            hits = [p.lexical_hits(q, None, stats) for p in parts]
            assert np.array_equal(sum(h.at(ids) for h in hits), single.at(ids))  # bit for bit
            tops = [h.top(10) for h in hits]
            top_ids, top_scores = merge_top([t[0] for t in tops], [t[1] for t in tops], 10)
            want_ids, want_scores = single.top(10)
            assert np.array_equal(top_ids, want_ids) and np.array_equal(top_scores, want_scores)
        # a single shard's own figures would differ: the merged ones are not that
        terms = tokenize(QUESTIONS[1])
        shard_stats = [s.corpus.lexical().stats(terms) for s in sharded.shards]
        assert sum(s.live for s in shard_stats) == one.lexical().live


def test_a_view_that_keeps_every_terms_figures_searches_as_one_index_with_fewer_fan_outs(tmp_path):
    """What a reader of Ray actors does (it keeps figures between queries), in-process:
    after a removal too, where the shards' BM25 figures leave out removed chunks."""
    from rag.merged import InProcess, ShardedCorpus
    from rag.query import Query
    from rag.retrieve import search

    class Counted(InProcess):
        calls = 0

        def each(self, read):
            Counted.calls += 1
            return super().each(read)

    docs = _articles()
    with Index.open(tmp_path / "one", create=True) as one, ShardedIndex.create(tmp_path / "s", 2) as sharded:
        for index in (one, sharded):
            index.add_documents(docs)
            index.remove([docs[0].id, docs[5].id])
        asking = ShardedCorpus(Counted([s.corpus for s in sharded.shards]), sharded.embedder)
        keeping = ShardedCorpus(Counted([s.corpus for s in sharded.shards]), sharded.embedder, fixed={})
        assert not keeping.is_empty  # kept from here on, as a cluster reader keeps it
        first = True
        assert any(len(s.corpus.lexical().dead) for s in sharded.shards)  # removed chunks' postings remain
        for q, mode in [(q, Mode.HYBRID) for q in QUESTIONS] + [(q, Mode.LEXICAL) for q in QUESTIONS]:
            query = Query(q, k=5, mode=mode)
            want = [p.to_json() for p in search(one.corpus, query)]
            Counted.calls = 0
            assert [p.to_json() for p in search(asking, query)] == want
            asked = Counted.calls
            Counted.calls = 0
            assert [p.to_json() for p in search(keeping, query)] == want
            kept = Counted.calls
            # asking: emptiness, the chunks after today, BM25 figures, candidates, passages, windows;
            # keeping: the first also asks for today's range and every term's figures, then neither
            assert (asked, kept) == (6, 5 if first else 3)
            first = False
        assert keeping.fixed["vocabulary"] == combined([s.corpus.lexical().vocabulary() for s in sharded.shards])


@pytest.mark.parametrize("n", [2, 3])
def test_every_article_lies_in_the_shard_its_content_hash_names(built, n):
    docs = _articles()
    with ShardedIndex.open(built[n]) as sharded:
        for d in docs:
            home = shard_of(content_hash(d), n)
            assert sharded.shards[home].article(d.id) is not None
            assert all(s.article(d.id) is None for j, s in enumerate(sharded.shards) if j != home)
        info = sharded.info()
        assert info.shards == n and info.articles == len(docs)


def test_chunk_ids_are_the_ones_one_index_gives(built):
    with Index.open(built[1]) as one, ShardedIndex.open(built[3]) as sharded:
        single = {
            (r.doc_id, r.start): r.id for r in one.store.chunks(one.corpus.filters.chunk_dates()[0].tolist()).values()
        }
        for s in sharded.shards:
            ids = s.corpus.filters.chunk_dates()[0]
            for r in s.store.chunks(ids.tolist()).values():
                assert single[(r.doc_id, r.start)] == r.id


def test_ingesting_again_adds_nothing_and_a_changed_article_moves_to_its_new_shard(tmp_path):
    docs = _articles()[:12]
    with ShardedIndex.create(tmp_path / "s", 3) as sharded:
        sharded.add_documents(docs)
        again = sharded.add_documents(docs)
        assert (again.added, again.replaced, again.skipped) == (0, 0, len(docs))
        target = docs[-1]
        old_home = shard_of(content_hash(target), 3)
        changed = next(
            Document(target.id, target.text + f" Update {i}.", target.date, target.source, target.title)
            for i in range(100)
            if shard_of(
                content_hash(
                    Document(target.id, target.text + f" Update {i}.", target.date, target.source, target.title)
                ),
                3,
            )
            != old_home
        )
        report = sharded.add_documents([changed])
        assert (report.added, report.replaced) == (0, 1)
        new_home = shard_of(content_hash(changed), 3)
        assert sharded.shards[new_home].article(target.id).text == changed.text
        assert sharded.shards[old_home].article(target.id) is None
        assert sharded.info().articles == len(docs)


def test_remove_finds_the_articles_shard_and_rejects_unknown_names_first(tmp_path):
    docs = _articles()[:9]
    with ShardedIndex.create(tmp_path / "s", 2) as sharded:
        sharded.add_documents(docs)
        with pytest.raises(InputError, match="no article with article id 'nope'"):
            sharded.remove([docs[0].id, "nope"])
        assert sharded.info().articles == len(docs)  # nothing removed
        assert sharded.remove([docs[0].id], [docs[1].source]) == [docs[0].id, docs[1].id]
        assert sharded.info().articles == len(docs) - 2
        assert all(e.id not in (docs[0].id, docs[1].id) for e in sharded.articles())


def test_create_refuses_a_single_index_or_another_shard_count(tmp_path, built):
    with pytest.raises(InputError, match="already holds"):
        ShardedIndex.create(built[1], 2)
    with pytest.raises(InputError, match="has 2 shards, not 3"):
        ShardedIndex.create(built[2], 3)
    with pytest.raises(InputError, match="between 1 and"):
        ShardedIndex.create(tmp_path / "zero", 0)
    assert read_manifest(built[1]) is None and read_manifest(built[2]).shards == 2


def test_a_damaged_manifest_or_a_missing_shard_is_a_one_line_error(tmp_path):
    with ShardedIndex.create(tmp_path / "s", 2) as sharded:
        sharded.add_documents(_articles()[:4])
    (tmp_path / "s" / "shards.json").write_text("{not json")
    with pytest.raises(RagError, match="manifest is damaged"):
        open_index(tmp_path / "s")
    (tmp_path / "s" / "shards.json").write_text(json.dumps({"format": 1, "shards": 3}))
    with pytest.raises(RagError, match="shard-002: shard is missing"):
        open_index(tmp_path / "s")


@pytest.mark.parametrize("n", [2, 3])
def test_a_shared_trained_ivf_merged_over_shards_finds_what_one_ivf_finds(n):
    rng = np.random.default_rng(7)
    vecs = rng.standard_normal((6000, 32)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = np.arange(len(vecs), dtype=np.int64) * 3 + 5
    template = vectors.trained(IndexType.IVF_SQ8, vecs, 32)
    ivf = faiss.extract_index_ivf(template)
    assert ivf.nprobe < ivf.nlist  # the probe is partial: the clusters must agree to match

    def copy() -> faiss.Index:
        return faiss.deserialize_index(faiss.serialize_index(template))

    one = copy()
    vectors.add(one, vecs, ids)
    owner = rng.integers(0, n, len(vecs))
    shards = []
    for j in range(n):
        s = copy()
        vectors.add(s, vecs[owner == j], ids[owner == j])
        shards.append(s)
    queries = rng.standard_normal((20, 32)).astype(np.float32)
    mask = np.zeros(int(ids.max()) + 1, bool)
    mask[ids[rng.random(len(ids)) < 0.3]] = True
    for allowed in (None, mask):
        for q in queries:
            want_scores, want_ids = vectors.search(one, q[None, :], 10, allowed)
            totals = None if allowed is None else (int(allowed.sum()), len(vecs))
            found = [vectors.search(s, q[None, :], 10, allowed, totals) for s in shards]
            got_ids, got_scores = merge_top(
                [f[1][0][f[1][0] >= 0] for f in found], [f[0][0][f[1][0] >= 0] for f in found], 10
            )
            assert got_ids.tolist() == want_ids[0].tolist()
            assert np.allclose(got_scores, want_scores[0], atol=1e-6)


def test_a_sharded_ivf_index_answers_as_one_ivf_index(tmp_path):
    docs = _articles()
    with Index.open(tmp_path / "one", create=True) as one:
        one.set_index_type(IndexType.IVF_SQ8)
        one.add_documents(docs)
        with ShardedIndex.create(tmp_path / "s", 2, index_type=IndexType.IVF_SQ8) as sharded:
            sharded.add_documents(docs)
            assert "ivf-sq8" in sharded.info().index_type
            for q in QUESTIONS:
                assert _search_json(sharded, q, k=8) == _search_json(one, q, k=8)


def test_the_cli_ingests_into_shards_and_every_command_reads_them(tmp_path, built_index):
    from .test_cli import assert_one_line_error, rag

    path = tmp_path / "s"
    made = json.loads(rag("ingest", str(SAMPLES), "--index", str(path), "--shards", "2", "--json").stdout)
    assert made["index"]["shards"] == 2 and made["added"] == 5
    again = json.loads(rag("ingest", str(SAMPLES), "--index", str(path), "--json").stdout)
    assert (again["added"], again["skipped"]) == (0, 5)
    question = "When did the new harbour bridge in Vellmar open?"
    for command in (["ask", question], ["search", "harbour bridge"], ["summarize", "the harbour bridge"], ["list"]):
        sharded = json.loads(rag(*command, "--index", str(path), "--json").stdout)
        single = json.loads(rag(*command, "--index", str(built_index), "--json").stdout)
        assert sharded == single
    assert_one_line_error(rag("ingest", str(SAMPLES), "--index", str(path), "--shards", "3"), "has 2 shards, not 3")
    assert_one_line_error(rag("ingest", str(SAMPLES), "--index", str(built_index), "--shards", "2"), "already holds")
    checked = json.loads(rag("check", "--index", str(path), "--json").stdout)
    assert checked["ok"] and len(checked["shards"]) == 2


def test_rag_serve_answers_from_a_sharded_index_and_adds_to_it(tmp_path, built_index):
    from eval.serving import start

    path = tmp_path / "s"
    with ShardedIndex.create(path, 2) as sharded:
        sharded.add([SAMPLES])
    server = start(path, "--workers", "1")
    try:
        with server.client() as client:
            asked = {"question": QUESTIONS[0], "as_of": "2024-12-31"}
            with Index.open(built_index) as one:
                assert (
                    client.post("/ask", json=asked).json()
                    == one.ask(QUESTIONS[0], as_of=dt.date(2024, 12, 31)).to_json()
                )
            article = {
                "id": "ferry-line",
                "text": "On Monday the Vellmar council approved a night ferry line.",
                "date": "2024-06-03",
            }
            assert client.post("/articles", json={"articles": [article]}).json()["added"] == 1
            assert client.get("/info").json()["articles"] == 6
            assert client.get("/articles/ferry-line").json()["text"] == article["text"]
    finally:
        server.stop()
    with ShardedIndex.open(path) as sharded:
        assert sharded.article("ferry-line") is not None


@pytest.mark.parametrize("kind", [IndexType.FLAT, IndexType.IVF_SQ8])
def test_a_write_that_fails_in_one_shard_leaves_every_shard_as_it_was(tmp_path, monkeypatch, kind):
    from rag.store import Store

    from .conftest import snapshot

    path = tmp_path / "s"
    docs = _articles()
    with ShardedIndex.create(path, 3, index_type=kind) as sharded:
        sharded.add_documents(docs[:4])
    before = snapshot(path)
    inserted: list[int] = []
    insert = Store.insert

    def third_fails(self, *args, **kwargs):  # the third shard's write fails after two have written theirs
        inserted.append(1)
        if len(inserted) == 3:
            raise OSError("disk full")
        return insert(self, *args, **kwargs)

    monkeypatch.setattr(Store, "insert", third_fails)
    with ShardedIndex.open(path) as sharded, pytest.raises(OSError):
        sharded.add_documents(docs[4:])
    assert len(inserted) == 3
    monkeypatch.setattr(Store, "insert", insert)
    assert snapshot(path) == before
    with ShardedIndex.open(path) as sharded:
        assert sharded.info().articles == 4
        sharded.add_documents(docs[4:])
        assert sharded.info().articles == len(docs)
        assert sharded.info().vectors == sharded.info().chunks


def test_a_removal_that_fails_in_one_shard_removes_nothing(tmp_path, monkeypatch):
    from rag.store import Store

    from .conftest import snapshot

    path = tmp_path / "s"
    docs = _articles()
    with ShardedIndex.create(path, 3) as sharded:
        sharded.add_documents(docs)
    homes = {shard_of(content_hash(d), 3): d.id for d in docs}
    assert len(homes) == 3  # one article from each shard
    before = snapshot(path)
    calls: list[int] = []
    delete = Store.delete_articles

    def last_fails(self, ids):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        return delete(self, ids)

    monkeypatch.setattr(Store, "delete_articles", last_fails)
    with ShardedIndex.open(path) as sharded, pytest.raises(OSError):
        sharded.remove(list(homes.values()))
    monkeypatch.setattr(Store, "delete_articles", delete)
    assert snapshot(path) == before
    with ShardedIndex.open(path) as sharded:
        assert sorted(sharded.remove(list(homes.values()))) == sorted(homes.values())
        assert sharded.info().articles == len(docs) - 3


# A write in a fresh process that dies (os._exit: no cleanup, as a killed process) right
# after the first of its shards' COMMITs, with the journal saved.
_CRASH_AFTER_FIRST_COMMIT = """
import contextlib, os, sys
from pathlib import Path
from rag.shards import ShardedIndex
from rag.store import Store
from tests.test_shards import _articles

root = Path(sys.argv[1])
original = Store.transaction

@contextlib.contextmanager
def then_crash(self):
    with original(self):
        yield
    if (root / "journal").exists():
        os._exit(17)

Store.transaction = then_crash
with ShardedIndex.open(root) as sharded:
    if sys.argv[2] == "add":
        sharded.add_documents(_articles()[4:])
    else:
        sharded.remove(sys.argv[3:])
"""


def _crash_after_first_commit(path: Path, *args: str) -> None:
    import subprocess
    import sys

    from .conftest import ROOT

    done = subprocess.run(
        [sys.executable, "-c", _CRASH_AFTER_FIRST_COMMIT, str(path), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 17, done.stderr


def _stored_ids(path: Path) -> list[set[str]]:
    """The article ids each shard's database holds, read straight from SQLite."""
    import sqlite3

    manifest = read_manifest(path)
    assert manifest is not None
    out = []
    for folder in manifest.folders(path):
        with sqlite3.connect(folder / "rag.sqlite") as conn:
            out.append({r[0] for r in conn.execute("SELECT id FROM articles")})
    return out


@pytest.mark.parametrize(
    ("kind", "before"),
    [(IndexType.FLAT, 4), (IndexType.IVF_SQ8, 4), (IndexType.IVF_SQ8, 0)],  # 0: the write trains the first IVF
)
def test_an_ingest_cut_off_between_two_shards_commits_is_finished_on_the_next_open(tmp_path, kind, before):
    docs = _articles()
    path, whole = tmp_path / "s", tmp_path / "whole"
    for p in (path, whole):
        with ShardedIndex.create(p, 3, index_type=kind) as sharded:
            sharded.add_documents(docs[:before])
    with ShardedIndex.open(whole) as sharded:
        sharded.add_documents(docs[4:])
    _crash_after_first_commit(path, "add")
    held = _stored_ids(path)
    assert before < sum(map(len, held)) < len(docs) - 4 + before  # the crash fell between the shards' commits
    assert (path / "journal").is_dir()
    with ShardedIndex.open(path) as sharded:
        assert not (path / "journal").exists()
        assert sharded.info().articles == len(docs) - 4 + before
        assert sharded.info().vectors == sharded.info().chunks
        with ShardedIndex.open(whole) as reference:
            for q in QUESTIONS:
                assert _search_json(sharded, q) == _search_json(reference, q)
    assert _stored_ids(path) == _stored_ids(whole)


def test_an_index_that_cannot_be_written_opens_with_its_journal_left_for_a_writer(tmp_path, monkeypatch):
    from rag.lock import WriteLock

    docs = _articles()
    path = tmp_path / "s"
    with ShardedIndex.create(path, 3) as sharded:
        sharded.add_documents(docs[:4])
    _crash_after_first_commit(path, "add")
    stored = sum(map(len, _stored_ids(path)))

    def read_only(self):
        raise PermissionError(13, "Read-only file system", str(self.path))

    monkeypatch.setattr(WriteLock, "acquire", read_only)
    with ShardedIndex.open(path) as sharded:  # read as it is
        assert sharded.info().articles == stored
        assert sharded.search(QUESTIONS[0])
    assert (path / "journal").is_dir()
    monkeypatch.undo()
    with ShardedIndex.open(path) as sharded:
        assert sharded.info().articles == len(docs)


def test_a_removal_cut_off_between_two_shards_commits_is_finished_on_the_next_open(tmp_path):
    docs = _articles()
    path = tmp_path / "s"
    with ShardedIndex.create(path, 3) as sharded:
        sharded.add_documents(docs)
    homes = {shard_of(content_hash(d), 3): d.id for d in docs}
    _crash_after_first_commit(path, "remove", *homes.values())
    assert sum(map(len, _stored_ids(path))) == len(docs) - 1  # one shard committed its part
    with ShardedIndex.open(path) as sharded:
        assert sharded.info().articles == len(docs) - 3
        assert all(sharded.article(d) is None for d in homes.values())
        assert sharded.info().vectors == sharded.info().chunks


def test_a_damaged_journal_is_a_one_line_error_and_changes_nothing(tmp_path):
    from .conftest import snapshot

    path = tmp_path / "s"
    with ShardedIndex.create(path, 2) as sharded:
        sharded.add_documents(_articles()[:6])
    (path / "journal").mkdir()
    (path / "journal" / "journal.json").write_text('{"format": 1, "id": "x", "parts": [{"shard"')
    before = snapshot(path)
    with pytest.raises(RagError, match="unfinished write cannot be read"):
        ShardedIndex.open(path)
    assert snapshot(path) == before


@pytest.mark.parametrize("kind", [IndexType.FLAT, IndexType.IVF_SQ8])
def test_a_resharded_index_answers_as_its_source_and_later_writes_keep_its_clusters(tmp_path, kind):
    from rag.shards import TEMPLATE, reshard

    docs = _articles()
    with Index.open(tmp_path / "one", create=True) as one:
        one.set_index_type(kind)
        one.add_documents(docs[:-3])
        with reshard(one, tmp_path / "s3", 3) as sharded:
            for q in QUESTIONS:
                assert _search_json(sharded, q) == _search_json(one, q)
            assert (tmp_path / "s3" / TEMPLATE).exists() is (kind is IndexType.IVF_SQ8)
            template = (tmp_path / "s3" / TEMPLATE).read_bytes() if kind is IndexType.IVF_SQ8 else b""
            one.add_documents(docs[-3:])
            sharded.add_documents(docs[-3:])
            for q in QUESTIONS:
                assert _search_json(sharded, q) == _search_json(one, q)
    if kind is IndexType.IVF_SQ8:
        assert (tmp_path / "s3" / TEMPLATE).read_bytes() == template  # not trained again
