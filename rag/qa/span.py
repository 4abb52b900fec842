"""The span scorer: how strongly a fine-tuned MiniLM reads each candidate as the answer.

An extractive reader in the manner of SQuAD models: the question and a passage go
through MiniLM (all-MiniLM-L6-v2's encoder, fine-tuned by ``python -m train.span`` on
the RealTimeQA training weeks of 2022), and a head gives every token a start and an end
score; a span's score is its first token's start plus its last token's end score, and
[CLS]'s pair is the passage's "no answer here". Trained with those "no answer" windows
beside the answering ones, the scores compare across passages.

The reader (:mod:`rag.qa.reader`) takes a candidate's best span score as features
among the others; this module only scores. The model ships as int8 ONNX
(``models/span.onnx``, ~23 MB) with a manifest (``models/span.json``: format, version,
the file's SHA-256); it loads on the first question, and a missing or damaged file is
refused with one line.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from .. import modelfile
from ..modelfile import ModelFileError

if TYPE_CHECKING:
    from ..answer import Pool
    from ..types import Passage

MODEL_DIR = Path(__file__).with_name("models")
MODEL_ENV = "RAG_SPAN_MODEL"  # another folder holding span.onnx and span.json (``train.span --out``)
FORMAT = "rag-span"
VERSION = 1
RETRAIN = "python -m train.span --data ../shared/realtimeqa-train"
MAX_TOKENS = 320  # question and passage; MiniLM's positions go to 512, indexed chunks hold at most 256 word-pieces
MAX_SPAN_TOKENS = 16  # the longest span the best-span search considers


class SpanModelError(ModelFileError):
    """The span scorer's files are missing or damaged."""


@dataclass(frozen=True)
class Read:
    """One passage read against the question: per-token start and end scores."""

    start: np.ndarray
    end: np.ndarray
    offsets: np.ndarray  # (tokens, 2) character range in the passage; (-1, -1) outside it
    null: float  # [CLS]'s score: "no answer in this passage"

    def score(self, a: int, b: int) -> float | None:
        """The score of the characters ``a``..``b`` of the passage as the answer; None
        where they were cut off (past :data:`MAX_TOKENS`)."""
        inside = np.flatnonzero((self.offsets[:, 1] > a) & (self.offsets[:, 0] < b))
        if not len(inside):
            return None
        return float(self.start[inside[0]] + self.end[inside[-1]])

    def best_within(self, a: int, b: int) -> tuple[int, int, float] | None:
        """The best span of the tokens inside characters ``a``..``b`` of the passage, as
        a character range and its score; None where none was read."""
        inside = np.flatnonzero((self.offsets[:, 0] >= a) & (self.offsets[:, 1] <= b) & (self.offsets[:, 1] > 0))
        if not len(inside):
            return None
        (i, j, score), _ = best_spans(self.start, self.end, np.isin(np.arange(len(self.start)), inside))
        return int(self.offsets[i, 0]), int(self.offsets[j, 1]), score


def best_spans(start: np.ndarray, end: np.ndarray, context: np.ndarray) -> tuple[tuple[int, int, float], float]:
    """The best span of context tokens (first, last, score) and the [CLS] score."""
    null = float(start[0] + end[0])
    idx = np.flatnonzero(context)
    best = (0, 0, -np.inf)
    if len(idx):
        s = start[idx][:, None] + end[idx][None, :]
        gap = idx[None, :] - idx[:, None]
        s = np.where((gap >= 0) & (gap < MAX_SPAN_TOKENS), s, -np.inf)
        i, j = np.unravel_index(int(np.argmax(s)), s.shape)
        best = (int(idx[i]), int(idx[j]), float(s[i, j]))
    return best, null


def top_spans(read: Read, n: int) -> list[tuple[int, int, float]]:
    """The ``n`` best spans of a passage that do not overlap, as character ranges of the
    passage with their scores, best first."""
    idx = np.flatnonzero(read.offsets[:, 1] > 0)  # the passage's tokens, in a row
    if not len(idx) or n <= 0:
        return []
    t = len(idx)
    ends = np.arange(t)[:, None] + np.arange(MAX_SPAN_TOKENS)[None, :]  # band: a start and the ends after it
    start, end = read.start[idx], read.end[idx]
    band = np.where(ends < t, start[:, None] + end[np.minimum(ends, t - 1)], -np.inf)
    out: list[tuple[int, int, float]] = []
    used = np.zeros(t, dtype=bool)
    for flat in np.argsort(band, axis=None)[::-1]:
        i, k = divmod(int(flat), MAX_SPAN_TOKENS)
        j = i + k
        if not np.isfinite(band[i, k]):
            break
        if used[i : j + 1].any():
            continue
        used[i : j + 1] = True
        out.append((int(read.offsets[idx[i], 0]), int(read.offsets[idx[j], 1]), float(band[i, k])))
        if len(out) == n:
            break
    return out


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class SpanScorer:
    """The ONNX span model and its tokenizer; :meth:`read` scores passages.

    A lone caller reads a question's passages on every core at once (one-thread runs,
    as :meth:`rag.embed.Embedder.encode_for_ranking` embeds sentences); a server, whose
    concurrent questions keep the cores busy already, turns :attr:`spread` off.
    """

    spread: ClassVar[bool] = True

    def __init__(self, folder: Path = MODEL_DIR) -> None:
        manifest = folder / "span.json"
        graph = folder / "span.onnx"
        where = f"span model {folder}"
        info = modelfile.read_checked(manifest, FORMAT, VERSION, "span model", RETRAIN, SpanModelError)
        if not graph.exists():
            raise SpanModelError(f"{where}: span.onnx is missing; train it with `{RETRAIN}`")
        if file_digest(graph) != info.get("sha256"):
            raise SpanModelError(
                f"{where}: span.onnx is damaged (checksum differs); restore it or retrain with `{RETRAIN}`"
            )
        import onnxruntime as ort
        from tokenizers import Tokenizer

        from ..embed import DEFAULT_MODEL, _model_location

        self.info = info
        self.tokenizer = Tokenizer.from_file(str(Path(_model_location(DEFAULT_MODEL)) / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS, strategy="only_second")
        self.tokenizer.no_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ONNX Runtime raises its own types
            raise SpanModelError(f"{where}: span.onnx cannot be loaded ({str(exc).splitlines()[0][:120]})") from None
        self.inputs = [i.name for i in self.session.get_inputs()]

    def _one(self, question: str, passage: str) -> Read:
        e = self.tokenizer.encode(question, passage)
        feed = {
            "input_ids": np.array([e.ids], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids], dtype=np.int64),
        }
        start, end = self.session.run(None, {k: feed[k] for k in self.inputs})
        seq = e.sequence_ids
        offsets = np.array([o if s == 1 else (-1, -1) for o, s in zip(e.offsets, seq)], dtype=np.int64)
        return Read(start[0].astype(np.float64), end[0].astype(np.float64), offsets, float(start[0, 0] + end[0, 0]))

    def read(self, question: str, passages: Sequence[str]) -> list[Read]:
        """Each passage read against ``question``, one run each (no padding), spread
        over the cores for a lone caller, longest first (so that no core is left with a
        long read at the end while the other waits)."""
        cores = os.cpu_count() or 1
        if self.spread and cores > 1 and len(passages) > 1:
            order = sorted(range(len(passages)), key=lambda i: -len(passages[i]))
            with ThreadPoolExecutor(min(cores, len(passages))) as pool:
                reads = dict(zip(order, pool.map(lambda i: self._one(question, passages[i]), order)))
            return [reads[i] for i in range(len(passages))]
        return [self._one(question, p) for p in passages]


_lock = threading.Lock()
_cached: dict[Path, SpanScorer] = {}


def default_scorer() -> SpanScorer:
    """The shipped span scorer (or the one ``$RAG_SPAN_MODEL`` names), loaded once."""
    folder = Path(os.environ[MODEL_ENV]) if os.environ.get(MODEL_ENV) else MODEL_DIR
    with _lock:
        if folder not in _cached:
            _cached[folder] = SpanScorer(folder)
        return _cached[folder]


def read_passages(question: str, passages: Sequence[Passage], scorer: SpanScorer | None = None) -> dict[int, Read]:
    """Each distinct passage read whole against the question, by identity
    (``id(passage)``). Whole, not in windows of train.span's length: read in sentence
    windows of 110 words, the reader's top-1 on held-out training weeks fell from .2932
    to .2861 (eval/README.md)."""
    scorer = scorer or default_scorer()
    unique = list({id(p): p for p in passages}.values())
    return {id(p): r for p, r in zip(unique, scorer.read(question, [p.text for p in unique]))}


def span_scores(pool: Pool, limit: int, reads: dict[int, Read]) -> dict[str, tuple[float, float]]:
    """For the first ``limit`` candidate keys of ``pool``: the best score of any of its
    mentions as the answer, and that mention's score less its passage's "no answer"
    score (``reads``: :func:`read_passages` of the passages the mentions are in). A key
    whose every mention lies past what the model reads gets the lowest pair the others
    got."""
    keys = pool.ranked[:limit]
    out: dict[str, tuple[float, float]] = {}
    for k in keys:
        best: tuple[float, float] | None = None
        for m in pool.groups[k]:
            r = reads.get(id(m.sentence.passage))
            s = r.score(m.sentence.start + m.candidate.start, m.sentence.start + m.candidate.end) if r else None
            if r is not None and s is not None and (best is None or s > best[0]):
                best = (s, s - r.null)
        if best is not None:
            out[k] = best
    if out:
        floor = (min(v[0] for v in out.values()), min(v[1] for v in out.values()))
        for k in keys:
            out.setdefault(k, floor)
    return out
