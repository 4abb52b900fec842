import pickle
import sqlite3

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from rag import Index
from rag.entities import _pieces, tag, tagger_name
from rag.question import analyse
from rag.spans import candidates, proper_phrases
from rag.store import FORMAT_VERSION
from rag.types import Entity, Passage


def test_tagger_labels_people_organisations_and_places():
    text = "Angela Merkel met executives of Siemens in Berlin on Monday."
    found = {text[e.start : e.end]: e.label for e in tag([text])[0]}
    assert found.get("Angela Merkel") == "PERSON"
    assert found.get("Siemens") == "ORG"
    assert found.get("Berlin") == "GPE"


@given(st.lists(st.sampled_from(["Alpha beta.", "Gamma", "\n\n", "\n", "  ", "x" * 50, ". "]), max_size=30))
def test_pieces_are_slices_of_the_text_at_their_offsets(parts):
    text = "".join(parts)
    for offset, piece in _pieces(text):
        assert text[offset : offset + len(piece)] == piece
        assert piece.strip() == piece and piece


def test_which_airline_wants_an_organisation_and_who_a_person():
    assert analyse("Which airline cancelled the most flights?").labels == {"ORG"}
    assert analyse("Who won the race?").labels == {"PERSON"}
    assert analyse("Which colour is the comet?").labels == frozenset()


def test_a_name_of_the_asked_type_outranks_one_of_another_type():
    sentence = "Delta Air Lines flew the team from Atlanta."
    ents = tag([sentence])[0]
    found = {c.text: c.prior for c in candidates(sentence, None, analyse("Which airline flew the team?"), ents)}
    assert any("Delta" in t for t in found)
    delta = max(p for t, p in found.items() if "Delta" in t)
    assert delta > found.get("Atlanta", 0.0)


def test_a_piece_of_a_tagged_name_is_not_a_separate_candidate():
    sentence = "The film Everything Everywhere All at Once led with 11 nominations."
    ents = [Entity(9, 42, "WORK_OF_ART")]
    found = [c.text for c in candidates(sentence, None, analyse("Which film led the nominations?"), ents)]
    assert "Everything Everywhere All at Once" in found
    assert "Everything Everywhere All" not in found


def test_a_possessive_ends_a_name():
    assert [t for _, _, t in proper_phrases("Elon Musk’s Tesla fell.")] == ["Elon Musk", "Tesla"]


def test_ingested_passages_carry_their_entities(built_index):
    with Index.open(built_index) as index:
        passages = index.search("Who scored in the cup final?", k=3)
        assert any(p.entities for p in passages)
        for p in passages:
            for e in p.entities:
                assert 0 <= e.start < e.end <= len(p.text)


def test_candidates_carry_the_entities_a_lookup_by_offsets_finds(built_index):
    with Index.open(built_index) as index:
        ids = [int(i) for i in index.store.chunk_dates()[0]]
        passages = index.corpus.passages(np.array(ids), np.zeros(len(ids)), np.zeros(len(ids)))
        assert any(p.entities for p in passages)
        for p in passages:
            found = index.store.entities_within(p.doc_id, p.start, p.end)
            assert p.entities == tuple(e.shifted(-p.start) for e in found)


def test_an_index_from_before_entities_is_migrated_and_tagged_on_next_ingest(sample_index):
    conn = sqlite3.connect(sample_index / "rag.sqlite")
    conn.executescript("DROP TABLE entities; ALTER TABLE articles DROP COLUMN tagger; PRAGMA user_version = 1;")
    conn.close()
    with Index.open(sample_index) as index:
        untagged = index.store.untagged(tagger_name())
        assert untagged and index.search("bridge", k=1)[0].entities == ()
        assert index.tag_missing() == len(untagged)
        assert index.store.untagged(tagger_name()) == []
        assert index.search("bridge", k=1)[0].entities != ()
    version = sqlite3.connect(sample_index / "rag.sqlite").execute("PRAGMA user_version").fetchone()[0]
    assert version == FORMAT_VERSION


@given(
    st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500), st.sampled_from(["PERSON", "GPE", "DATE"]))),
    st.one_of(st.none(), st.tuples(st.integers(0, 9), st.integers(10, 20))),
)
def test_a_passage_pickles_with_its_entities_and_every_field(ents, matched):
    passage = Passage(
        7,
        "doc",
        "src",
        "title",
        None,
        "some text",
        3,
        12,
        0.25,
        0.5,
        ("other",),
        tuple(Entity(*e) for e in ents),
        matched,
    )
    assert pickle.loads(pickle.dumps(passage)) == passage
