"""Plain dataclasses passed between pipeline stages.

files -> Document -> Chunk -> (vectors) -> Passage -> Answer / Summary
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field, fields
from enum import Enum


@dataclass(frozen=True)
class Document:
    """One article as loaded from disk, before splitting."""

    id: str
    text: str
    date: dt.date | None
    source: str
    title: str = ""


@dataclass(frozen=True)
class Chunk:
    """A span of a document sized to fit the embedding model's window."""

    doc_id: str
    start: int
    end: int
    text: str
    date: dt.date | None


@dataclass(frozen=True)
class Entity:
    """A named span found by the tagger; offsets are into the text the list belongs to."""

    start: int
    end: int
    label: str  # OntoNotes type: PERSON, ORG, GPE, LOC, FAC, NORP, WORK_OF_ART, EVENT, PRODUCT, ...

    def shifted(self, by: int) -> Entity:
        return Entity(self.start + by, self.end + by, self.label)


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its article metadata and similarity score."""

    chunk_id: int
    doc_id: str
    source: str
    title: str
    date: dt.date | None
    text: str
    start: int
    end: int
    score: float  # the ranking score: the learned ranker's probability (hybrid), else cosine, BM25 share or their blend
    similarity: float = 0.0  # cosine similarity with the query, whatever the mode
    also_in: tuple[str, ...] = ()  # articles that carry the same text (wire copy), collapsed into this one
    entities: tuple[Entity, ...] = ()  # named entities in ``text`` (offsets into it), tagged at ingest
    matched: tuple[int, int] | None = (
        None  # article offsets of the chunk that matched, when ``text`` is a window around it
    )

    def __reduce__(self) -> tuple:
        """Pickled with its entities as three flat tuples rather than an object each: a
        shard on a Ray cluster sends a search's candidates this way, and a hundred
        passages with their entities pickle and unpickle in 1.9 ms against 2.75."""
        ents = self.entities
        rest = tuple(getattr(self, name) for name in _PICKLED)
        packed = (tuple(e.start for e in ents), tuple(e.end for e in ents), tuple(e.label for e in ents))
        return (_unpickle_passage, (rest, packed))

    @property
    def match_span(self) -> tuple[int, int]:
        """Article offsets of the text that matched the query: the chunk inside a window."""
        return self.matched or (self.start, self.end)

    def to_json(self) -> dict:
        return {
            "doc_id": self.doc_id,
            "source": self.source,
            "date": self.date.isoformat() if self.date else None,
            "text": self.text,
            "score": round(float(self.score), 4),
            "similarity": round(float(self.similarity), 4),
            "also_in": list(self.also_in),
            "start": self.start,
            "end": self.end,
            "match_start": self.match_span[0],
            "match_end": self.match_span[1],
        }


_PICKLED = tuple(f.name for f in fields(Passage) if f.name != "entities")


def _unpickle_passage(rest: tuple, packed: tuple[tuple, tuple, tuple]) -> Passage:
    return Passage(**dict(zip(_PICKLED, rest)), entities=tuple(map(Entity, *packed)))


class AnswerType(str, Enum):
    """What kind of span a question asks for."""

    DATE = "date"
    NUMBER = "number"
    DURATION = "duration"
    PLACE = "place"
    PERSON = "person"
    MANNER = "manner"
    ENTITY = "entity"
    TRUTH = "truth"  # "true or false: <claim>"
    DESCRIPTION = "description"  # "who is <name>?": what the articles call that person or thing


@dataclass(frozen=True)
class Answer:
    """An extracted answer span (or none), with the passages it was drawn from."""

    question: str
    text: str | None
    date: str | None  # ISO at the precision the text gives: 2025-09-01, 2019-01 or 2019
    confidence: float
    passages: list[Passage]
    doc_id: str | None = None
    sentence: str | None = None

    @property
    def display(self) -> str | None:
        """The answer as a person reads it: the span, with the ISO date beside it."""
        if self.text is None:
            return None
        if self.date is not None and self.date not in self.text:
            return f"{self.text} ({self.date})"
        return self.text

    def to_json(self) -> dict:
        return {
            "question": self.question,
            "answer": self.text,
            "date": self.date,
            "confidence": round(float(self.confidence), 4),
            "passages": [p.to_json() for p in self.passages],
        }


@dataclass(frozen=True)
class SummarySentence:
    text: str
    doc_id: str
    date: dt.date | None
    score: float = 0.0
    also_in: tuple[str, ...] = ()  # other articles that report the same (their sentences dropped as repeats)
    event_date: dt.date | None = None  # the day of what it reports (its first date mention), else the article's

    def to_json(self) -> dict:
        return {
            "text": self.text,
            "doc_id": self.doc_id,
            "date": self.date.isoformat() if self.date else None,
            "event_date": self.event_date.isoformat() if self.event_date else None,
            "also_in": list(self.also_in),
        }


@dataclass(frozen=True)
class Summary:
    query: str
    sentences: list[SummarySentence] = field(default_factory=list)
    timeline: bool = False  # sentences ordered by event_date instead of their articles' dates

    def to_json(self) -> dict:
        out: dict = {"query": self.query, "sentences": [s.to_json() for s in self.sentences]}
        if self.timeline:
            days: dict[str | None, list[dict]] = {}
            for s in self.sentences:
                days.setdefault(s.event_date.isoformat() if s.event_date else None, []).append(s.to_json())
            out["timeline"] = [{"date": d, "sentences": ss} for d, ss in days.items()]
        return out


@dataclass(frozen=True)
class ArticleEntry:
    """One stored article as `rag list` shows it."""

    id: str
    date: dt.date | None
    source: str
    title: str
    chunks: int

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "date": self.date.isoformat() if self.date else None,
            "source": self.source,
            "title": self.title,
            "chunks": self.chunks,
        }


@dataclass(frozen=True)
class IngestReport:
    """What an ingest did: counts a user can check."""

    added: int
    replaced: int
    skipped: int
    chunks: int
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class IndexInfo:
    path: str
    articles: int
    chunks: int
    vectors: int
    model: str
    dimension: int
    index_type: str
    size_bytes: int
    format_version: int
    shards: int = 1  # a sharded index's shards (rag.shards)

    def to_json(self) -> dict:
        return asdict(self)


class IndexType(str, Enum):
    """The FAISS index an index keeps its vectors in (see :mod:`rag.vectors`)."""

    AUTO = "auto"
    FLAT = "flat"
    IVF_SQ8 = "ivf-sq8"
    HNSW = "hnsw"


@dataclass(frozen=True)
class IndexMeta:
    """What an index's meta table records: the files of the last commit, how its chunks
    were cut and embedded, and the next chunk id. Stored as text rows (one per field);
    :meth:`rag.store.Store.meta` reads them into this, :meth:`update_meta` writes some."""

    faiss_file: str | None = None  # the vectors of the last commit (None: none yet)
    lexical_dir: str | None = None  # its BM25 index (None: built on first use)
    index_type: IndexType = IndexType.AUTO
    model: str | None = None  # the embedding model the vectors come from
    dimension: int = 0
    chunk_max_tokens: int | None = None
    chunk_overlap_tokens: int | None = None
    next_chunk_id: int = 0
    write_id: str | None = None  # the last sharded write this shard committed part of (see rag.journal)

    @classmethod
    def from_rows(cls, rows: dict[str, str]) -> IndexMeta:
        ints = ("dimension", "chunk_max_tokens", "chunk_overlap_tokens", "next_chunk_id")
        known = {k: v for k, v in rows.items() if k in cls.__dataclass_fields__}
        values: dict = {k: int(v) if k in ints else v for k, v in known.items()}
        if "index_type" in values:
            values["index_type"] = IndexType(values["index_type"])
        return cls(**values)

    @staticmethod
    def rows(**fields: object) -> dict[str, str]:
        """The text rows for some fields; a name that is not a field is an error."""
        unknown = set(fields) - set(IndexMeta.__dataclass_fields__)
        if unknown:
            raise KeyError(f"not index meta fields: {sorted(unknown)}")
        return {k: v.value if isinstance(v, Enum) else str(v) for k, v in fields.items()}
