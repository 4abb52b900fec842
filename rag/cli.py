"""The ``rag`` command: a thin layer over :mod:`rag` that formats results.

Every command takes ``--index DIR`` and ``--json``. Problems with input or with the
index print one line on stderr and exit with status 1 (2 for usage errors).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3
import sys
import textwrap
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from . import __version__
from .embed import Backend
from .errors import InputError, RagError
from .index import DEFAULT_INDEX, Index
from .load import load_paths, parse_date
from .retrieve import DEFAULT_MODE, Mode
from .types import Passage
from .vectors import IndexType

EXCERPT_CHARS = 400  # of each passage printed to a terminal; --json gives it whole

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Dated, cited answers and summaries over news articles.")

IndexOpt = Annotated[Path, typer.Option("--index", "-i", help="Index directory.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
ModelOpt = Annotated[Optional[str], typer.Option("--model", help="sentence-transformers model name or local path.")]
SinceOpt = Annotated[Optional[str], typer.Option("--since", help="Only articles dated on or after YYYY-MM-DD.")]
UntilOpt = Annotated[Optional[str], typer.Option("--until", help="Only articles dated on or before YYYY-MM-DD.")]
KOpt = Annotated[int, typer.Option("-k", "--top-k", help="Passages to return.")]
AsOfOpt = Annotated[Optional[str], typer.Option("--as-of", help="Ask as of YYYY-MM-DD (default today): later articles are left out, recent ones preferred.")]
ModeOpt = Annotated[Mode, typer.Option("--mode", help="Retrieval: dense vectors, lexical BM25, or a hybrid of both.")]


def _run(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except RagError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except sqlite3.DatabaseError as exc:  # a page damaged past what the check at open reads
        typer.echo(f"error: index database is damaged ({exc}); restore it from a copy or rebuild the index with `rag ingest` into a new directory", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("interrupted; the index is as it was before this command", err=True)
        raise typer.Exit(130) from None


def _date(value: str | None, flag: str) -> dt.date | None:
    return parse_date(value, flag) if value else None


def _emit(obj: dict) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2))


def _print_passages(passages: list[Passage]) -> None:
    for n, p in enumerate(passages, 1):
        date = p.date.isoformat() if p.date else "undated"
        typer.echo(f"{n:>2}. [{p.score:.3f}] {p.doc_id} ({date}) {p.source}")
        typer.echo(textwrap.indent(textwrap.fill(_excerpt(p), 88), "    "))


def _excerpt(p: Passage, size: int = EXCERPT_CHARS) -> str:
    """At most ``size`` characters of a passage, from the start of the text that matched
    (a window's first sentences are only its context), with "…" where it is cut."""
    if len(p.text) <= size:
        return p.text
    start = min(max(0, p.match_span[0] - p.start), len(p.text) - size)
    cut = p.text[start : start + size]
    return ("…" if start > 0 else "") + cut + ("…" if start + size < len(p.text) else "")


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files (.txt, .md, .jsonl) or folders.")],
    index: IndexOpt = DEFAULT_INDEX,
    model: ModelOpt = None,
    index_type: Annotated[
        Optional[IndexType],
        typer.Option("--index-type", help="Vector index to keep: auto (flat below 200k chunks, then ivf-sq8), flat, ivf-sq8 or hnsw; remembered."),
    ] = None,
    backend: Annotated[
        Backend,
        typer.Option("--backend", help="Embedding: auto (ONNX Runtime fp32 when installed, else torch), torch, onnx, or onnx-int8 (about 2x faster, vectors move slightly)."),
    ] = Backend.AUTO,
    as_json: JsonOpt = False,
) -> None:
    """Add articles to the index (created if missing); unchanged articles are skipped."""

    def work() -> None:
        loaded = load_paths(list(paths))  # validate everything before touching the index
        for w in loaded.warnings:
            typer.echo(f"warning: {w}", err=True)
        created = not index.exists()
        try:
            with Index.open(index, model=model, create=True, backend=backend) as idx:
                if index_type is not None:
                    idx.set_index_type(index_type)
                report = idx.add_documents(loaded.documents, progress=sys.stderr.isatty(), warnings=loaded.warnings)
                info = idx.info()
        except BaseException:
            if created:  # a first ingest that failed (say, a model that will not load) leaves no husk
                shutil.rmtree(index, ignore_errors=True)
            raise
        if as_json:
            _emit({**report.to_json(), "index": info.to_json()})
        else:
            typer.echo(
                f"{report.added} added, {report.replaced} replaced, {report.skipped} unchanged "
                f"({report.chunks} chunks embedded); {info.path} holds {info.articles} articles, {info.chunks} chunks"
            )

    _run(work)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="A question in plain words.")],
    index: IndexOpt = DEFAULT_INDEX,
    k: KOpt = 5,
    since: SinceOpt = None,
    until: UntilOpt = None,
    as_of: AsOfOpt = None,
    mode: ModeOpt = DEFAULT_MODE,
    model: ModelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer a question with a short span, its date, and the passages it came from."""

    def work() -> None:
        with Index.open(index, model=model) as idx:
            ans = idx.ask(question, k=k, since=_date(since, "--since"), until=_date(until, "--until"), mode=mode, as_of=_date(as_of, "--as-of"))
        if as_json:
            _emit(ans.to_json())
            return
        if ans.text is None:
            typer.echo("No answer in the index." + (f"   (best candidate's chance of being right: {ans.confidence:.2f})" if ans.confidence else ""))
        else:
            typer.echo(f"Answer: {ans.display}   (confidence {ans.confidence:.2f})")
            typer.echo(f"From {ans.doc_id}: {ans.sentence}")
        typer.echo("\nPassages:")
        _print_passages(ans.passages)

    _run(work)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    index: IndexOpt = DEFAULT_INDEX,
    k: KOpt = 5,
    since: SinceOpt = None,
    until: UntilOpt = None,
    as_of: AsOfOpt = None,
    mode: ModeOpt = DEFAULT_MODE,
    model: ModelOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The passages most similar to a query, best first."""

    def work() -> None:
        with Index.open(index, model=model) as idx:
            passages = idx.search(query, k=k, since=_date(since, "--since"), until=_date(until, "--until"), mode=mode, as_of=_date(as_of, "--as-of"))
        if as_json:
            _emit({"query": query, "passages": [p.to_json() for p in passages]})
        elif not passages:
            typer.echo("No passages.")
        else:
            _print_passages(passages)

    _run(work)


@app.command()
def summarize(
    query: Annotated[str, typer.Argument(help="The topic to summarise.")],
    index: IndexOpt = DEFAULT_INDEX,
    max_sentences: Annotated[int, typer.Option("--max-sentences", "-n", help="At most this many sentences.")] = 5,
    since: SinceOpt = None,
    until: UntilOpt = None,
    as_of: AsOfOpt = None,
    mode: ModeOpt = DEFAULT_MODE,
    model: ModelOpt = None,
    timeline: Annotated[bool, typer.Option("--timeline", help="Group the sentences by the day of what they report.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """A query-focused summary: sentences from several articles, no repeats, in date order."""

    def work() -> None:
        with Index.open(index, model=model) as idx:
            summary = idx.summarize(query, max_sentences, since=_date(since, "--since"), until=_date(until, "--until"), mode=mode, as_of=_date(as_of, "--as-of"), timeline=timeline)
        if as_json:
            _emit(summary.to_json())
            return
        if not summary.sentences:
            typer.echo("Nothing in the index on this topic.")
        heading = None
        for s in summary.sentences:
            if timeline and s.event_date != heading:
                heading = s.event_date
                typer.echo(heading.isoformat() if heading else "undated")
            date = s.date.isoformat() if s.date else "undated"
            also = f"; also in {', '.join(s.also_in)}" if s.also_in else ""
            typer.echo(f"{'  ' if timeline else ''}- {s.text} [{s.doc_id}, {date}{also}]")

    _run(work)


@app.command()
def remove(
    doc_ids: Annotated[Optional[list[str]], typer.Argument(help="Article ids to remove.")] = None,
    source: Annotated[Optional[list[str]], typer.Option("--source", help="Remove every article from this source (path or URL); repeatable.")] = None,
    index: IndexOpt = DEFAULT_INDEX,
    as_json: JsonOpt = False,
) -> None:
    """Remove articles, their chunks and vectors from the index."""

    def work() -> None:
        if not doc_ids and not source:
            raise InputError("name at least one article id or --source")
        with Index.open(index) as idx:
            removed = idx.remove(doc_ids or [], source or [])
            data = idx.info()
        if as_json:
            _emit({"removed": removed, "index": data.to_json()})
        else:
            typer.echo(f"{len(removed)} removed; {data.path} holds {data.articles} articles, {data.chunks} chunks")

    _run(work)


@app.command()
def info(index: IndexOpt = DEFAULT_INDEX, as_json: JsonOpt = False) -> None:
    """Counts, model and size of an index."""

    def work() -> None:
        with Index.open(index) as idx:
            data = idx.info()
        if as_json:
            _emit(data.to_json())
            return
        for key, value in data.to_json().items():
            typer.echo(f"{key:>15}: {value}")

    _run(work)


@app.command()
def serve(
    index: IndexOpt = DEFAULT_INDEX,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    token: Annotated[Optional[str], typer.Option("--token", envvar="RAG_TOKEN", help="Require 'Authorization: Bearer TOKEN' on every request.")] = None,
    allow_no_token: Annotated[bool, typer.Option("--allow-no-token", help="Serve a non-loopback address without a token.")] = False,
    max_body: Annotated[int, typer.Option("--max-body", help="Largest request body accepted, in bytes.")] = 8 * 1024 * 1024,
    log_requests: Annotated[bool, typer.Option("--log-requests", help="Log every request on stderr.")] = False,
    model: ModelOpt = None,
    backend: Annotated[Backend, typer.Option("--backend", help="Embedding of posted articles (see 'rag ingest --backend').")] = Backend.AUTO,
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help="Server processes, each with the model loaded (default: 2 on 2 or more cores, else 1).")] = None,
    lock_wait: Annotated[Optional[float], typer.Option("--lock-wait", min=0.0, help="Seconds a write waits for another worker's or process's write before a 409 (default: 30).")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Serve the index as a JSON HTTP API (OpenAPI at /docs and /openapi.json); creates it if missing."""

    def work() -> None:
        from .server import ServeOptions, check_exposure, default_workers, run

        check_exposure(host, token, allow_no_token)
        options = ServeOptions(index, host, port, token, max_body, log_requests, model, backend, workers or default_workers())
        if lock_wait is not None:
            options = replace(options, lock_wait=lock_wait)
        run(options, announce=_announce)

    def _announce(url: str, info) -> None:
        if as_json:
            typer.echo(json.dumps({"url": url, "index": info.to_json()}, ensure_ascii=False))
        else:
            typer.echo(f"serving {info.path} ({info.articles} articles, {info.chunks} chunks) on {url}", err=True)

    _run(work)


@app.command("list")
def list_articles(
    index: IndexOpt = DEFAULT_INDEX,
    since: SinceOpt = None,
    until: UntilOpt = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Only articles whose source contains this.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """What is indexed: id, date, source, title and chunks of each article, oldest first."""

    def work() -> None:
        lo, hi = _date(since, "--since"), _date(until, "--until")
        if lo and hi and lo > hi:
            raise InputError(f"--since {lo} is after --until {hi}")
        with Index.open(index) as idx:
            entries = idx.articles(lo, hi, source)
        if as_json:
            _emit({"articles": [e.to_json() for e in entries]})
            return
        for e in entries:
            typer.echo(f"{e.id}\t{e.date.isoformat() if e.date else 'undated'}\t{e.source}\t{e.title}")
        typer.echo(f"{len(entries)} article{'s' if len(entries) != 1 else ''}", err=True)

    _run(work)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rag {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False) -> None:
    """Dated, cited answers and summaries over news articles."""


def main() -> None:
    app()


if __name__ == "__main__":
    main()
