"""One writer per index directory, across processes: an advisory lock on ``DIR/write.lock``.

A write reads the current vector file, builds a new one and commits; two writers at
once would each build from the same old file and the second commit would drop the
first one's vectors. ``flock`` is released by the kernel when its process dies, so a
killed ingest never leaves a stale lock behind, and readers never take it.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from .errors import IndexBusyError

LOCK_NAME = "write.lock"


POLL_SECONDS = 0.05


class WriteLock:
    """A re-entrant exclusive lock on one index directory. A second writer waits at most
    ``wait`` seconds (none by default: a command is told at once that the index is busy
    rather than left hanging; a server's workers wait for each other's short writes)."""

    def __init__(self, folder: Path, wait: float = 0.0) -> None:
        self.path = folder / LOCK_NAME
        self.wait = wait
        self._fd: int | None = None
        self._depth = 0

    @property
    def held(self) -> bool:
        return self._depth > 0

    def acquire(self) -> None:
        if self._depth == 0:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            deadline = time.monotonic() + self.wait
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "another process"
                        os.close(fd)
                        waited = f" (waited {self.wait:g} s)" if self.wait else ""
                        raise IndexBusyError(
                            f"{self.path.parent}: another writer ({holder}) is changing this index{waited}; try again when it finishes"
                        ) from None
                    time.sleep(POLL_SECONDS)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
            self._fd = fd
        self._depth += 1

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None

    def __enter__(self) -> WriteLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
