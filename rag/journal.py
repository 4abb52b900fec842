"""The record of a sharded write kept while its shards commit, to finish it after a crash.

A write to a sharded index (a checkpoint of an ingest, a removal) is staged in every
shard it touches, then the shards commit one after another (:mod:`rag.shards`). SQLite
commits one database at a time, so a crash between two of those commits would leave the
write half stored. So before the first commit the write's parts are saved here
(``DIR/journal/``: per shard, the articles, chunks, entities, chunk ids and vectors it
stores and the articles it removes), and each shard's transaction carries the
journal's id into its meta (``write_id``). Once every shard has committed the journal is
deleted. Opening the index (any command) or starting a write there finds a journal
still there only when a crash came between; it first applies the parts whose shard
does not carry its id: the write ends wholly stored, as
if nothing had interrupted it. This is redo logging, as a database finishes a
committed transaction after a crash; the journal is the commit point.

Saved as JSON (articles, chunks, entities) and ``.npy`` arrays (ids, vectors), read
without pickle, written under a temporary name, synced and renamed into place, so a
journal is either whole or absent.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import IndexError_
from .ingest import StoreChange
from .types import Chunk, Document, Entity, IndexType

JOURNAL = "journal"
FORMAT = 1


@dataclass(frozen=True)
class Part:
    """One shard's part of a write: the change it commits, under the chunk ids given,
    and how its vectors change (``kind``, with the journal's template; the change's own
    ``update_vectors`` is not saved)."""

    shard: int
    change: StoreChange
    kind: IndexType | None  # the whole index's vector type for an ingest; None: the shard's own way (a removal)


@dataclass(frozen=True)
class Journal:
    """A write between its shards' commits: its id (each committed shard's ``write_id``),
    its parts, and whether the shards' vectors went into a newly trained IVF (saved
    beside the journal until every shard has it, see :mod:`rag.shards`)."""

    id: str
    parts: Sequence[Part]
    new_template: bool = False


def new_id() -> str:
    return uuid.uuid4().hex[:16]


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def _part_json(p: Part) -> dict:
    c = p.change
    return {
        "shard": p.shard,
        "kind": None if p.kind is None else p.kind.value,
        "docs": [
            {"id": d.id, "text": d.text, "date": d.date and d.date.isoformat(), "source": d.source, "title": d.title}
            for d in c.docs
        ],
        "hashes": c.hashes,
        "replaced": list(c.replaced),
        "chunks": [[k.doc_id, k.start, k.end, k.text, k.date and k.date.isoformat()] for k in c.chunks],
        "found": {k: [[e.start, e.end, e.label] for e in v] for k, v in c.found.items()},
    }


def _part(raw: dict, ids: np.ndarray, embeddings: np.ndarray) -> Part:
    change = StoreChange(
        docs=[Document(d["id"], d["text"], _date(d["date"]), d["source"], d["title"]) for d in raw["docs"]],
        hashes={str(k): str(v) for k, v in raw["hashes"].items()},
        replaced=[str(r) for r in raw["replaced"]],
        chunks=[Chunk(c[0], int(c[1]), int(c[2]), c[3], _date(c[4])) for c in raw["chunks"]],
        embeddings=embeddings,
        found={k: [Entity(int(s), int(e), str(lab)) for s, e, lab in v] for k, v in raw["found"].items()},
        ids=ids,
    )
    return Part(int(raw["shard"]), change, None if raw["kind"] is None else IndexType(raw["kind"]))


def _synced(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write(root: Path, journal: Journal) -> None:
    """Save ``journal`` in the sharded index at ``root``, whole and on disk before this
    returns (the shards may commit after that)."""
    tmp = root / (JOURNAL + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    for i, p in enumerate(journal.parts):
        ids = np.zeros(0, np.int64) if p.change.ids is None else np.asarray(p.change.ids, np.int64)
        for name, array in (("ids", ids), ("vectors", np.asarray(p.change.embeddings, np.float32))):
            with open(tmp / f"{name}-{i:03d}.npy", "wb") as fh:
                np.save(fh, array, allow_pickle=False)
                fh.flush()
                os.fsync(fh.fileno())
    record = {
        "format": FORMAT,
        "id": journal.id,
        "new_template": journal.new_template,
        "parts": [_part_json(p) for p in journal.parts],
    }
    with open(tmp / "journal.json", "w", encoding="utf-8") as fh:
        json.dump(record, fh)
        fh.flush()
        os.fsync(fh.fileno())
    _synced(tmp)
    os.replace(tmp, root / JOURNAL)
    _synced(root)


def read(root: Path) -> Journal | None:
    """The journal a write left in ``root`` (None where there is none: the last write
    finished). IndexError_ for one that cannot be read."""
    folder = root / JOURNAL
    if not folder.is_dir():
        return None
    try:
        raw = json.loads((folder / "journal.json").read_text(encoding="utf-8"))
        if raw.get("format") != FORMAT:
            raise ValueError(f"format {raw.get('format')!r}, this rag reads {FORMAT}")
        parts = [
            _part(
                p,
                np.load(folder / f"ids-{i:03d}.npy", allow_pickle=False),
                np.load(folder / f"vectors-{i:03d}.npy", allow_pickle=False),
            )
            for i, p in enumerate(raw["parts"])
        ]
        return Journal(str(raw["id"]), parts, bool(raw["new_template"]))
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise IndexError_(
            f"{folder}: the record of an unfinished write cannot be read ({exc}); some shards may lack that write:"
            " delete that folder, then repeat the last ingest or removal"
        ) from None


def clear(root: Path) -> None:
    """Delete the journal: every shard has committed its part."""
    shutil.rmtree(root / JOURNAL, ignore_errors=True)
    shutil.rmtree(root / (JOURNAL + ".tmp"), ignore_errors=True)
