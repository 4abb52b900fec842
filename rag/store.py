"""The SQLite half of an index: articles, chunks, dates and the index's own settings.

The schema evolves by numbered migrations recorded in ``PRAGMA user_version``; an
index written by a newer version of rag is refused rather than misread.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import IndexError_, NotFoundError
from .types import ArticleEntry, Chunk, Document, Entity, IndexMeta

MIGRATIONS: list[str] = [
    # 1: the first schema
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE articles (
        id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        title TEXT NOT NULL DEFAULT '',
        date TEXT,
        content_hash TEXT NOT NULL,
        text TEXT NOT NULL
    );
    CREATE TABLE chunks (
        id INTEGER PRIMARY KEY,
        doc_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        date TEXT
    );
    CREATE INDEX chunks_doc ON chunks(doc_id);
    CREATE INDEX chunks_date ON chunks(date);
    CREATE INDEX articles_date ON articles(date);
    """,
    # 2: named entities per article, and which tagger found them (NULL: not tagged yet)
    """
    CREATE TABLE entities (
        doc_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
        start INTEGER NOT NULL,
        end INTEGER NOT NULL,
        label TEXT NOT NULL
    );
    CREATE INDEX entities_doc ON entities(doc_id, start);
    ALTER TABLE articles ADD COLUMN tagger TEXT;
    """,
]
FORMAT_VERSION = len(MIGRATIONS)
# At open, SQLite's quick_check reads every page of databases up to this size (0.43 s
# for the 62 MB RealTimeQA 2023q1 database on this machine, so about 0.1 s at 16 MB):
# damage is found before any command reads or writes past it. Larger ones are checked
# as they are read (a damaged page fails the command in one line).
QUICK_CHECK_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class ChunkRow:
    id: int
    doc_id: str
    start: int
    end: int
    text: str
    date: dt.date | None
    source: str
    title: str


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def connect(path: Path, create: bool, shared: bool = False, check: bool = False) -> sqlite3.Connection:
    """Open (or create) the database and bring its schema up to date.

    The journal is a write-ahead log: readers see the last commit from when their read
    transaction began and never block the one writer, nor does it block them. A
    ``shared`` connection may be used from several threads (for reads only). With
    ``check``, a database of up to ``QUICK_CHECK_BYTES`` is read through first."""
    if not create and not path.exists():
        raise IndexError_(f"{path.parent}: not an index (no {path.name})")
    try:
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=not shared)
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("PRAGMA journal_mode = WAL")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > FORMAT_VERSION:
            raise IndexError_(
                f"{path}: written by a newer rag (format {version}, this one reads up to {FORMAT_VERSION})"
            )
        if version < FORMAT_VERSION:
            if not create and version == 0:
                raise IndexError_(f"{path}: not a rag index database")
            for number in range(version, FORMAT_VERSION):
                conn.executescript(f"BEGIN; {MIGRATIONS[number]}; PRAGMA user_version = {number + 1}; COMMIT;")
        conn.execute("SELECT count(*) FROM meta").fetchone()
        if check and path.exists() and path.stat().st_size <= QUICK_CHECK_BYTES:
            problem = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
            if problem != "ok":
                raise sqlite3.DatabaseError(problem)
    except sqlite3.DatabaseError as exc:
        raise IndexError_(damaged(path, exc)) from None
    return conn


DB_NAME = "rag.sqlite"


def open_store(index: Path, create: bool = False, shared: bool = False) -> Store:
    """The store of the index directory ``index`` (made, with ``create``, if missing),
    its pages checked where that is cheap (see :func:`connect`)."""
    if not index.exists():
        if not create:
            raise IndexError_(f"{index}: no index here (build one with 'rag ingest')")
        index.mkdir(parents=True)
    elif not index.is_dir():
        raise IndexError_(f"{index}: not a directory")
    return Store(connect(index / DB_NAME, create=create, shared=shared, check=True))


def damaged(path: Path, exc: Exception) -> str:
    """The one line for a database found damaged, with what to do about it."""
    return f"{path}: database is damaged ({exc}); restore it from a copy or rebuild the index with `rag ingest` into a new directory"


class Store:
    """Reads and writes of the SQLite database; callers mark the transaction boundaries
    with :meth:`transaction` (or :meth:`begin_read` for a snapshot)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction, taken at once (BEGIN IMMEDIATE, so that two writers never
        both read and then fail to upgrade), committed at the end or rolled back on any
        failure, Ctrl-C included."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def begin_read(self) -> None:
        """Start a read transaction that the next read fixes: until :meth:`close`, this
        store sees the database as of that read, whatever writers commit."""
        self.conn.execute("BEGIN")

    def close(self) -> None:
        self.conn.close()

    def meta(self) -> IndexMeta:
        """What the meta table says now (in this connection's transaction)."""
        return IndexMeta.from_rows(dict(self.conn.execute("SELECT key, value FROM meta")))

    def update_meta(self, **fields: object) -> None:
        """Write these :class:`IndexMeta` fields, leaving the others as they are."""
        self.conn.executemany(
            "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", list(IndexMeta.rows(**fields).items())
        )

    def _where_in(self, sql: str, keys: Sequence) -> Iterable[tuple]:
        """Rows of ``sql`` (whose ``{marks}`` is an IN list) for ``keys``, 500 at a time:
        SQLite caps the number of parameters of one statement."""
        for i in range(0, len(keys), 500):
            part = list(keys[i : i + 500])
            yield from self.conn.execute(sql.format(marks=",".join("?" * len(part))), part)

    def content_hashes(self, ids: Sequence[str]) -> dict[str, str]:
        return dict(self._where_in("SELECT id, content_hash FROM articles WHERE id IN ({marks})", ids))

    def chunk_ids_of(self, doc_ids: Sequence[str]) -> list[int]:
        return [r[0] for r in self._where_in("SELECT id FROM chunks WHERE doc_id IN ({marks})", doc_ids)]

    def delete_articles(self, doc_ids: Sequence[str]) -> None:
        self.conn.executemany("DELETE FROM articles WHERE id = ?", [(d,) for d in doc_ids])

    def next_chunk_id(self) -> int:
        """The id after every chunk's ever stored: ids are not reused once the newest
        articles are removed, so the lexical index's tombstones and new rows never share one."""
        used = int(self.conn.execute("SELECT COALESCE(MAX(id), -1) + 1 FROM chunks").fetchone()[0])
        return max(used, self.meta().next_chunk_id)

    def insert(self, docs: Iterable[tuple[Document, str]], chunks: Sequence[tuple[int, Chunk]]) -> None:
        self.conn.executemany(
            "INSERT INTO articles(id, source, title, date, content_hash, text) VALUES (?, ?, ?, ?, ?, ?)",
            [(d.id, d.source, d.title, d.date.isoformat() if d.date else None, h, d.text) for d, h in docs],
        )
        self.conn.executemany(
            "INSERT INTO chunks(id, doc_id, start, end, date) VALUES (?, ?, ?, ?, ?)",
            [(cid, c.doc_id, c.start, c.end, c.date.isoformat() if c.date else None) for cid, c in chunks],
        )
        if chunks:
            self.update_meta(next_chunk_id=max(self.next_chunk_id(), max(cid for cid, _ in chunks) + 1))

    def chunks(self, ids: Sequence[int]) -> dict[int, ChunkRow]:
        out: dict[int, ChunkRow] = {}
        for i in range(0, len(ids), 500):
            part = [int(x) for x in ids[i : i + 500]]
            marks = ",".join("?" * len(part))
            rows = self.conn.execute(
                "SELECT c.id, c.doc_id, c.start, c.end, substr(a.text, c.start + 1, c.end - c.start), c.date, a.source, a.title "
                f"FROM chunks c JOIN articles a ON a.id = c.doc_id WHERE c.id IN ({marks})",
                part,
            )
            for r in rows:
                out[r[0]] = ChunkRow(r[0], r[1], r[2], r[3], r[4], _date(r[5]), r[6], r[7])
        return out

    def chunk_entities(self, ids: Sequence[int]) -> dict[int, list[Entity]]:
        """The entities inside each chunk of ``ids``, in offsets into the chunk's text, in one
        query per 500 chunks: the ranker reads them for every candidate
        (:func:`rag.rank.rank_features`)."""
        out: dict[int, list[Entity]] = {int(i): [] for i in ids}
        for i in range(0, len(ids), 500):
            part = [int(x) for x in ids[i : i + 500]]
            marks = ",".join("?" * len(part))
            rows = self.conn.execute(
                "SELECT c.id, e.start - c.start, e.end - c.start, e.label FROM chunks c JOIN entities e ON e.doc_id = c.doc_id "
                f"AND e.start >= c.start AND e.start < c.end AND e.end <= c.end WHERE c.id IN ({marks}) "
                "ORDER BY c.id, e.start",
                part,
            )
            for cid, start, end, label in rows:
                out[cid].append(Entity(start, end, label))
        return out

    def chunk_dates(self) -> tuple[np.ndarray, np.ndarray]:
        """Every chunk's id and its date as a proleptic ordinal (0 when undated), ids ascending."""
        rows = self.conn.execute(
            "SELECT id, CAST(julianday(date) - 1721424.5 AS INTEGER) FROM chunks ORDER BY id"
        ).fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        arr = np.array([(i, d if d is not None else 0) for i, d in rows], dtype=np.int64)
        return arr[:, 0].copy(), arr[:, 1].copy()

    def latest_chunk_date(self) -> dt.date | None:
        return _date(self.conn.execute("SELECT max(date) FROM chunks").fetchone()[0])

    def named(self, name: str, by_source: bool = False) -> list[str]:
        """Ids of the articles whose id (or source) is ``name``."""
        column = "source" if by_source else "id"
        return [r[0] for r in self.conn.execute(f"SELECT id FROM articles WHERE {column} = ?", (name,))]

    def article_ids(self, doc_ids: Sequence[str], sources: Sequence[str]) -> list[str]:
        """Ids of the articles named by id or by source; NotFoundError for a name matching none."""
        found: list[str] = []
        for kind, names, by_source in (("article id", doc_ids, False), ("source", sources, True)):
            for name in names:
                rows = self.named(name, by_source)
                if not rows:
                    raise NotFoundError(f"no article with {kind} {name!r} in the index")
                found.extend(rows)
        return list(dict.fromkeys(found))

    def all_chunk_texts(self) -> tuple[np.ndarray, list[str]]:
        """Every chunk's id (ascending) and text: what the lexical index is built from."""
        rows = self.conn.execute(
            "SELECT c.id, substr(a.text, c.start + 1, c.end - c.start) FROM chunks c JOIN articles a ON a.id = c.doc_id ORDER BY c.id"
        ).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64), [r[1] for r in rows]

    def untagged(self, tagger: str) -> list[str]:
        """Ids of articles whose entities were not found by ``tagger`` (not tagged, or by another)."""
        return [r[0] for r in self.conn.execute("SELECT id FROM articles WHERE tagger IS NOT ? ORDER BY id", (tagger,))]

    def texts(self, doc_ids: Sequence[str]) -> dict[str, str]:
        return dict(self._where_in("SELECT id, text FROM articles WHERE id IN ({marks})", doc_ids))

    def set_entities(self, found: dict[str, list[Entity]], tagger: str) -> None:
        """Replace the entities of each article in ``found`` and record the tagger."""
        ids = [(d,) for d in found]
        self.conn.executemany("DELETE FROM entities WHERE doc_id = ?", ids)
        self.conn.executemany(
            "INSERT INTO entities(doc_id, start, end, label) VALUES (?, ?, ?, ?)",
            [(d, e.start, e.end, e.label) for d, ents in found.items() for e in ents],
        )
        self.conn.executemany("UPDATE articles SET tagger = ? WHERE id = ?", [(tagger, d) for d in found])

    def entities_within(self, doc_id: str, start: int, end: int) -> list[Entity]:
        """Entities of an article lying inside [start, end), in article offsets."""
        rows = self.conn.execute(
            "SELECT start, end, label FROM entities WHERE doc_id = ? AND start >= ? AND start < ? AND end <= ? ORDER BY start",
            (doc_id, start, end, end),
        )
        return [Entity(*r) for r in rows]

    def article(self, doc_id: str) -> Document | None:
        row = self.conn.execute("SELECT id, text, date, source, title FROM articles WHERE id = ?", (doc_id,)).fetchone()
        return Document(row[0], row[1], _date(row[2]), row[3], row[4]) if row else None

    def listing(
        self, since: dt.date | None = None, until: dt.date | None = None, source: str | None = None
    ) -> list[ArticleEntry]:
        """The stored articles (id, date, source, title, chunks), oldest first, undated
        last; ``since``/``until`` keep dated ones in the range, ``source`` those whose
        source contains it."""
        where, args = [], []
        if since:
            where.append("a.date >= ?")
            args.append(since.isoformat())
        if until:
            where.append("a.date <= ?")
            args.append(until.isoformat())
        if source:
            where.append("instr(a.source, ?) > 0")
            args.append(source)
        sql = (
            "SELECT a.id, a.date, a.source, a.title, (SELECT count(*) FROM chunks c WHERE c.doc_id = a.id) FROM articles a"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY a.date IS NULL, a.date, a.id"
        )
        return [ArticleEntry(r[0], _date(r[1]), r[2], r[3], int(r[4])) for r in self.conn.execute(sql, args)]

    def counts(self) -> tuple[int, int]:
        articles = self.conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        chunks = self.conn.execute("SELECT count(*) FROM chunks").fetchone()[0]
        return int(articles), int(chunks)
