"""Keep what the API loads at start-up out of Python's full garbage collections.

Why: once the index and the encoder are loaded, the process holds ~250k objects the cyclic garbage
collector tracks, and a full (generation 2) collection walks them all: ~100 ms at 100k passages. A
results-by-patient request for a common word allocates enough surviving objects (every match's hit,
documents, counts) to set one off every few requests, so these pauses were a sixth of that endpoint's
time and most of its p95 (measured in process, 120 lexical by-patient requests: 11 full collections,
1,167 of 7,060 ms). :func:`gc.freeze` moves everything alive after the warm-up into the permanent
generation, which collections skip; reference counting still frees those objects as usual.

The cost: a reference cycle among the frozen objects is never collected (the first generation's
readers, once a publish replaces them, are freed by reference counting, any cycle among them stays).
That is once per process, bounded by what was loaded at start-up.
"""

from __future__ import annotations

import gc


def freeze_loaded_objects() -> None:
    """Collect once, then freeze every object still alive (call after the API's warm-up)."""
    gc.collect()
    gc.freeze()
