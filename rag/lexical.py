"""The lexical half of hybrid retrieval: a BM25 index (bm25s) over the chunks.

Dense vectors miss rare names and numbers that the question spells out ("Damar Hamlin",
"Title 42"); BM25 finds them. The index is stored beside the FAISS file as a folder
``lexical-<gen>/`` holding bm25s's arrays and ``chunk_ids.npy`` (row -> chunk id), and
is rebuilt from the chunks at each ingest (seconds for tens of thousands of chunks).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import IndexError_
from .text import STOPWORDS, stem, words

IDS_FILE = "chunk_ids.npy"


def tokenize(text: str) -> list[str]:
    """Lower-cased, stop words dropped, lightly stemmed: the same for chunks and queries."""
    return [stem(w) for w in words(text.lower()) if w not in STOPWORDS]


@dataclass
class LexicalIndex:
    retriever: object  # bm25s.BM25
    chunk_ids: np.ndarray  # row -> chunk id

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every row for ``query`` (zeros where no query word occurs)."""
        tokens = [t for t in tokenize(query) if t in self.retriever.vocab_dict]
        if not tokens or len(self.chunk_ids) == 0:
            return np.zeros(len(self.chunk_ids), dtype=np.float32)
        return np.asarray(self.retriever.get_scores(tokens), dtype=np.float32)


def build(chunk_ids: np.ndarray, texts: Sequence[str]) -> LexicalIndex:
    import bm25s

    retriever = bm25s.BM25()
    # bm25s cannot index nothing: an index with no chunks keeps one placeholder row that
    # ``scores`` never reports (it answers for ``chunk_ids`` only).
    corpus = [tokenize(t) or ["\u2205"] for t in texts] or [["\u2205"]]
    retriever.index(corpus, show_progress=False)
    return LexicalIndex(retriever, np.asarray(chunk_ids, dtype=np.int64))


def write(index: LexicalIndex, path: Path) -> None:
    """Write into a temporary folder, flush, then rename into place."""
    tmp = path.with_name(path.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    index.retriever.save(str(tmp), show_progress=False)
    np.save(tmp / IDS_FILE, index.chunk_ids)
    for f in tmp.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
    os.replace(tmp, path)


def read(path: Path) -> LexicalIndex:
    import bm25s

    try:
        retriever = bm25s.BM25.load(str(path), mmap=True, show_progress=False)
        ids = np.load(path / IDS_FILE, mmap_mode="r")
    except (OSError, ValueError, KeyError) as exc:
        raise IndexError_(f"{path}: lexical index is damaged or unreadable ({type(exc).__name__})") from None
    return LexicalIndex(retriever, np.asarray(ids))
