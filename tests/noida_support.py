"""A noida-db (the ES-compatible test server) of a test's own, which the test may pause (SIGSTOP) or stop.

The shared server of ``make test`` (``MEDSEARCH_ES_URL``) is never paused: other tests use it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def noida_binary() -> str | None:
    for candidate in (os.environ.get("NOIDA_DB"), str(Path(sys.executable).parent / "noida-db"), shutil.which("noida-db")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_cluster/health", timeout=2) as r:
            return json.load(r).get("status") in ("green", "yellow")
    except Exception:  # noqa: BLE001
        return False


class Noida:
    def __init__(self, process: subprocess.Popen, url: str) -> None:
        self.process, self.url = process, url

    def pause(self) -> None:
        os.killpg(self.process.pid, signal.SIGSTOP)  # the launcher and its server child: accepts, never answers

    def resume(self) -> None:
        os.killpg(self.process.pid, signal.SIGCONT)


@contextmanager
def own_noida(data_dir: Path) -> Iterator[Noida]:
    binary = noida_binary()
    assert binary, "noida-db is not installed"
    port = _free_port()
    process = subprocess.Popen(
        [binary, "start", "--only", "elasticsearch", "--data-dir", str(data_dir), "--host", "127.0.0.1",
         "--elasticsearch-port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while not _healthy(url):
            assert process.poll() is None and time.monotonic() < deadline, "noida-db did not start"
            time.sleep(0.2)
        yield Noida(process, url)
    finally:
        for sig in (signal.SIGCONT, signal.SIGTERM):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                pass
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
