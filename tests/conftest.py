from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rag import Index

# ONNX exports go to a folder of this test run, never the user's cache (subprocesses
# inherit it); the folder (~110 MB) goes when the run ends.
os.environ["RAG_CACHE_DIR"] = tempfile.mkdtemp(prefix="rag-test-cache-")
atexit.register(shutil.rmtree, os.environ["RAG_CACHE_DIR"], True)

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SENTENCE_FIELDS = {"text", "doc_id", "date", "event_date", "also_in"}  # a summary sentence in JSON, on every face


@pytest.fixture(scope="session")
def built_index(tmp_path_factory) -> Path:
    """A real index (real model, FAISS, SQLite) over the bundled sample articles, built once."""
    path = tmp_path_factory.mktemp("idx") / "samples"
    with Index.open(path, create=True) as index:
        index.add([SAMPLES])
    return path


@pytest.fixture
def sample_index(built_index: Path, tmp_path: Path) -> Path:
    """A private copy of the sample index that a test may change or damage."""
    copy = tmp_path / "index"
    shutil.copytree(built_index, copy)
    return copy


@contextmanager
def serving_a_copy(built_index: Path, folder: Path, *args: str) -> Iterator:
    """`rag serve` (a real server on a free 127.0.0.1 port) over a copy of the sample
    index, stopped at the end."""
    from eval.serving import start

    copy = folder / "index"
    shutil.copytree(built_index, copy)
    server = start(copy, *args)
    try:
        yield server
    finally:
        server.stop()


ASKED = "Who scored twice in the cup final?"  # a question the sample articles answer


def run_with_env(index: Path, env: dict[str, str], *command: str) -> subprocess.CompletedProcess:
    """``rag COMMAND... --index INDEX`` in a fresh process with ``env`` added (another model file, say)."""
    return subprocess.run(
        [sys.executable, "-m", "rag.cli", *command, "--index", str(index)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, **env},
    )


def ask_with_env(index: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``rag ask`` in a fresh process with ``env`` added."""
    return run_with_env(index, env, "ask", ASKED)


def run_with_truncated_model(index: Path, tmp_path: Path, env_var: str, *command: str) -> subprocess.CompletedProcess:
    """``rag COMMAND... --index INDEX`` in a fresh process with ``env_var`` naming a truncated model file."""
    bad = tmp_path / "model.json"
    bad.write_text("{truncated")
    return run_with_env(index, {env_var: str(bad)}, *command)


def ask_with_truncated_model(index: Path, tmp_path: Path, env_var: str) -> subprocess.CompletedProcess:
    """``rag ask`` in a fresh process with ``env_var`` naming a truncated model file."""
    return run_with_truncated_model(index, tmp_path, env_var, "ask", ASKED)


def snapshot(path: Path) -> dict[str, bytes]:
    """Every file of an index directory, to check that a failed command changed nothing
    (but the writer's lock file, which names the last process to take it)."""
    return {
        str(f.relative_to(path)): f.read_bytes()
        for f in sorted(path.rglob("*"))
        if f.is_file() and f.name != "write.lock"
    }


@contextmanager
def write_lock_held_elsewhere(index: Path) -> Iterator[None]:
    """Another process holding the index's write lock, as a `rag ingest` in progress would."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, pathlib; from rag.lock import WriteLock; WriteLock(pathlib.Path(sys.argv[1])).acquire(); print('held', flush=True); time.sleep(120)",
            str(index),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.kill()
        holder.wait()


def write_damaged_model(good: Path, path: Path, damage: str | dict | tuple) -> None:
    """Write at ``path`` a model file made from the good one at ``good``: ``"missing"``
    writes nothing, another string is the whole text, a dict overrides fields without
    re-signing (a checksum mismatch), and ``("sign", fields)`` overrides and re-signs."""
    from rag.modelfile import digest

    if isinstance(damage, str):
        if damage != "missing":
            path.write_text(damage)
        return
    body = json.loads(good.read_text())
    if isinstance(damage, tuple):
        signed = {k: v for k, v in {**body, **damage[1]}.items() if k != "sha256"}
        path.write_text(json.dumps({**signed, "sha256": digest(signed)}))
    else:
        path.write_text(json.dumps({**body, **damage}))
