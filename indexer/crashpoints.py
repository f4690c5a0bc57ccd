"""Named points where a test can make the indexer die as a power cut would (SIGKILL, no cleanup).

``MEDSEARCH_CRASH_AT=<name>`` in a run's environment kills that process when it reaches
``crash_point(<name>)``; ``<name>@<n>`` kills it the *n*-th time it gets there (a batch checkpoint in
the middle of a run, not the first one). Crash-safety tests run real indexing subprocesses with it and
check that the published generation is intact and that the next run completes the work. Unset, a
crash point costs two dictionary lookups.

``MEDSEARCH_PAUSE_AT=<name>[@<n>]`` makes the process sleep there instead (``MEDSEARCH_PAUSE_SECONDS``,
default 60): a test that kills the run *from outside* once it sees a committed batch gets a window that
does not depend on how loaded the machine is (without it, a fast run could commit every batch between
two polls of a busy test, and the kill would land after the last one).
"""

from __future__ import annotations

import os
import signal
import time

ENV = "MEDSEARCH_CRASH_AT"
PAUSE_ENV = "MEDSEARCH_PAUSE_AT"
_hits: dict[tuple[str, str], int] = {}


def _arrival(env: str, name: str) -> tuple[int, int] | None:
    """(how many times this point was reached, the wanted arrival) when *env* names this point."""
    wanted = os.environ.get(env)
    if not wanted:
        return None
    target, _, nth = wanted.partition("@")
    if target != name:
        return None
    key = (env, name)
    _hits[key] = _hits.get(key, 0) + 1
    return _hits[key], int(nth) if nth.isdigit() else 1


def crash_point(name: str) -> None:
    """Die here, at once, if the environment asks for it; or pause here once (tests only)."""
    crash = _arrival(ENV, name)
    if crash and crash[0] >= crash[1]:
        os.kill(os.getpid(), signal.SIGKILL)
    pause = _arrival(PAUSE_ENV, name)
    if pause and pause[0] == pause[1]:
        time.sleep(float(os.environ.get("MEDSEARCH_PAUSE_SECONDS", "60")))
