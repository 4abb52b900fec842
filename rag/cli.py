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
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, Optional

import typer

from . import __version__
from .check import CheckReport
from .check import check as check_index
from .check import repair as repair_index
from .display import print_passages, print_summary
from .embed import Backend
from .errors import InputError, InputErrors, RagError, error_code
from .index import DEFAULT_INDEX, Index
from .load import load_paths, parse_date
from .query import DEFAULT_MODE, Mode, Query, check_range
from .shards import ShardedIndex, open_index, read_manifest
from .vectors import IndexType

if TYPE_CHECKING:
    from .cluster import ClusterIndex

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Dated, cited answers and summaries over news articles."
)

IndexOpt = Annotated[Path, typer.Option("--index", "-i", help="Index directory.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
ModelOpt = Annotated[Optional[str], typer.Option("--model", help="sentence-transformers model name or local path.")]
SinceOpt = Annotated[Optional[str], typer.Option("--since", help="Only articles dated on or after YYYY-MM-DD.")]
UntilOpt = Annotated[Optional[str], typer.Option("--until", help="Only articles dated on or before YYYY-MM-DD.")]
KOpt = Annotated[int, typer.Option("-k", "--top-k", help="Passages to return.")]
AsOfOpt = Annotated[
    Optional[str],
    typer.Option(
        "--as-of", help="Ask as of YYYY-MM-DD (default today): later articles are left out, recent ones preferred."
    ),
]
ModeOpt = Annotated[Mode, typer.Option("--mode", help="Retrieval: dense vectors, lexical BM25, or a hybrid of both.")]
ReadRayOpt = Annotated[
    Optional[str],
    typer.Option(
        "--ray",
        help="Read the index through one Ray actor per shard on the cluster at this address (host:port); every node must see the index at the same path. Needs pip install -e '.[ray]'.",
    ),
]


def _run(fn: Callable[[], Any], as_json: bool = False) -> Any:
    """Run a command's work; a RagError (or a damaged database, or Ctrl-C) becomes one
    line on stderr, or with ``--json`` one object ``{"error": {"code", "message"}}`` on
    stdout as the HTTP API gives it, and a non-zero exit."""
    try:
        return fn()
    except InputErrors as exc:  # each on its own line, or all in the JSON object
        if as_json or len(exc.problems) == 1:
            _fail("bad_input", str(exc), 1, as_json, {"problems": exc.problems})
        for problem in exc.problems:
            typer.echo(f"error: {problem}", err=True)
        _fail("bad_input", f"{len(exc.problems)} inputs cannot be used; nothing was written", 1, as_json)
    except RagError as exc:
        _fail(error_code(exc)[0], str(exc), 1, as_json)
    except sqlite3.DatabaseError as exc:  # a page damaged past what the check at open reads
        _fail(
            "index_unavailable",
            f"index database is damaged ({exc}); restore it from a copy or rebuild the index with `rag ingest` into a new directory",
            1,
            as_json,
        )
    except KeyboardInterrupt:
        _fail("interrupted", "interrupted; the index is as it was before this command", 130, as_json)


def _fail(code: str, message: str, status: int, as_json: bool, extra: dict | None = None) -> NoReturn:
    if as_json:
        typer.echo(json.dumps({"error": {"code": code, "message": message, **(extra or {})}}, ensure_ascii=False))
    else:
        typer.echo(message if code == "interrupted" else f"error: {message}", err=True)
    raise typer.Exit(status)


def _query(text: str, k: int, since: str | None, until: str | None, mode: Mode, as_of: str | None) -> Query:
    return Query(text, k, _date(since, "--since"), _date(until, "--until"), mode, _date(as_of, "--as-of"))


def _date(value: str | None, flag: str) -> dt.date | None:
    return parse_date(value, flag) if value else None


def _emit(obj: dict) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2))


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files (.txt, .md, .jsonl) or folders.")],
    index: IndexOpt = DEFAULT_INDEX,
    model: ModelOpt = None,
    index_type: Annotated[
        Optional[IndexType],
        typer.Option(
            "--index-type",
            help="Vector index to keep: auto (flat below 200k chunks, then ivf-sq8), flat, ivf-sq8 or hnsw; remembered.",
        ),
    ] = None,
    backend: Annotated[
        Backend,
        typer.Option(
            "--backend",
            help="Embedding: auto (ONNX Runtime fp32 when installed, else torch), torch, onnx, or onnx-int8 (about 2x faster, vectors move slightly).",
        ),
    ] = Backend.AUTO,
    ray_address: Annotated[
        Optional[str],
        typer.Option(
            "--ray",
            envvar="RAY_ADDRESS",
            help="Embed on the Ray cluster at this address (host:port), one model replica per worker CPU; needs pip install -e '.[ray]'.",
        ),
    ] = None,
    shards: Annotated[
        Optional[int],
        typer.Option(
            "--shards",
            help="Make a new index of this many shards (each article goes to the shard its content hash names); an existing sharded index keeps its count.",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Add articles to the index (created if missing); unchanged articles are skipped."""

    def work() -> None:
        loaded = load_paths(list(paths))  # validate everything before touching the index
        for w in loaded.warnings:
            typer.echo(f"warning: {w}", err=True)
        if ray_address:  # before the index is made: an unreachable cluster leaves nothing behind
            from .cluster import connect

            connect(ray_address)
        created = not index.exists()
        try:
            with _open_for_ingest(index, model, backend, index_type, shards) as idx:
                encoder = None
                if ray_address:
                    from .cluster import on_cluster

                    encoder = on_cluster(ray_address, idx.embedder, progress=sys.stderr.isatty())
                report = idx.add_documents(
                    loaded.documents, progress=sys.stderr.isatty(), warnings=loaded.warnings, encoder=encoder
                )
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

    _run(work, as_json)


def _open_for_ingest(
    path: Path, model: str | None, backend: Backend, index_type: IndexType | None, shards: int | None
) -> Index | ShardedIndex:
    """The index to ingest into: a sharded one where ``--shards`` asks for it or the
    directory is one, else a single one; both created when missing."""
    manifest = read_manifest(path)
    if shards is None and manifest is None:
        idx = Index.open(path, model=model, create=True, backend=backend)
        try:
            if index_type is not None:
                idx.set_index_type(index_type)
        except BaseException:
            idx.close()
            raise
        return idx
    if manifest is not None and index_type is not None:
        raise InputError(f"{path}: --index-type is chosen when a sharded index is made, not changed after")
    return ShardedIndex.create(
        path, shards or manifest.shards if manifest else shards or 1, model, backend, index_type or IndexType.AUTO
    )


def _open_reader(path: Path, model: str | None, ray_address: str | None) -> Index | ShardedIndex | ClusterIndex:
    """The index to read: in this process, or through shard actors on a Ray cluster."""
    if not ray_address:
        return open_index(path, model=model)
    from .cluster import open_on_cluster

    return open_on_cluster(path, ray_address, model=model)


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
    ray_address: ReadRayOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Answer a question with a short span, its date, and the passages it came from."""

    def work() -> None:
        asked = _query(question, k, since, until, mode, as_of)  # bad input fails before an index or a cluster is opened
        with _open_reader(index, model, ray_address) as idx:
            ans = idx.ask(asked)
        if as_json:
            _emit(ans.to_json())
            return
        if ans.text is None:
            typer.echo(
                "No answer in the index."
                + (f"   (best candidate's chance of being right: {ans.confidence:.2f})" if ans.confidence else "")
            )
        else:
            typer.echo(f"Answer: {ans.display}   (confidence {ans.confidence:.2f})")
            typer.echo(f"From {ans.doc_id}: {ans.sentence}")
        typer.echo("\nClosest passages (none holds an answer):" if ans.text is None else "\nPassages:")
        print_passages(ans.passages)

    _run(work, as_json)


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
    ray_address: ReadRayOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The passages most similar to a query, best first."""

    def work() -> None:
        asked = _query(query, k, since, until, mode, as_of)  # bad input fails before an index or a cluster is opened
        with _open_reader(index, model, ray_address) as idx:
            passages = idx.search(asked)
        if as_json:
            _emit({"query": query, "passages": [p.to_json() for p in passages]})
        elif not passages:
            typer.echo("No passages.")
        else:
            print_passages(passages)

    _run(work, as_json)


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
    timeline: Annotated[
        bool, typer.Option("--timeline", help="Group the sentences by the day of what they report.")
    ] = False,
    ray_address: ReadRayOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A query-focused summary: sentences from several articles, no repeats, in date order."""

    def work() -> None:
        # bad input fails before an index or a cluster is opened
        asked = _query(query, max_sentences, since, until, mode, as_of)
        with _open_reader(index, model, ray_address) as idx:
            summary = idx.summarize(asked, timeline=timeline)
        if as_json:
            _emit(summary.to_json())
            return
        if not summary.sentences:
            typer.echo("Nothing in the index on this topic.")
        print_summary(summary.sentences, timeline)

    _run(work, as_json)


@app.command()
def remove(
    doc_ids: Annotated[Optional[list[str]], typer.Argument(help="Article ids to remove.")] = None,
    source: Annotated[
        Optional[list[str]],
        typer.Option("--source", help="Remove every article from this source (path or URL); repeatable."),
    ] = None,
    index: IndexOpt = DEFAULT_INDEX,
    as_json: JsonOpt = False,
) -> None:
    """Remove articles, their chunks and vectors from the index."""

    def work() -> None:
        if not doc_ids and not source:
            raise InputError("name at least one article id or --source")
        with open_index(index) as idx:
            removed = idx.remove(doc_ids or [], source or [])
            data = idx.info()
        if as_json:
            _emit({"removed": removed, "index": data.to_json()})
        else:
            typer.echo(f"{len(removed)} removed; {data.path} holds {data.articles} articles, {data.chunks} chunks")

    _run(work, as_json)


@app.command()
def info(index: IndexOpt = DEFAULT_INDEX, as_json: JsonOpt = False) -> None:
    """Counts, model and size of an index."""

    def work() -> None:
        with open_index(index) as idx:
            data = idx.info()
        if as_json:
            _emit(data.to_json())
            return
        for key, value in data.to_json().items():
            typer.echo(f"{key:>15}: {value}")

    _run(work, as_json)


@app.command()
def serve(
    index: IndexOpt = DEFAULT_INDEX,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    token: Annotated[
        Optional[str],
        typer.Option("--token", envvar="RAG_TOKEN", help="Require 'Authorization: Bearer TOKEN' on every request."),
    ] = None,
    allow_no_token: Annotated[
        bool, typer.Option("--allow-no-token", help="Serve a non-loopback address without a token.")
    ] = False,
    max_body: Annotated[int, typer.Option("--max-body", help="Largest request body accepted, in bytes.")] = 8
    * 1024
    * 1024,
    log_requests: Annotated[bool, typer.Option("--log-requests", help="Log every request on stderr.")] = False,
    model: ModelOpt = None,
    backend: Annotated[
        Backend, typer.Option("--backend", help="Embedding of posted articles (see 'rag ingest --backend').")
    ] = Backend.AUTO,
    workers: Annotated[
        Optional[int],
        typer.Option(
            "--workers",
            min=1,
            help="Server processes, each with the model loaded (default: 2 on 2 or more cores, else 1).",
        ),
    ] = None,
    lock_wait: Annotated[
        Optional[float],
        typer.Option(
            "--lock-wait",
            min=0.0,
            help="Seconds a write waits for another worker's or process's write before a 409 (default: 30).",
        ),
    ] = None,
    ray_address: ReadRayOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Serve the index as a JSON HTTP API (OpenAPI at /docs and /openapi.json); creates it if missing."""

    def work() -> None:
        from .serve import ServeOptions, check_exposure, default_workers, run

        check_exposure(host, token, allow_no_token)
        if ray_address and (workers or 1) > 1:
            raise InputError("--ray serves from one process (the shards' actors read in parallel); drop --workers")
        options = ServeOptions(
            index,
            host,
            port,
            token,
            max_body,
            log_requests,
            model,
            backend,
            workers or (1 if ray_address else default_workers()),
            ray=ray_address,
        )
        if lock_wait is not None:
            options = replace(options, lock_wait=lock_wait)
        run(options, announce=_announce)

    def _announce(url: str, info) -> None:
        if as_json:
            typer.echo(json.dumps({"url": url, "index": info.to_json()}, ensure_ascii=False))
        else:
            typer.echo(f"serving {info.path} ({info.articles} articles, {info.chunks} chunks) on {url}", err=True)

    _run(work, as_json)


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
        check_range(lo, hi)  # before the index is opened: a bad range is the input's fault
        with open_index(index) as idx:
            entries = idx.articles(lo, hi, source)
        if as_json:
            _emit({"articles": [e.to_json() for e in entries]})
            return
        for e in entries:
            typer.echo(f"{e.id}\t{e.date.isoformat() if e.date else 'undated'}\t{e.source}\t{e.title}")
        typer.echo(f"{len(entries)} article{'s' if len(entries) != 1 else ''}", err=True)

    _run(work, as_json)


@app.command()
def check(
    index: IndexOpt = DEFAULT_INDEX,
    repair: Annotated[
        bool,
        typer.Option("--repair", help="Rebuild the vector and BM25 files from the database where they are damaged."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Read the whole index and say whether it is whole (exit 1 if not); --repair rebuilds what can be."""

    def work() -> None:
        manifest = read_manifest(index)
        folders = manifest.folders(index) if manifest else [index]
        reports = [
            repair_index(folder, progress=sys.stderr.isatty()) if repair else check_index(folder) for folder in folders
        ]
        if as_json:
            if manifest is None:
                _emit(reports[0].to_json())
            else:
                _emit({"path": str(index), "ok": all(r.ok for r in reports), "shards": [r.to_json() for r in reports]})
        else:
            for report in reports:
                _print_check(report)
        if not all(r.ok for r in reports):
            raise typer.Exit(1)

    _run(work, as_json)


def _print_check(report: CheckReport) -> None:
    for problem in report.problems():
        typer.echo(f"problem: {problem}")
    if report.repaired:
        typer.echo(f"rebuilt from the database: {', '.join(report.repaired)}")
    if report.ok:
        typer.echo(
            f"ok: {report.path} ({report.articles} articles, {report.chunks} chunks): database, vectors and BM25 index whole"
        )
    elif report.repairable:
        typer.echo("the database is whole: `rag check --repair` rebuilds the rest from it")
    else:
        typer.echo(
            "the database is damaged and cannot be rebuilt from the other files: restore it from a copy, or ingest the articles again into a new directory"
        )


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rag {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Dated, cited answers and summaries over news articles."""


def main() -> None:
    app()


if __name__ == "__main__":
    main()
