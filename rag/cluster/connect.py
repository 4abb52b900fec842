"""Joining a Ray cluster, with a one-line error where there is none to join."""

from __future__ import annotations

import os
import socket
from typing import Any

from ..errors import RagError, first_line

RAY_ADDRESS_ENV = "RAY_ADDRESS"
CONNECT_TIMEOUT_S = 10  # seconds to wait for the cluster's head to accept a connection


def need_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RagError("--ray needs Ray: pip install -e '.[ray]'") from None
    return ray


def connect(address: str | None = None) -> None:
    """Join the Ray cluster at ``address`` (default ``$RAY_ADDRESS``); a clear error
    when there is none or it cannot be reached."""
    ray = need_ray()
    address = address or os.environ.get(RAY_ADDRESS_ENV)
    if not address:
        raise RagError("no Ray cluster named: pass --ray ADDRESS or set RAY_ADDRESS")
    if ray.is_initialized():
        return
    _reachable(address)
    try:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError, ...
        raise RagError(f"cannot join the Ray cluster at {address}: {first_line(exc)}") from None


def _reachable(address: str) -> None:
    """A ``host:port`` that nothing answers on is named at once: Ray itself retries for
    minutes, logging as it goes."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto" and the like: Ray finds the cluster
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise RagError(f"cannot reach the Ray cluster at {address}: {exc.strerror or exc}") from None


def cluster_workers() -> int:
    """The CPUs the cluster offers tasks: one model replica each."""
    ray = need_ray()
    return max(1, int(ray.cluster_resources().get("CPU", 1)))
