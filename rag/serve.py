"""``rag serve``: the HTTP API in one process or several, supervised.

With one worker the API runs in this process. With several, this process binds the
port and supervises worker processes (uvicorn's supervisor: a worker that dies is
replaced), each holding a :class:`rag.service.Service` on the index; their writes
queue on the index's write lock.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import ipaddress
import os
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Multiprocess

from .embed import Backend
from .errors import InputError, RagError, first_line
from .index import Index
from .server import MAX_BODY_BYTES, create_app
from .service import Service
from .shards import is_sharded, open_index
from .types import IndexInfo

LOCK_WAIT_SECONDS = 30.0  # a write waits this long for another worker's or process's write
PR_SET_PDEATHSIG = 1  # prctl's option (linux/prctl.h)
WORKER_START_SECONDS = 300.0  # loading a model from a slow disk


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
        raise InputError(
            f"refusing to serve on {host} without --token (anyone on the network could read and change the index); pass --allow-no-token to do it anyway"
        )
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
    ray: str | None = None  # read through shard actors on this Ray cluster (one worker process)


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
        service = Service(
            options.path,
            model=options.model,
            backend=options.backend,
            create=True,
            lock_wait=options.lock_wait,
            ray=options.ray,
        )
        try:
            config = uvicorn.Config(
                create_app(service, options.token, options.max_body),
                host=options.host,
                port=options.port,
                log_level=level,
                access_log=options.log_requests,
                lifespan="off",
            )
            announce(url, service.info())
            uvicorn.Server(config).run()  # on a port in use, uvicorn logs one line and exits 3
        finally:
            service.close()
        return
    opened = (
        open_index(options.path, options.model, options.backend)
        if is_sharded(options.path)
        else Index.open(options.path, model=options.model, create=True, backend=options.backend)
    )
    with opened as index:
        info = index.info()  # and a bad index, a model mismatch: one line here, not N in the workers
        if not index.is_empty:
            index.lexical()  # an index from before BM25 segments gets them here, once, not racing in each worker
    config = _WorkerConfig(
        replace(options, path=options.path.resolve()),
        os.getpid(),
        "rag.serve:_worker_app",
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
