"""The JSON HTTP API over a :class:`rag.service.Service` (``rag serve`` runs it: see
:mod:`rag.serve`).

Requests and responses have the shapes of the CLI's ``--json`` output
(:mod:`rag.schemas`). Every error is a 4xx (5xx only for a fault of the server itself)
with one JSON body, ``{"error": {"code", "message"}}``, whatever raised it: validation,
a ``RagError``, an unknown route, a body over the size limit, a missing token.

Endpoints are plain functions, run by the server's thread pool: queries run side by
side on the current snapshot while one ingest at a time writes.
"""

from __future__ import annotations

import hmac
import logging
import os
from typing import Annotated, Any

from fastapi import FastAPI, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.exceptions import HTTPException
from starlette.routing import Match, Route
from starlette.types import Message, Receive, Scope, Send

from . import __doc__ as package_doc
from . import __version__
from .errors import InputError, RagError, error_code
from .load import document_from_json
from .query import Query
from .schemas import (
    SOME_TEXT,
    ArticleOut,
    ArticlesIn,
    AskIn,
    AskOut,
    ErrorOut,
    HealthOut,
    IngestOut,
    RemoveOut,
    SearchIn,
    SearchOut,
    SummarizeIn,
    SummaryOut,
)
from .service import Service
from .types import IndexInfo

MAX_BODY_BYTES = 8 * 1024 * 1024
DOCS_ASSETS = "/docs-assets"  # where the documentation pages' scripts and styles are served

log = logging.getLogger("rag.server")


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
            methods = {
                m
                for r in app.router.routes
                if isinstance(r, Route) and r.methods and r.matches(request.scope)[0] is not Match.NONE
                for m in r.methods
            }
            headers["Allow"] = ", ".join(sorted(methods))
        return _error(
            exc.status_code, "not_found" if exc.status_code == 404 else "http_error", str(exc.detail), headers
        )

    @app.exception_handler(Exception)
    def crash(_request, exc: Exception) -> JSONResponse:
        log.exception("internal error")
        return _error(500, "internal", f"internal error ({type(exc).__name__}); see the server log")

    @app.post(
        "/ask",
        response_model=AskOut,
        responses=_READ_ERRORS,
        summary="Answer a question with a dated span and its passages",
    )
    def ask(req: AskIn) -> dict:
        return service.ask(Query(req.question, req.k, req.since, req.until, req.mode, req.as_of)).to_json()

    @app.post(
        "/search", response_model=SearchOut, responses=_READ_ERRORS, summary="The passages most similar to a query"
    )
    def search(req: SearchIn) -> dict:
        passages = service.search(Query(req.query, req.k, req.since, req.until, req.mode, req.as_of))
        return {"query": req.query, "passages": [p.to_json() for p in passages]}

    @app.post(
        "/summarize",
        response_model=SummaryOut,
        responses=_READ_ERRORS,
        summary="A cited summary of a topic, without repeats",
    )
    def summarize(req: SummarizeIn) -> dict:
        return service.summarize(
            Query(req.query, req.max_sentences, req.since, req.until, req.mode, req.as_of), req.timeline
        ).to_json()

    @app.post(
        "/articles",
        response_model=IngestOut,
        responses=_WRITE_ERRORS,
        summary="Add or replace articles (acknowledged once committed)",
    )
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

    @app.get(
        "/articles/{doc_id:path}", response_model=ArticleOut, responses=_ARTICLE_ERRORS, summary="One stored article"
    )
    def get_article(doc_id: Annotated[str, PathParam(min_length=1)]) -> dict:
        doc = service.article(doc_id)
        return {
            "id": doc.id,
            "source": doc.source,
            "title": doc.title,
            "date": doc.date.isoformat() if doc.date else None,
            "text": doc.text,
        }

    @app.delete(
        "/articles/{doc_id:path}",
        response_model=RemoveOut,
        responses=_WRITE_ERRORS,
        summary="Remove an article, its chunks and vectors",
    )
    def delete_article(doc_id: Annotated[str, PathParam(min_length=1)]) -> dict:
        removed, info = service.remove([doc_id])
        return {"removed": removed, "index": info.to_json()}

    @app.get(
        "/health", response_model=HealthOut, responses={401: _READ_ERRORS[401]}, summary="Whether the server is up"
    )
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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        if self.token is not None:
            given = headers.get(b"authorization", b"").decode("latin-1")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
                await _send(
                    send,
                    _error(
                        401,
                        "unauthorized",
                        "missing or wrong token (send 'Authorization: Bearer TOKEN')",
                        {"WWW-Authenticate": "Bearer"},
                    ),
                )
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

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _send(send: Send, response: JSONResponse) -> None:
    await send({"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})
