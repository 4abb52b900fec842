"""``rag serve``: the JSON HTTP API over a :class:`rag.service.Service`.

Requests and responses have the shapes of the CLI's ``--json`` output. Every error is
a 4xx (5xx only for a fault of the server itself) with one JSON body,
``{"error": {"code", "message"}}``, whatever raised it: validation, a ``RagError``,
an unknown route, a body over the size limit, a missing token.

Endpoints are plain functions, run by the server's thread pool: queries run side by
side on the current snapshot while one ingest at a time writes.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import datetime as dt
import hmac
import ipaddress
import logging
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.exceptions import HTTPException
from starlette.routing import Match, Route
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess

from . import __doc__ as package_doc
from . import __version__
from .embed import Backend
from .errors import InputError, RagError, error_code, first_line
from .index import Index
from .load import document_from_json, parse_date
from .query import DEFAULT_MODE, MAX_K, MAX_QUERY_CHARS, Mode, Query
from .service import Service
from .types import IndexInfo

MAX_BODY_BYTES = 8 * 1024 * 1024
DOCS_ASSETS = "/docs-assets"  # where the documentation pages' scripts and styles are served
MAX_ARTICLES = 1000
LOCK_WAIT_SECONDS = 30.0  # a write waits this long for another worker's or process's write
PR_SET_PDEATHSIG = 1
WORKER_START_SECONDS = 300.0  # loading a model from a slow disk

log = logging.getLogger("rag.server")



def _iso_day(value: object) -> object:
    """Dates are strict ISO strings, as on the command line: no timestamps, no guessing."""
    if value is None or isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise ValueError("expected a date string YYYY-MM-DD")
    try:
        return parse_date(value, "date")
    except InputError as exc:
        raise ValueError(str(exc).removeprefix("date: ")) from None


def _not_bool(value: object) -> object:
    """JSON's true is not the integer 1 here, as JSON Schema says."""
    if isinstance(value, bool):
        raise ValueError("expected an integer, not a boolean")
    return value


Day = Annotated[dt.date | None, BeforeValidator(_iso_day), Field(default=None, description="YYYY-MM-DD", examples=["2023-01-05"])]
# At least one character that is not white space, by Python's reckoning and JSON Schema's
# alike: a request the schema accepts is never refused as empty.
SOME_TEXT = r"[^\s\x1c-\x1f\x85]"
QueryText = Annotated[str, Field(min_length=1, max_length=MAX_QUERY_CHARS, pattern=SOME_TEXT)]
K = Annotated[int, Field(ge=1, le=MAX_K, description="Passages to return."), BeforeValidator(_not_bool)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Filtered(_In):
    """What every query takes besides its text: the CLI's --since, --until, --as-of, --mode."""

    since: Day = None
    until: Day = None
    as_of: Day = None
    mode: Mode = DEFAULT_MODE


class AskIn(_Filtered):
    question: QueryText
    k: K = 5


class SearchIn(_Filtered):
    query: QueryText
    k: K = 5


class SummarizeIn(_Filtered):
    query: QueryText
    max_sentences: Annotated[int, Field(ge=1, le=MAX_K), BeforeValidator(_not_bool)] = 5
    timeline: Annotated[bool, Field(strict=True, description="order the sentences by the day of what they report, grouped")] = False


class ArticleIn(_In):
    id: Annotated[str, Field(min_length=1, max_length=500)]
    text: Annotated[str, Field(min_length=1, pattern=SOME_TEXT)]
    date: Day = None
    source: Annotated[str | None, Field(max_length=2000)] = None
    title: Annotated[str | None, Field(max_length=2000)] = None


class ArticlesIn(_In):
    articles: Annotated[list[ArticleIn], Field(min_length=1, max_length=MAX_ARTICLES)]


class PassageOut(BaseModel):
    doc_id: str
    source: str
    date: str | None
    text: str
    score: float
    similarity: float
    also_in: list[str]
    start: int
    end: int
    match_start: int
    match_end: int


class AskOut(BaseModel):
    question: str
    answer: str | None
    date: str | None
    confidence: float
    passages: list[PassageOut]


class SearchOut(BaseModel):
    query: str
    passages: list[PassageOut]


class SentenceOut(BaseModel):
    text: str
    doc_id: str
    date: str | None
    event_date: str | None = Field(description="the day of what the sentence reports (its first date mention), else its article's")
    also_in: list[str] = Field(description="other articles that report the same")


class TimelineDayOut(BaseModel):
    date: str | None
    sentences: list[SentenceOut]


class SummaryOut(BaseModel):
    query: str
    sentences: list[SentenceOut]
    timeline: list[TimelineDayOut] | None = Field(None, description="with timeline: the sentences grouped by event_date")


class IngestOut(BaseModel):
    added: int
    replaced: int
    skipped: int
    chunks: int
    warnings: list[str]
    index: IndexInfo


class RemoveOut(BaseModel):
    removed: list[str]
    index: IndexInfo


class ArticleOut(BaseModel):
    id: str
    source: str
    title: str
    date: str | None
    text: str


class HealthOut(BaseModel):
    status: str
    worker: int = Field(description="Process id of the worker that answered (a server may run several)")


class ErrorBody(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    error: ErrorBody


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


_ERROR_DOC = {"model": ErrorOut}
_READ_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {**_ERROR_DOC, "description": "Input that cannot be used (an empty question, an impossible date)"},
    401: {**_ERROR_DOC, "description": "Missing or wrong token (when the server has one)"},
    413: {**_ERROR_DOC, "description": "Body over the size limit"},
    422: {**_ERROR_DOC, "description": "Malformed JSON, wrong types, values out of range"},
    503: {**_ERROR_DOC, "description": "The index on disk is damaged or unreadable"},
}
_ARTICLE_ERRORS = {**_READ_ERRORS, 404: {**_ERROR_DOC, "description": "No article with this id"}}
_WRITE_ERRORS = {**_ARTICLE_ERRORS, 409: {**_ERROR_DOC, "description": "Another process is writing the index"}}


def _validation_message(exc: RequestValidationError) -> str:
    first = exc.errors()[0] if exc.errors() else {}
    loc = tuple(first.get("loc", ()))
    if first.get("type") == "json_invalid":
        return f"malformed JSON at character {loc[-1] if len(loc) > 1 else 0}: {first.get('ctx', {}).get('error', 'cannot parse')}"
    if loc == ("body",) and first.get("type") == "model_attributes_type":
        return "the body must be a JSON object (sent as Content-Type: application/json)"
    where = ".".join(str(p) for p in loc if p != "body") or "body"
    if first.get("type") == "string_pattern_mismatch" and first.get("ctx", {}).get("pattern") == SOME_TEXT:
        return f"{where}: is empty (white space only)"
    return f"{where}: {first.get('msg', 'invalid request')}"


def create_app(service: Service, token: str | None = None, max_body: int = MAX_BODY_BYTES) -> FastAPI:
    """The ASGI application: endpoints over ``service``, errors as JSON, and a guard
    that checks the token and the body size before any endpoint runs."""
    app = FastAPIOffline(  # /docs and /redoc load their scripts from this server, not a CDN
        title="rag",
        version=__version__,
        description=(package_doc or "").strip().splitlines()[0],
        static_url=DOCS_ASSETS,
    )

    @app.exception_handler(RagError)
    def rag_error(_request, exc: RagError) -> JSONResponse:
        code, status = error_code(exc)
        return _error(status, code, str(exc))

    @app.exception_handler(RequestValidationError)
    def invalid(_request, exc: RequestValidationError) -> JSONResponse:
        return _error(422, "invalid_request", _validation_message(exc))

    @app.exception_handler(HTTPException)
    def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method of the path, not only those of the first route matched
            methods = {m for r in app.router.routes if isinstance(r, Route) and r.methods and r.matches(request.scope)[0] is not Match.NONE for m in r.methods}
            headers["Allow"] = ", ".join(sorted(methods))
        return _error(exc.status_code, "not_found" if exc.status_code == 404 else "http_error", str(exc.detail), headers)

    @app.exception_handler(Exception)
    def crash(_request, exc: Exception) -> JSONResponse:
        log.exception("internal error")
        return _error(500, "internal", f"internal error ({type(exc).__name__}); see the server log")

    @app.post("/ask", response_model=AskOut, responses=_READ_ERRORS, summary="Answer a question with a dated span and its passages")
    def ask(req: AskIn) -> dict:
        return service.ask(Query(req.question, req.k, req.since, req.until, req.mode, req.as_of)).to_json()

    @app.post("/search", response_model=SearchOut, responses=_READ_ERRORS, summary="The passages most similar to a query")
    def search(req: SearchIn) -> dict:
        passages = service.search(Query(req.query, req.k, req.since, req.until, req.mode, req.as_of))
        return {"query": req.query, "passages": [p.to_json() for p in passages]}

    @app.post("/summarize", response_model=SummaryOut, responses=_READ_ERRORS, summary="A cited summary of a topic, without repeats")
    def summarize(req: SummarizeIn) -> dict:
        return service.summarize(Query(req.query, req.max_sentences, req.since, req.until, req.mode, req.as_of), req.timeline).to_json()

    @app.post("/articles", response_model=IngestOut, responses=_WRITE_ERRORS, summary="Add or replace articles (acknowledged once committed)")
    def add_articles(req: ArticlesIn) -> dict:
        docs, warnings, seen = [], [], set()
        for n, article in enumerate(req.articles):
            doc = document_from_json(article.model_dump(), f"articles[{n}]", default_id=None, default_source="api")
            if doc.id in seen:
                raise InputError(f"articles[{n}]: duplicate id {doc.id!r}")
            seen.add(doc.id)
            if doc.date is None:
                warnings.append(f"articles[{n}]: article {doc.id!r} has no date; kept without one")
            docs.append(doc)
        report, info = service.add(docs, warnings)
        return {**report.to_json(), "index": info.to_json()}

    @app.get("/articles/{doc_id:path}", response_model=ArticleOut, responses=_ARTICLE_ERRORS, summary="One stored article")
    def get_article(doc_id: Annotated[str, PathParam(min_length=1)]) -> dict:
        doc = service.article(doc_id)
        return {"id": doc.id, "source": doc.source, "title": doc.title, "date": doc.date.isoformat() if doc.date else None, "text": doc.text}

    @app.delete("/articles/{doc_id:path}", response_model=RemoveOut, responses=_WRITE_ERRORS, summary="Remove an article, its chunks and vectors")
    def delete_article(doc_id: Annotated[str, PathParam(min_length=1)]) -> dict:
        removed, info = service.remove([doc_id])
        return {"removed": removed, "index": info.to_json()}

    @app.get("/health", response_model=HealthOut, responses={401: _READ_ERRORS[401]}, summary="Whether the server is up")
    def health() -> dict:
        return {"status": "ok", "worker": os.getpid()}

    @app.get("/info", response_model=IndexInfo, responses=_READ_ERRORS, summary="Counts, model and size of the index")
    def info() -> dict:
        return service.info().to_json()

    return _Guard(app, token, max_body)  # type: ignore[return-value]


class _Guard:
    """ASGI middleware: the token, then the body size, checked before the app runs. The
    body is read here in full (up to the limit) so an oversized one never reaches JSON
    parsing, whether it declares its length or streams it in chunks."""

    def __init__(self, app: FastAPI, token: str | None, max_body: int) -> None:
        self.app = app
        self.token = token
        self.max_body = max_body

    def __getattr__(self, name: str) -> Any:  # openapi(), routes, ...: the wrapped app's
        return getattr(self.app, name)

    async def __call__(self, scope: dict, receive: Callable[[], Awaitable[dict]], send: Callable[[dict], Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if self.token is not None:
            given = headers.get(b"authorization", b"").decode("latin-1")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
                await _send(send, _error(401, "unauthorized", "missing or wrong token (send 'Authorization: Bearer TOKEN')", {"WWW-Authenticate": "Bearer"}))
                return
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await _send(send, _error(413, "too_large", f"request body over {self.max_body} bytes"))
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > self.max_body:
                await _send(send, _error(413, "too_large", f"request body over {self.max_body} bytes"))
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _send(send: Callable[[dict], Awaitable[None]], response: JSONResponse) -> None:
    await send({"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, token: str | None, allow_no_token: bool) -> None:
    """Anyone who can reach a non-loopback address could read and change the index."""
    if token is None and not allow_no_token and not is_loopback(host):
        raise InputError(f"refusing to serve on {host} without --token (anyone on the network could read and change the index); pass --allow-no-token to do it anyway")
    if token is not None and not token.strip():
        raise InputError("--token is empty")


@dataclass(frozen=True)
class ServeOptions:
    """What ``rag serve`` was asked for; the workers of a multi-process server get a copy."""

    path: Path
    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    max_body: int = MAX_BODY_BYTES
    log_requests: bool = False
    model: str | None = None
    backend: Backend = Backend.AUTO
    workers: int = 1
    lock_wait: float = LOCK_WAIT_SECONDS


def default_workers() -> int:
    """Two processes where there are two cores: each process's Python runs under its own
    GIL, which one process's threads queue on. Measured on 2 cores, 16 clients: 34.2
    asks/s with two workers against 28.2 with one (eval/README.md); more than two is not
    measured here."""
    return min(2, os.cpu_count() or 1)


def run(options: ServeOptions, announce: Callable[[str, IndexInfo], None]) -> None:
    """Open the index, load the model, then serve until interrupted (SIGINT or SIGTERM
    stop it cleanly; a SIGKILL mid-ingest leaves the index as of its last commit). With
    several workers, this process binds the port and supervises worker processes that
    each hold a :class:`Service` on the index (uvicorn's supervisor: a worker that dies
    is replaced); their writes queue on the index's write lock."""
    url = f"http://{options.host}:{options.port}"
    level = "info" if options.log_requests else "warning"
    if options.workers <= 1:
        service = Service(options.path, model=options.model, backend=options.backend, create=True, lock_wait=options.lock_wait)
        try:
            config = uvicorn.Config(create_app(service, options.token, options.max_body), host=options.host, port=options.port, log_level=level, access_log=options.log_requests, lifespan="off")
            announce(url, service.info())
            uvicorn.Server(config).run()  # on a port in use, uvicorn logs one line and exits 3
        finally:
            service.close()
        return
    with Index.open(options.path, model=options.model, create=True, backend=options.backend) as index:
        info = index.info()  # and a bad index, a model mismatch: one line here, not N in the workers
        if not index.is_empty:
            index.lexical()  # an index from before BM25 segments gets them here, once, not racing in each worker
    config = _WorkerConfig(
        replace(options, path=options.path.resolve()),
        os.getpid(),
        "rag.server:_worker_app",
        factory=True,
        host=options.host,
        port=options.port,
        workers=options.workers,
        log_level=level,
        access_log=options.log_requests,
        lifespan="off",
    )
    sock = _listen(options.host, options.port)
    supervisor = _Supervisor(config, [sock], lambda: announce(url, info))
    try:
        supervisor.run()
    finally:
        sock.close()
    if any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes):
        raise RagError("a worker could not start (its reason is above)")


def _listen(host: str, port: int) -> socket.socket:
    """The workers' shared listening socket. Unlike uvicorn's own, it names its protocol:
    asyncio turns Nagle's algorithm off only on sockets that say they are TCP, and
    without that each answer waited ~40 ms for the client's delayed ACK (an ask at
    concurrency 1 took 88 ms instead of 47)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    except OSError as exc:
        raise InputError(f"cannot listen on {host}:{port}: {exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise InputError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock


class _Supervisor(Multiprocess):
    """uvicorn's supervisor, announcing the server once every worker has loaded its
    model and serves (a caller watching the output can start asking then)."""

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket], ready: Callable[[], None]) -> None:
        super().__init__(config, sockets)
        self._ready = ready

    def init_processes(self) -> None:
        super().init_processes()
        if all(p.wait_until_ready(WORKER_START_SECONDS, self.should_exit) for p in self.processes):
            self._ready()  # else a worker failed: the supervisor's loop sees it next


class _WorkerConfig(uvicorn.Config):
    """uvicorn's configuration, carrying ours into each (spawned) worker process."""

    def __init__(self, options: ServeOptions, parent: int, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options = options
        self.parent = parent

    def load(self) -> None:  # in the worker, before the app is made
        global _WORKER
        _die_with(self.parent)
        _WORKER = self.options
        super().load()


_WORKER: ServeOptions | None = None


def _worker_app() -> Any:
    """The app of one worker. A worker that cannot start says why in one line and exits
    as uvicorn's supervisor expects of a startup failure, which stops the server rather
    than restarting the worker for ever."""
    assert _WORKER is not None
    try:
        service = Service(_WORKER.path, model=_WORKER.model, backend=_WORKER.backend, lock_wait=_WORKER.lock_wait)
    except Exception as exc:  # a RagError, or anything a model load raises
        print(f"error: worker {os.getpid()}: {first_line(exc)}", file=sys.stderr, flush=True)
        sys.exit(STARTUP_FAILURE)
    atexit.register(service.close)
    return create_app(service, _WORKER.token, _WORKER.max_body)


def _die_with(parent: int) -> None:
    """A worker whose supervisor is killed (SIGKILL gives it no chance to stop them) must
    not go on serving, or writing, on its own: Linux kills it too."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the supervisor's own shutdown still stops workers
        return
    if os.getppid() != parent:  # it died before prctl took effect
        os._exit(1)
