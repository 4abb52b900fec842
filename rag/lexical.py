"""The lexical half of hybrid retrieval: BM25 over the chunks, in segments.

Dense vectors miss rare names and numbers that the question spells out ("Damar Hamlin",
"Title 42"); BM25 finds them. Scores are Lucene's BM25 as bm25s computes them
(``idf = ln(1 + (N - df + .5) / (df + .5))``, ``tf / (tf + k1 (1 - b + b dl / avgdl))``),
and a test holds them to bm25s itself.

Unlike bm25s, which stores each posting's finished score, a segment stores term
frequencies and chunk lengths, and the corpus-wide figures (N, df, avgdl) are taken at
query time. That lets an index grow without being rebuilt:

- ``main``: the bulk of the chunks, written once and hard-linked into each new
  ``lexical-<gen>/`` folder while it does not change;
- ``delta``: the chunks added since, rebuilt at each commit from the previous delta's
  postings and the new chunks (no text is tokenized twice);
- ``dead``: rows of ``main`` whose chunks were removed (tombstones), scored zero and
  left out of N, df and avgdl.

So a commit costs in proportion to the delta, and scores are exactly those of an index
rebuilt from the live chunks. When the delta or the tombstones pass ``MERGE_FRACTION``
of the chunks, they are folded into a new ``main`` from the postings alone.

Chunk ids ascend across ``main`` then ``delta`` (the store never reuses an id), so the
rows of :attr:`LexicalIndex.chunk_ids` are sorted, as retrieval expects.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import IndexError_
from .lexicon import STOPWORDS
from .text import stem, words

K1, B = 1.5, 0.75
FORMAT = 2  # 1 was bm25s's own folder layout (precomputed scores): read as absent, rebuilt
FORMAT_FILE = "lexical.json"
MERGE_FRACTION = 0.1  # delta rows or tombstones past this share of the chunks are merged into main
BUILD_BATCH = 50_000  # chunks tokenized into one segment at a time by build()
_ARRAYS = ("indptr", "rows", "tf", "lengths", "chunk_ids")


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop words dropped, lightly stemmed: the same for chunks and queries."""
    return [stem(w) for w in words(text.lower()) if w not in STOPWORDS]


class OldFormat(IndexError_):
    """A lexical folder written before segments: the index rebuilds it from the chunks."""


@dataclass
class Segment:
    """Postings of some chunks, by term (compressed sparse columns): the rows holding
    term ``j`` are ``rows[indptr[j]:indptr[j + 1]]`` (ascending), with their counts in ``tf``."""

    terms: list[str]
    indptr: np.ndarray  # int64, len(terms) + 1
    rows: np.ndarray  # int32, row within this segment
    tf: np.ndarray  # uint16, the term's count in that row
    lengths: np.ndarray  # int32, tokens per row (with repeats): BM25's document length
    chunk_ids: np.ndarray  # int64, row -> chunk id, ascending
    origin: Path | None = None  # the folder it was read from or written to, for hard links
    vocab: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.vocab = {t: j for j, t in enumerate(self.terms)}

    @property
    def n(self) -> int:
        return len(self.chunk_ids)

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        j = self.vocab.get(term)
        if j is None:
            return None
        a, b = int(self.indptr[j]), int(self.indptr[j + 1])
        return self.rows[a:b], self.tf[a:b]


def empty_segment() -> Segment:
    return Segment(
        [],
        np.zeros(1, np.int64),
        np.zeros(0, np.int32),
        np.zeros(0, np.uint16),
        np.zeros(0, np.int32),
        np.zeros(0, np.int64),
    )


def segment(chunk_ids: np.ndarray, texts: Sequence[str]) -> Segment:
    """Tokenize ``texts`` (chunk ids ascending) into one segment."""
    vocab: dict[str, int] = {}
    term_of: list[int] = []
    lengths = np.zeros(len(texts), np.int32)
    for i, text in enumerate(texts):
        tokens = tokenize(text)
        lengths[i] = len(tokens)
        term_of.extend(vocab.setdefault(t, len(vocab)) for t in tokens)
    terms = np.asarray(term_of, np.int64)
    row_of = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
    # (term, row) pairs with their counts, sorted by term then row
    keys, tf = np.unique(terms * max(len(texts), 1) + row_of, return_counts=True)
    col, rows = np.divmod(keys, max(len(texts), 1))
    return Segment(
        list(vocab),
        _indptr(col, len(vocab)),
        rows.astype(np.int32),
        tf.astype(np.uint16),
        lengths,
        np.asarray(chunk_ids, np.int64),
    )


def _indptr(col: np.ndarray, n_terms: int) -> np.ndarray:
    """Where each term's postings start, from the term number of each posting (sorted)."""
    indptr = np.zeros(n_terms + 1, np.int64)
    np.cumsum(np.bincount(col, minlength=n_terms), out=indptr[1:])
    return indptr


def _columns(seg: Segment) -> np.ndarray:
    """The term number of each posting."""
    return np.repeat(np.arange(len(seg.terms), dtype=np.int64), np.diff(seg.indptr))


def drop_rows(seg: Segment, rows: np.ndarray) -> Segment:
    """``seg`` without ``rows``; the rows after each gap move up."""
    if len(rows) == 0:
        return seg
    keep_row = np.ones(seg.n, bool)
    keep_row[rows] = False
    renumber = (np.cumsum(keep_row) - 1).astype(np.int32)
    keep = keep_row[seg.rows]
    return Segment(
        seg.terms,
        _indptr(_columns(seg)[keep], len(seg.terms)),
        renumber[seg.rows[keep]],
        seg.tf[keep],
        seg.lengths[keep_row],
        seg.chunk_ids[keep_row],
    )


def concat(segments: Sequence[Segment]) -> Segment:
    """One segment holding the rows of ``segments`` in order, over the union of their terms."""
    segments = [s for s in segments if s.n]
    if not segments:
        return empty_segment()
    if len(segments) == 1:
        return segments[0]
    terms = list(dict.fromkeys(t for s in segments for t in s.terms))
    number = {t: j for j, t in enumerate(terms)}
    cols, rows, tfs, offset = [], [], [], 0
    for s in segments:
        remap = np.fromiter((number[t] for t in s.terms), np.int64, len(s.terms))
        cols.append(remap[_columns(s)])
        rows.append(np.asarray(s.rows, np.int64) + offset)
        tfs.append(s.tf)
        offset += s.n
    col = np.concatenate(cols)
    order = np.argsort(col, kind="stable")  # stable: rows stay ascending within a term
    return Segment(
        terms,
        _indptr(col, len(terms)),
        np.concatenate(rows)[order].astype(np.int32),
        np.concatenate(tfs)[order],
        np.concatenate([s.lengths for s in segments]),
        np.concatenate([s.chunk_ids for s in segments]),
    )


@dataclass(frozen=True)
class Stats:
    """The corpus-wide figures BM25 scores with: N (live chunks), their total length
    and the document frequency of some terms. One index has its own; the shards of a
    sharded index score with the sum of theirs (:func:`combined`), so that a sharded
    index scores every chunk exactly as one index of all of them would."""

    live: int
    length: int
    df: dict[str, int]

    @property
    def avgdl(self) -> float:
        return self.length / self.live if self.live and self.length else 1.0


def combined(parts: Sequence[Stats]) -> Stats:
    """The figures of a corpus made of ``parts`` (disjoint sets of chunks)."""
    df: Counter[str] = Counter()
    for p in parts:
        df.update(p.df)
    return Stats(sum(p.live for p in parts), sum(p.length for p in parts), dict(df))


@dataclass
class LexicalIndex:
    main: Segment
    delta: Segment
    dead: np.ndarray  # sorted rows of ``main`` whose chunks were removed
    chunk_ids: np.ndarray = field(init=False)  # row -> chunk id: main's rows, then delta's
    live: int = field(init=False)  # N: chunks not removed
    length: int = field(init=False)  # tokens in the live chunks
    _norm: tuple[float, np.ndarray, np.ndarray] | None = field(init=False, repr=False)
    _dead_mask: np.ndarray | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.dead = np.asarray(self.dead, np.int64)
        self.chunk_ids = np.concatenate([self.main.chunk_ids, self.delta.chunk_ids])
        self.live = self.main.n + self.delta.n - len(self.dead)
        self.length = (
            int(self.main.lengths.sum(dtype=np.int64))
            - int(self.main.lengths[self.dead].sum(dtype=np.int64))
            + int(self.delta.lengths.sum(dtype=np.int64))
        )
        self._norm = None
        self._dead_mask = None
        if len(self.dead):
            self._dead_mask = np.zeros(self.main.n, bool)
            self._dead_mask[self.dead] = True

    def _norms(self, avgdl: float) -> tuple[np.ndarray, np.ndarray]:
        """The length part of BM25's denominator, per row of main and delta: fixed for a
        given average length, so kept until it changes (the next commit, or another shard's)."""
        if self._norm is None or self._norm[0] != avgdl:

            def norm(s: Segment) -> np.ndarray:
                return np.float32(K1) * (
                    np.float32(1 - B) + np.float32(B) * s.lengths.astype(np.float32) / np.float32(avgdl)
                )

            self._norm = (avgdl, norm(self.main), norm(self.delta))
        return self._norm[1], self._norm[2]

    def stats(self, terms: Sequence[str]) -> Stats:
        """This index's figures for ``terms`` (tokenized, see :func:`tokenize`): removed chunks left out."""
        df: dict[str, int] = {}
        for term in dict.fromkeys(terms):
            n = 0
            for seg, dead in ((self.main, self._dead_mask), (self.delta, None)):
                hit = seg.postings(term)
                if hit is not None and len(hit[0]):
                    n += len(hit[0]) - (int(np.count_nonzero(dead[hit[0]])) if dead is not None else 0)
            df[term] = n
        return Stats(self.live, self.length, df)

    def vocabulary(self) -> Stats:
        """This index's figures for every term it holds (removed chunks left out): what a
        reader of shards on other machines keeps, once per commit it reads, to score any
        query with corpus-wide figures without first asking every shard for its terms'."""
        df: Counter[str] = Counter()
        for seg, dead in ((self.main, self._dead_mask), (self.delta, None)):
            counts = np.diff(seg.indptr)
            if dead is not None:
                counts = counts - np.bincount(_columns(seg)[dead[seg.rows]], minlength=len(seg.terms))
            df.update({t: n for t, n in zip(seg.terms, counts.tolist()) if n})
        return Stats(self.live, self.length, dict(df))

    def scores(self, query: str, stats: Stats | None = None) -> np.ndarray:
        """BM25 score of every row for ``query`` (zeros where no query word occurs, and
        for removed chunks). A word the query repeats counts as often as it occurs.
        ``stats``: the corpus-wide figures when this index is one shard of several."""
        out = np.zeros(len(self.chunk_ids), np.float32)
        counts = Counter(tokenize(query))
        if stats is None:
            stats = self.stats(list(counts))
        if not self.live or not stats.live:
            return out
        norms = self._norms(stats.avgdl)
        parts = ((self.main, 0, norms[0]), (self.delta, self.main.n, norms[1]))
        for term, times in counts.items():
            df = stats.df.get(term, 0)
            if not df:
                continue
            idf = np.float32(np.log(1 + (stats.live - df + 0.5) / (df + 0.5)) * times)
            for seg, offset, norm in parts:
                hit = seg.postings(term)
                if hit is None or len(hit[0]) == 0:
                    continue
                rows, tf = hit
                tf = tf.astype(np.float32)
                # take and add.at: twice as fast as fancy indexing at a million chunks
                np.add.at(out, rows + offset if offset else rows, idf * tf / (tf + np.take(norm, rows)))
        if len(self.dead):
            out[self.dead] = 0.0
        return out


SAMPLE_FROM = 100_000  # rows from which top_rows takes a floor from a sample first
SAMPLE_STRIDE = 16


def top_rows(scores: np.ndarray, n: int, allowed: np.ndarray | None = None) -> np.ndarray:
    """Indices of the ``n`` largest positive scores (of ``allowed`` rows only), best first.

    Common words give a third of a million chunks some BM25 score at a million chunks,
    and partitioning them all took ~4 ms of an ask. So a floor comes first from every
    16th row: the n-th best of a subset is no better than the n-th best of all, so no row
    of the true top n is below it, and ~16n rows are left to partition. Equal scores go to
    the lower row (the lower chunk id), so the shards of an index merge to the same rows.
    """
    floor = 0.0
    if len(scores) >= SAMPLE_FROM:
        sample = scores[::SAMPLE_STRIDE] if allowed is None else scores[::SAMPLE_STRIDE][allowed[::SAMPLE_STRIDE]]
        sample = sample[sample > 0]
        if len(sample) >= n:
            floor = float(np.partition(sample, len(sample) - n)[len(sample) - n])
    keep = scores >= floor if floor > 0 else scores > 0
    positive = np.flatnonzero(keep if allowed is None else keep & allowed)  # ascending
    if len(positive) > n:
        found = scores[positive]
        nth = np.partition(found, len(found) - n)[len(found) - n]
        above = positive[found > nth]
        positive = np.concatenate([above, positive[found == nth][: n - len(above)]])  # ties: the lowest rows
    return positive[np.lexsort((positive, -scores[positive]))]


@dataclass(frozen=True)
class RowHits:
    """A query's BM25 scores over one lexical index's rows; ``allowed``: a mask over its rows, or None."""

    scores: np.ndarray
    chunk_ids: np.ndarray  # ascending
    allowed: np.ndarray | None = None

    def top(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Chunk ids and scores of the ``n`` best-scoring chunks allowed, best first."""
        rows = top_rows(self.scores, n, self.allowed)
        return self.chunk_ids[rows], self.scores[rows]

    def at(self, ids: np.ndarray) -> np.ndarray:
        """The scores of chunks ``ids`` (ascending; zero for a chunk not held)."""
        if len(self.chunk_ids) == 0 or len(ids) == 0:
            return np.zeros(len(ids), np.float32)
        pos = np.minimum(np.searchsorted(self.chunk_ids, ids), len(self.chunk_ids) - 1)
        return np.where(self.chunk_ids[pos] == ids, self.scores[pos], np.float32(0.0))


def build(chunk_ids: np.ndarray, texts: Sequence[str]) -> LexicalIndex:
    """An index of all ``texts`` (chunk ids ascending), tokenized a batch at a time."""
    ids = np.asarray(chunk_ids, np.int64)
    parts = [segment(ids[i : i + BUILD_BATCH], texts[i : i + BUILD_BATCH]) for i in range(0, len(texts), BUILD_BATCH)]
    return LexicalIndex(concat(parts), empty_segment(), np.zeros(0, np.int64))


def can_update(index: LexicalIndex, added_ids: np.ndarray) -> bool:
    """Whether chunks ``added_ids`` can go into the delta: their ids follow every row's."""
    return len(added_ids) == 0 or len(index.chunk_ids) == 0 or int(np.min(added_ids)) > int(index.chunk_ids[-1])


def update(
    index: LexicalIndex, removed_ids: np.ndarray, added_ids: np.ndarray, added_texts: Sequence[str]
) -> LexicalIndex:
    """``index`` without chunks ``removed_ids`` and with ``added_ids`` (see :func:`can_update`):
    tombstones in main, a new delta, and a merge once either passes ``MERGE_FRACTION``."""
    if not can_update(index, added_ids):
        raise ValueError("added chunk ids must follow the index's")
    removed = np.asarray(removed_ids, np.int64)
    in_main = _rows_of(index.main.chunk_ids, removed)
    in_delta = _rows_of(index.delta.chunk_ids, removed)
    dead = np.union1d(index.dead, in_main)
    delta = concat([drop_rows(index.delta, in_delta), segment(np.asarray(added_ids, np.int64), added_texts)])
    updated = LexicalIndex(index.main, delta, dead)
    if delta.n > MERGE_FRACTION * max(updated.live, 1) or len(dead) > MERGE_FRACTION * max(index.main.n, 1):
        return merged(updated)
    return updated


def merged(index: LexicalIndex) -> LexicalIndex:
    """The same chunks as one main segment, without tombstones."""
    return LexicalIndex(
        concat([drop_rows(index.main, index.dead), index.delta]), empty_segment(), np.zeros(0, np.int64)
    )


def _rows_of(chunk_ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Rows of ``chunk_ids`` (ascending) that hold one of ``wanted``."""
    if len(wanted) == 0 or len(chunk_ids) == 0:
        return np.zeros(0, np.int64)
    pos = np.minimum(np.searchsorted(chunk_ids, wanted), len(chunk_ids) - 1)
    return np.unique(pos[chunk_ids[pos] == wanted])


def _write_segment(seg: Segment, folder: Path) -> None:
    folder.mkdir()
    if seg.origin is not None and (seg.origin / "terms.json").exists():
        for name in ("terms.json", *(f"{a}.npy" for a in _ARRAYS)):
            try:
                os.link(seg.origin / name, folder / name)  # an unchanged main costs nothing to keep
            except OSError:
                shutil.copyfile(seg.origin / name, folder / name)
        return
    (folder / "terms.json").write_text(json.dumps(seg.terms, ensure_ascii=False))
    for name in _ARRAYS:
        np.save(folder / f"{name}.npy", getattr(seg, name))


def write(index: LexicalIndex, path: Path) -> None:
    """Write into a temporary folder, flush, then rename into place."""
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    _write_segment(index.main, tmp / "main")
    _write_segment(index.delta, tmp / "delta")
    np.save(tmp / "dead.npy", index.dead)
    (tmp / FORMAT_FILE).write_text(json.dumps({"format": FORMAT, "k1": K1, "b": B}))
    for f in tmp.rglob("*"):
        if f.is_file():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
    os.replace(tmp, path)
    index.main.origin, index.delta.origin = path / "main", path / "delta"


def _read_segment(folder: Path) -> Segment:
    terms = json.loads((folder / "terms.json").read_text())
    arrays = {name: np.load(folder / f"{name}.npy", mmap_mode="r") for name in _ARRAYS}
    return Segment(terms, origin=folder, **arrays)


def read(path: Path) -> LexicalIndex:
    try:
        if not (path / FORMAT_FILE).exists() and (path / "params.index.json").exists():
            raise OldFormat(f"{path}: lexical index of an older format")
        stored = json.loads((path / FORMAT_FILE).read_text())
        if stored.get("format") != FORMAT:
            raise IndexError_(
                f"{path}: lexical index format {stored.get('format')!r} is not one this rag reads ({FORMAT})"
            )
        index = LexicalIndex(_read_segment(path / "main"), _read_segment(path / "delta"), np.load(path / "dead.npy"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise IndexError_(f"{path}: lexical index is damaged or unreadable ({type(exc).__name__})") from None
    if len(index.main.indptr) != len(index.main.terms) + 1 or len(index.delta.indptr) != len(index.delta.terms) + 1:
        raise IndexError_(f"{path}: lexical index is damaged or unreadable (terms and postings disagree)")
    return index
