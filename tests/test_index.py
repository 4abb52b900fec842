"""The index on disk: real model, real FAISS file, real SQLite database."""

import datetime as dt
import sqlite3

import pytest

from rag import Index
from rag.errors import IndexError_, InputError, ModelMismatchError
from rag.retrieve import Mode
from rag.types import Document
from rag.vectors import IndexType

from .conftest import SAMPLES, snapshot


def test_ingest_counts_articles_chunks_and_vectors(built_index):
    with Index.open(built_index) as index:
        info = index.info()
    assert info.articles == 5
    assert info.chunks == info.vectors > 0
    assert info.model == "sentence-transformers/all-MiniLM-L6-v2" and info.dimension == 384
    assert info.index_type == "flat" and info.size_bytes > 0


def test_ingesting_the_same_articles_again_adds_nothing(sample_index):
    before = snapshot(sample_index)
    with Index.open(sample_index) as index:
        report = index.add([SAMPLES])
    assert (report.added, report.replaced, report.skipped, report.chunks) == (0, 0, 5, 0)
    assert snapshot(sample_index) == before


def test_changed_article_replaces_its_old_chunks(sample_index):
    with Index.open(sample_index) as index:
        before = index.info()
        report = index.add_documents(
            [Document("harbour-festival", "A short replacement text.", dt.date(2024, 3, 10), "x")]
        )
        after = index.info()
        hits = index.search("replacement text", k=1)
    assert (report.added, report.replaced) == (0, 1)
    assert after.articles == before.articles and after.chunks == after.vectors
    assert hits[0].doc_id == "harbour-festival" and hits[0].text == "A short replacement text."


def test_search_returns_scored_passages_with_metadata(built_index):
    with Index.open(built_index) as index:
        hits = index.search("lunar lander water ice", k=3)
    assert len(hits) == 3 and hits[0].doc_id == "tessera-lunar-landing"
    assert hits[0].score >= hits[1].score >= hits[2].score
    assert hits[0].date == dt.date(2024, 5, 20)


def test_date_filters_keep_only_articles_in_range(built_index):
    with Index.open(built_index) as index:
        hits = index.search("bridge", k=10, since=dt.date(2024, 3, 5), until=dt.date(2024, 3, 31))
        none = index.search("bridge", k=10, since=dt.date(2030, 1, 1))
    assert hits and all(dt.date(2024, 3, 5) <= h.date <= dt.date(2024, 3, 31) for h in hits)
    assert none == []


def test_bad_query_arguments_are_refused(built_index):
    with Index.open(built_index) as index:
        for call in (lambda: index.search(" "), lambda: index.search("x", k=0), lambda: index.ask("x", k=-1)):
            with pytest.raises(InputError):
                call()
        with pytest.raises(InputError, match="after"):
            index.search("x", since=dt.date(2024, 2, 1), until=dt.date(2024, 1, 1))


def test_missing_index_directory_is_an_error(tmp_path):
    with pytest.raises(IndexError_, match="no index here"):
        Index.open(tmp_path / "nowhere")


def test_an_index_refuses_a_different_model(sample_index):
    with pytest.raises(ModelMismatchError, match="all-MiniLM-L6-v2"):
        Index.open(sample_index, model="sentence-transformers/paraphrase-MiniLM-L3-v2")


def test_damaged_vector_file_is_reported(sample_index):
    vec = next(sample_index.glob("vectors-*.faiss"))
    vec.write_bytes(vec.read_bytes()[:100])
    with pytest.raises(IndexError_, match="damaged"):
        Index.open(sample_index)


def test_damaged_database_is_reported(sample_index):
    db = sample_index / "rag.sqlite"
    db.write_bytes(b"this is not a database" * 100)
    with pytest.raises(IndexError_, match="damaged|not a rag index"):
        Index.open(sample_index)


def test_vectors_and_chunks_out_of_step_are_reported(sample_index):
    conn = sqlite3.connect(sample_index / "rag.sqlite")
    conn.execute("DELETE FROM chunks WHERE id = (SELECT MAX(id) FROM chunks)")
    conn.commit()
    conn.close()
    with pytest.raises(IndexError_, match="inconsistent"):
        Index.open(sample_index)


def test_a_rejected_ingest_leaves_the_index_unchanged(sample_index, tmp_path):
    good = tmp_path / "in" / "good.txt"
    good.parent.mkdir()
    good.write_text("date 2024-07-01\nA new article that would be added.")
    (tmp_path / "in" / "bad.txt").write_bytes(b"date 2024-07-01\n\xff\xfe")
    before = snapshot(sample_index)
    with Index.open(sample_index) as index:
        with pytest.raises(InputError, match="not UTF-8"):
            index.add([tmp_path / "in"])
    assert snapshot(sample_index) == before


def test_a_crash_while_writing_leaves_the_previous_index_whole(sample_index, monkeypatch):
    from rag import vectors

    before = snapshot(sample_index)

    def fail(*args, **kwargs):
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C mid-write

    with Index.open(sample_index) as index:
        monkeypatch.setattr(vectors, "write_index", fail)
        with pytest.raises(KeyboardInterrupt):
            index.add_documents([Document("new", "Fresh text about a new topic.", dt.date(2024, 8, 1), "x")])
        monkeypatch.undo()
        assert index.info().articles == 5
    assert snapshot(sample_index) == before
    with Index.open(sample_index) as reopened:
        assert reopened.search("Fresh text about a new topic", k=1)[0].doc_id != "new"


def test_an_interrupted_ingest_keeps_its_checkpoints_and_resumes(tmp_path, monkeypatch):
    from rag import ingest

    monkeypatch.setattr(ingest, "DOCS_PER_BATCH", 2)
    docs = [
        Document(f"a{i}", f"Article number {i} reports on topic {i}.", dt.date(2024, 1, 1 + i), "x") for i in range(6)
    ]
    with Index.open(tmp_path / "idx", create=True) as index:
        real = index.embedder.encode
        calls = []

        def flaky(texts, **kwargs):
            calls.append(len(texts))
            if len(calls) == 3:
                raise KeyboardInterrupt  # Ctrl-C during the third batch
            return real(texts, **kwargs)

        monkeypatch.setattr(index.embedder, "encode", flaky)
        with pytest.raises(KeyboardInterrupt):
            index.add_documents(docs, checkpoint_seconds=0)
        assert index.info().articles == 4  # two checkpoints of two articles each were committed
    with Index.open(tmp_path / "idx") as index:
        report = index.add_documents(docs)
        assert (report.added, report.skipped) == (2, 4)
        info = index.info()
        assert info.articles == 6 and info.chunks == info.vectors


def test_removing_an_article_drops_its_chunks_vectors_and_lexical_hits(sample_index):
    with Index.open(sample_index) as index:
        before = index.info()
        removed = index.remove(["harbour-festival"])
        after = index.info()
        hits = index.search("harbour festival", k=10, mode=Mode.LEXICAL) + index.search("harbour festival", k=10)
    assert removed == ["harbour-festival"]
    assert after.articles == before.articles - 1 and after.chunks == after.vectors < before.vectors
    assert "harbour-festival" not in {h.doc_id for h in hits}
    with Index.open(sample_index) as index:  # the change is committed, files and database agree
        assert index.info().vectors == after.vectors


def test_removing_by_source_removes_every_article_of_it(sample_index):
    with Index.open(sample_index) as index:
        source = index.search("harbour bridge", k=1)[0].source
        removed = index.remove(sources=[source])
        assert removed and index.info().articles == 5 - len(removed)


def test_removing_an_unknown_article_changes_nothing(sample_index):
    before = snapshot(sample_index)
    with Index.open(sample_index) as index, pytest.raises(InputError, match="no article with article id 'nope'"):
        index.remove(["harbour-festival", "nope"])
    assert snapshot(sample_index) == before


@pytest.mark.parametrize("kind", [IndexType.IVF_SQ8, IndexType.HNSW])
def test_a_chosen_index_type_is_built_kept_and_searched(sample_index, kind):
    with Index.open(sample_index) as index:
        exact = [p.doc_id for p in index.search("When did the bridge open?", k=3, mode=Mode.DENSE)]
        assert index.set_index_type(kind)
    with Index.open(sample_index) as index:
        assert index.info().index_type.startswith(kind.value)
        assert [p.doc_id for p in index.search("When did the bridge open?", k=3, mode=Mode.DENSE)][:1] == exact[:1]
        index.add_documents(
            [Document("late-news", "The bridge reopened after repairs on Friday.", dt.date(2024, 6, 7), "x")]
        )
        index.remove(["harbour-festival"])
        info = index.info()
    assert info.index_type.startswith(kind.value) and info.vectors == info.chunks


def test_reembedding_with_another_backend_replaces_every_vector(sample_index):
    from rag.embed import Backend

    with Index.open(sample_index) as index:
        before = index.search("When did the Vellmar Harbour Bridge open?", k=1, mode=Mode.DENSE)[0]
    with Index.open(sample_index, backend=Backend.ONNX_INT8) as index:
        assert index.reembed() == index.info().vectors
        after = index.search("When did the Vellmar Harbour Bridge open?", k=1, mode=Mode.DENSE)[0]
    assert after.doc_id == before.doc_id and after.similarity != before.similarity


def test_removing_every_article_leaves_an_empty_index_that_answers_nothing_and_takes_new_ones(sample_index):
    with Index.open(sample_index) as index:
        ids = [p.doc_id for p in index.search("the", k=50)]
        everything = [r[0] for r in index.store.conn.execute("SELECT id FROM articles")]
        index.remove(everything)
        assert set(ids) <= set(everything)
        assert (index.info().articles, index.info().vectors) == (0, 0)
        assert index.search("bridge") == [] and index.ask("When did the bridge open?").text is None
        index.add([SAMPLES])
        assert index.search("bridge", k=1)


def _chunk_ids_of(index: Index, doc_id: str) -> list[int]:
    return index.store.chunk_ids_of([doc_id])


def test_ingest_and_removal_change_the_lexical_index_by_a_delta_scoring_as_a_rebuild(sample_index, monkeypatch):
    from rag import lexical

    monkeypatch.setattr(lexical, "MERGE_FRACTION", 10.0)  # the sample index is small: keep the delta
    with Index.open(sample_index) as index:
        main = index.lexical().main
        index.add_documents(
            [
                Document(
                    "ferry-strike",
                    "Ferry crews in Vellmar walked out on Friday over pay.",
                    dt.date(2024, 3, 8),
                    "ferry.txt",
                )
            ]
        )
        index.remove(["harbour-festival"])
        lex = index.lexical()
        assert lex.main is main and lex.delta.n == len(_chunk_ids_of(index, "ferry-strike")) and len(lex.dead) > 0
        assert index.search("ferry crews walked out", k=1, mode=Mode.LEXICAL)[0].doc_id == "ferry-strike"
        rebuilt = lexical.build(*index.store.all_chunk_texts())
    with Index.snapshot(sample_index) as snap:
        on_disk = snap.lexical()
    for query in ("harbour festival ferry", "Vellmar bridge opens", "crater"):
        expected = dict(zip(rebuilt.chunk_ids.tolist(), rebuilt.scores(query).tolist()))
        for lex_ in (lex, on_disk):
            got = dict(zip(lex_.chunk_ids.tolist(), lex_.scores(query).tolist()))
            assert all(got[c] == pytest.approx(s, rel=1e-5, abs=1e-6) for c, s in expected.items())
            assert not any(got[c] for c in set(got) - set(expected))  # removed chunks score nothing


def test_chunk_ids_are_not_reused_after_the_newest_article_is_removed(sample_index):
    with Index.open(sample_index) as index:
        index.add_documents(
            [Document("late-news", "A late story about the tram line.", dt.date(2024, 3, 9), "late.txt")]
        )
        first = _chunk_ids_of(index, "late-news")
        index.remove(["late-news"])
        index.add_documents(
            [Document("later-news", "A later story about the ferry pier.", dt.date(2024, 3, 9), "later.txt")]
        )
        assert min(_chunk_ids_of(index, "later-news")) > max(first)


def _lexical_folder_of_the_old_format(index_path):
    """Replace the index's BM25 folder with one as bm25s wrote it before segments."""
    import shutil

    import bm25s

    with Index.open(index_path) as index:
        folder = index.path / index.meta.lexical_dir
    shutil.rmtree(folder)
    old = bm25s.BM25()
    old.index([["harbour"]], show_progress=False)
    old.save(str(folder))
    return folder


def test_a_lexical_index_of_the_old_format_is_rebuilt_on_open(sample_index):
    folder = _lexical_folder_of_the_old_format(sample_index)
    with Index.open(sample_index) as index:
        assert index.search("harbour festival", k=1, mode=Mode.LEXICAL)[0].doc_id == "harbour-festival"
        assert index.meta.lexical_dir != folder.name and not folder.exists()
        assert (index.path / index.meta.lexical_dir / "lexical.json").exists()


def test_a_service_brings_an_old_lexical_index_up_to_date_before_taking_snapshots(sample_index):
    from rag.service import Service

    folder = _lexical_folder_of_the_old_format(sample_index)
    service = Service(sample_index)
    try:
        with Index.open(sample_index) as index:
            assert index.meta.lexical_dir != folder.name
            assert (index.path / index.meta.lexical_dir / "lexical.json").exists()
    finally:
        service.close()
