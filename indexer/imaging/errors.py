"""The single exception the imaging package raises for an image it cannot read.

Callers (the indexer, the API) catch one type and show ``reason`` to a person:
the reason says what is wrong with the file and, where there is one, what to
do about it (e.g. which pip package decodes a transfer syntax).
"""

from __future__ import annotations

from pathlib import Path


class ImageReadError(Exception):
    """An image file could not be turned into pixels.

    ``reason`` is a short human-readable sentence; ``source`` names the file
    (or ``""`` when the caller passed an in-memory dataset).
    """

    def __init__(self, reason: str, source: str | Path = "") -> None:
        self.reason = reason
        self.source = str(source)
        super().__init__(f"{self.source}: {reason}" if self.source else reason)
