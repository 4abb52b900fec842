"""The embedding model as ONNX Runtime graphs: a torch-free query path and a faster ingest.

Why: importing torch and sentence-transformers costs ~4.5 s, which a one-shot `rag ask`
would pay to embed one short question; ONNX Runtime and the `tokenizers` library load
in a fraction of that. The graph is exported once per model, with torch, from the
sentence-transformers pipeline itself (transformer, pooling, normalisation), into a
cache folder; fp32 vectors agree with torch's to ~1e-7, so an index built with one is
searched with the other. An int8 copy (dynamic quantisation, per-channel weights)
embeds about twice as fast at ingest; its vectors move slightly (cosine ~.99 to fp32),
so it is used only when asked for (``--backend onnx-int8``); queries use fp32.

The export traces the model's plain ("eager") attention, whose pattern ONNX Runtime's
transformer optimizer recognises, and fuses each layer's attention, GELU and layer
norms into single operators before quantising: on RealTimeQA chunks int8 embeds 1.5x
as fast as without the fusions and fp32 1.2x (eval/README.md). A fused graph is kept
only if it gives the unfused graph's vectors; a model the optimizer does not know keeps
the plain graph.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import InputError, first_line

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

CACHE_ENV = "RAG_CACHE_DIR"
MANIFEST = "rag-export.json"
EXPORT_VERSION = 2  # 2: attention, GELU and layer norms fused
ONNX_BATCH = (
    4  # measured: small batches run fastest on 2 cores (less padding, warm caches); 4 beat 8 by 4% with the fused graph
)
_FIELDS = {
    "input_ids": "ids",
    "attention_mask": "attention_mask",
    "token_type_ids": "type_ids",
}  # graph input -> tokenizers field


def cache_root() -> Path:
    base = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "rag"
    )
    return Path(base)


def export_folder(model_name: str) -> Path:
    """Where the export of a model lives: a readable slug plus a hash of the full name."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", model_name)[-60:].strip("-")
    digest = hashlib.sha256(model_name.encode()).hexdigest()[:12]
    return cache_root() / "onnx" / f"{slug}-{digest}"


@dataclass(frozen=True)
class Export:
    folder: Path
    inputs: tuple[str, ...]
    max_tokens: int  # word-pieces per text the model reads, [CLS] and [SEP] included
    dimension: int
    pad_id: int
    version: int = EXPORT_VERSION  # an older export still gives the same vectors, only slower

    def graph(self, quantized: bool) -> Path:
        return self.folder / ("model-int8.onnx" if quantized else "model.onnx")


def available() -> bool:
    """Whether ONNX Runtime is installed (it is a dependency, but an optional speed-up)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def find(model_name: str) -> Export | None:
    """The finished export of ``model_name``, if there is one (the manifest is written
    last), of this version or an older one (see :attr:`Export.version`)."""
    manifest = export_folder(model_name) / MANIFEST
    try:
        data = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return None
    version = data.get("version")
    if not isinstance(version, int) or not 1 <= version <= EXPORT_VERSION or data.get("model") != model_name:
        return None
    return Export(
        manifest.parent,
        tuple(data["inputs"]),
        int(data["max_tokens"]),
        int(data["dimension"]),
        int(data["pad_id"]),
        version,
    )


def export(model_name: str, st: SentenceTransformer) -> Export:
    """Export ``st`` (fp32 and int8) into its cache folder, atomically; needs torch and onnx."""
    import torch

    with _quietly():  # ONNX Runtime's quantisation configures the root logger; torch warns
        return _export(model_name, st, torch)


@contextlib.contextmanager
def _quietly() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    root.handlers[:] = [logging.NullHandler()]
    try:
        with warnings.catch_warnings():  # the exporter's notes on its own internals
            warnings.simplefilter("ignore")
            yield
    finally:
        root.handlers[:], root.level = handlers, level


def _config(st: SentenceTransformer) -> object | None:
    """The transformers config of the model's first module, if it has one."""
    return getattr(getattr(st[0], "auto_model", None), "config", None)


@contextlib.contextmanager
def _eager_attention(st: SentenceTransformer) -> Iterator[None]:
    """Trace a transformers model with its plain attention, not the fused SDPA call:
    the optimizer recognises the plain pattern (the maths are the same)."""
    config: Any = _config(st)
    before = getattr(config, "_attn_implementation", None)
    if before is None:
        yield
        return
    config._attn_implementation = "eager"
    try:
        yield
    finally:
        config._attn_implementation = before


FUSED_TOLERANCE = 1e-4  # largest difference from the plain graph's vectors a fused graph may make


def _fuse(plain: Path, out: Path, st: SentenceTransformer, feed: dict[str, np.ndarray]) -> None:
    """Write to ``out`` the graph with ONNX Runtime's transformer fusions, if they apply
    and keep the vectors on ``feed``; else move the plain graph there."""
    import onnxruntime as ort

    config = _config(st)
    heads, hidden = getattr(config, "num_attention_heads", 0), getattr(config, "hidden_size", 0)
    try:
        from onnxruntime.transformers.optimizer import optimize_model  # absent from some builds

        fused = optimize_model(str(plain), model_type="bert", num_heads=heads, hidden_size=hidden, opt_level=1)
        fused.save_model_to_file(str(out))

        def run(path: Path) -> np.ndarray:
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            return session.run(None, feed)[0]

        if float(np.abs(run(out) - run(plain)).max()) <= FUSED_TOLERANCE:
            plain.unlink()
            return
    except Exception:  # the optimizer's own failures on a model it does not know
        pass
    os.replace(plain, out)


def _export(model_name: str, st: SentenceTransformer, torch) -> Export:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    folder = export_folder(model_name)
    tmp = folder.with_name(f"{folder.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir(parents=True)
    try:
        tok = st.tokenizer
        sample = tok(["a first sentence", "and a second, longer sentence"], padding=True, return_tensors="pt")
        inputs = tuple(sample.keys())
        if not set(inputs) <= set(_FIELDS):
            raise InputError(
                f"model {model_name!r} takes inputs {list(inputs)}; the ONNX backend knows {list(_FIELDS)}"
            )

        class Pipeline(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.st = st

            def forward(self, *tensors):  # the positional order of ``inputs``
                return self.st(dict(zip(inputs, tensors)))["sentence_embedding"]

        axes = {name: {0: "batch", 1: "tokens"} for name in inputs}
        with torch.no_grad(), _eager_attention(st):
            torch.onnx.export(
                Pipeline().eval(),
                tuple(sample[n] for n in inputs),
                str(tmp / "plain.onnx"),
                input_names=list(inputs),
                output_names=["embedding"],
                dynamic_axes={**axes, "embedding": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        feed = {n: sample[n].numpy().astype(np.int64) for n in inputs}
        _fuse(tmp / "plain.onnx", tmp / "model.onnx", st, feed)
        # fused operators are outside ONNX's shape inference: their outputs are float
        quantize_dynamic(
            str(tmp / "model.onnx"),
            str(tmp / "model-int8.onnx"),
            weight_type=QuantType.QInt8,
            per_channel=True,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        tok.backend_tokenizer.save(str(tmp / "tokenizer.json"))
        manifest = {
            "version": EXPORT_VERSION,
            "model": model_name,
            "inputs": list(inputs),
            "max_tokens": int(st.max_seq_length or 0),
            "dimension": int(st.get_embedding_dimension() or 0),
            "pad_id": int(tok.pad_token_id or 0),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest))
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    found = find(model_name)
    assert found is not None
    return found


class OnnxModel:
    """Tokenise with `tokenizers`, embed with ONNX Runtime; the same vectors as the
    sentence-transformers pipeline it was exported from.

    A lone caller runs on every core; callers that overlap (a server's concurrent
    queries) each run on one thread of their own instead. Measured here: one text on two
    threads takes about 1.4x less time than on one, but costs 1.4x more CPU. Batching
    concurrent queries together does not pay for this model on a CPU: padding costs
    more than the larger matrices save (see eval/README.md). Pool threads do not spin
    between runs: spinning took CPU from concurrent requests, and from the one-thread
    runs a lone ask spreads over the cores (:meth:`encode`), for no gain of its own.
    The one exception is an int8 model on every core, which only ever embeds articles
    (answers rank sentences on one-thread int8 sessions): between the short runs of an
    ingest its threads spin, 8% faster (eval/README.md).
    """

    def __init__(self, exp: Export, quantized: bool = False, threads: int | None = None) -> None:
        from tokenizers import Tokenizer

        self.export = exp
        self.quantized = quantized
        self.threads = threads or max(1, os.cpu_count() or 1)
        self.spin = quantized and threads is None
        self.counter = Tokenizer.from_file(str(exp.folder / "tokenizer.json"))
        self.counter.no_truncation()
        self.counter.no_padding()
        self.tokenizer = Tokenizer.from_file(str(exp.folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(exp.max_tokens)
        self.tokenizer.enable_padding(pad_id=exp.pad_id)
        self.session = self._session(self.threads)
        self._single: Any = None  # the one-thread session, made when callers first overlap
        self._running = 0
        self._guard = threading.Lock()

    def _session(self, threads: int):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if self.spin and threads > 1 else "0")
        try:
            return ort.InferenceSession(
                str(self.export.graph(self.quantized)), options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # ONNX Runtime raises its own exception types
            raise InputError(
                f"cannot load the ONNX export in {self.export.folder}: {first_line(exc)} (delete the folder to re-export)"
            ) from None

    def _run(self, feed: dict[str, np.ndarray]) -> np.ndarray:
        with self._guard:
            self._running += 1
            overlapping = self._running > 1
        try:
            if not overlapping or self.threads == 1:
                return self.session.run(None, feed)[0]
            if self._single is None:
                with self._guard:
                    if self._single is None:
                        self._single = self._session(1)
            return self._single.run(None, feed)[0]
        finally:
            with self._guard:
                self._running -= 1

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self.counter.encode_batch(list(texts), add_special_tokens=False)]

    def encode(
        self,
        texts: Sequence[str],
        batch_size: int = ONNX_BATCH,
        spread: bool = False,
        on_batch: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        """Unit-length float32 vectors; texts are batched by length to pad little.

        ``spread``: a one-thread session's batches go to as many threads as there are
        cores (a lone ask's 6 answer sentences: ~18 ms on two cores against ~22 on one).
        ``on_batch`` is called with each batch's size once it is embedded (a progress bar).
        """
        out = np.zeros((len(texts), self.export.dimension), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        batches = [order[start : start + batch_size] for start in range(0, len(texts), batch_size)]

        def run(rows: np.ndarray) -> None:
            enc = self.tokenizer.encode_batch([texts[i] for i in rows])
            feed = {
                name: np.array([getattr(e, _FIELDS[name]) for e in enc], dtype=np.int64) for name in self.export.inputs
            }
            out[rows] = self._run(feed)
            if on_batch is not None:
                on_batch(len(rows))

        cores = os.cpu_count() or 1
        if spread and self.threads == 1 and cores > 1 and len(batches) > 1:
            with ThreadPoolExecutor(cores - 1) as pool:  # the caller's thread is the last
                shares = [batches[k::cores] for k in range(cores)]

                def run_all(share: list[np.ndarray]) -> None:
                    for rows in share:
                        run(rows)

                waiting = [pool.submit(run_all, share) for share in shares[1:]]
                for b in shares[0]:
                    run(b)
                for w in waiting:
                    w.result()
        else:
            for rows in batches:
                run(rows)
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out
