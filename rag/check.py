"""``rag check``: is an index whole, and what can be rebuilt when it is not.

An index directory holds one source of truth, the SQLite database (articles, chunks,
entities, meta), and two files derived from it: the FAISS vectors (the chunks embedded)
and the BM25 index (the chunks' words). A damaged derived file is rebuilt from the
database (:func:`repair`: the vectors by embedding every chunk again, the BM25 index by
counting words); a damaged database cannot be rebuilt from them, and the check says what
SQLite found so the user can restore a copy or ingest the articles again.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import lexical, vectors
from .errors import IndexError_, RagError
from .index import Index
from .store import DB_NAME, Store, connect

PROBLEMS_LISTED = 20  # lines of PRAGMA integrity_check shown; past this it is beyond repair anyway


@dataclass
class CheckReport:
    """What was checked in an index and what was found; ``ok`` when nothing was."""

    path: str
    articles: int | None = None
    chunks: int | None = None
    database: list[str] = field(default_factory=list)  # SQLite's integrity_check findings
    vectors: list[str] = field(default_factory=list)
    lexical: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.database or self.vectors or self.lexical)

    @property
    def repairable(self) -> bool:
        """Only derived files are damaged: the database can rebuild them."""
        return not self.database and bool(self.vectors or self.lexical)

    def problems(self) -> list[str]:
        return [
            *(f"database: {p}" for p in self.database),
            *(f"vectors: {p}" for p in self.vectors),
            *(f"lexical: {p}" for p in self.lexical),
        ]

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "ok": self.ok,
            "articles": self.articles,
            "chunks": self.chunks,
            "problems": self.problems(),
            "repaired": self.repaired,
        }


def check(path: str | Path) -> CheckReport:
    """Read the whole database (SQLite's integrity_check), then the vector and BM25 files
    it names, and compare their sizes and ids with the stored chunks."""
    path = Path(path)
    report = CheckReport(str(path))
    if not (path / DB_NAME).exists():
        raise IndexError_(f"{path}: no index here (build one with 'rag ingest')")
    try:
        conn = connect(path / DB_NAME, create=False)
    except IndexError_ as exc:
        report.database.append(str(exc))
        return report
    try:
        found = [row[0] for row in conn.execute(f"PRAGMA integrity_check({PROBLEMS_LISTED})")]
        if found != ["ok"]:
            report.database.extend(found)
            return report
        store = Store(conn)
        report.articles, report.chunks = store.counts()
        meta = store.meta()
        ids = store.chunk_dates()[0]
    except sqlite3.DatabaseError as exc:
        report.database.append(str(exc))
        return report
    finally:
        conn.close()
    _check_vectors(path, meta.faiss_file, ids, report)
    _check_lexical(path, meta.lexical_dir, ids, report)
    return report


def _check_vectors(path: Path, name: str | None, ids, report: CheckReport) -> None:
    if name is None:
        if len(ids):
            report.vectors.append(f"no vector file recorded for {len(ids)} chunks")
        return
    try:
        index = vectors.read_index(path / name, mmap=True)  # a flat file's vectors are never read
    except RagError as exc:
        report.vectors.append(str(exc))
        return
    have = vectors.stored_ids(index)
    if len(have) != len(ids) or set(have.tolist()) != set(ids.tolist()):
        report.vectors.append(f"{path / name}: {len(have)} vectors for {len(ids)} chunks, or of other chunks")


def _check_lexical(path: Path, name: str | None, ids, report: CheckReport) -> None:
    if name is None:
        return  # built on first use
    try:
        index = lexical.read(path / name)
    except lexical.OldFormat:
        return  # rebuilt on first use
    except RagError as exc:
        report.lexical.append(str(exc))
        return
    live = np.delete(index.chunk_ids, index.dead)
    if len(live) != len(ids) or set(live.tolist()) != set(ids.tolist()):
        report.lexical.append(f"{path / name}: {len(live)} rows for {len(ids)} chunks, or of other chunks")


def repair(path: str | Path, progress: bool = False) -> CheckReport:
    """Check the index, rebuild the derived files found damaged, and check again. Raises
    IndexError_ when the database itself is damaged: nothing here can rebuild it."""
    report = check(path)
    if report.database:
        raise IndexError_(
            f"{path}: the database is damaged ({report.database[0]}); it cannot be rebuilt from the other files: restore it from a copy or ingest the articles again into a new directory"
        )
    if report.ok:
        return report
    with Index.open(path, skip_vectors=bool(report.vectors)) as index:
        if report.vectors:
            index.reembed(progress)
            report.repaired.append("vectors")
        if report.lexical:
            index.rebuild_lexical()
            report.repaired.append("lexical")
    after = check(path)
    after.repaired = report.repaired
    return after
