"""Named points where a test can make the indexer die as a power cut would (SIGKILL, no cleanup).

``MEDSEARCH_CRASH_AT=<name>`` in a run's environment kills that process when it reaches
``crash_point(<name>)``. Crash-safety tests run real indexing subprocesses with it and check that the
published generation is intact and that the next run completes the work. Unset, a crash point costs
one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "MEDSEARCH_CRASH_AT"


def crash_point(name: str) -> None:
    """Die here, at once, if the environment asks for it (tests only)."""
    if os.environ.get(ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
