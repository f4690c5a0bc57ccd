"""Named points where a test can make the indexer die as a power cut would (SIGKILL, no cleanup).

``MEDSEARCH_CRASH_AT=<name>`` in a run's environment kills that process when it reaches
``crash_point(<name>)``; ``<name>@<n>`` kills it the *n*-th time it gets there (a batch checkpoint in
the middle of a run, not the first one). Crash-safety tests run real indexing subprocesses with it and
check that the published generation is intact and that the next run completes the work. Unset, a
crash point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "MEDSEARCH_CRASH_AT"
_hits: dict[str, int] = {}


def crash_point(name: str) -> None:
    """Die here, at once, if the environment asks for it (tests only)."""
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    target, _, nth = wanted.partition("@")
    if target != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] >= (int(nth) if nth.isdigit() else 1):
        os.kill(os.getpid(), signal.SIGKILL)
