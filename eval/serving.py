"""Start the real `rag serve` in a subprocess on a free loopback port: for the tests and
for `eval.load`."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    url: str

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=120, **kwargs)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def children(self) -> list[int]:
        """The server's worker processes (and multiprocessing's helper), by pid."""
        try:
            return [
                int(p) for p in Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
            ]
        except OSError:
            return []

    def kill(self) -> None:
        """SIGKILL the server, and wait until its workers, which die with it, are dead."""
        children = self.children()
        self.process.kill()
        self.process.wait()
        deadline = time.monotonic() + 10
        while any(running(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.02)


def running(pid: int) -> bool:
    """Whether process ``pid`` still runs. A dead worker of a killed server stays a zombie
    until the init process reaps it, which here takes about 1.5 s: dead all the same."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return not any(line.startswith("State:") and line.split()[1] in ("Z", "X") for line in status.splitlines())


def start(index: Path, *args: str, headers: dict[str, str] | None = None, timeout: float = 120) -> Server:
    """Start a server on ``index`` and wait until /health answers."""
    port = free_port()
    log = tempfile.TemporaryFile(mode="w+")  # a file, not a pipe: a chatty server never blocks on it
    process = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "serve", "--index", str(index), "--port", str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=log,
        text=True,
    )
    server = Server(process, f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"rag serve exited with {process.returncode}: {log.read()}")
        try:
            if httpx.get(f"{server.url}/health", headers=headers, timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    server.kill()
    raise RuntimeError("rag serve did not come up")
