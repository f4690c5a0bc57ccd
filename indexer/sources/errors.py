"""The one error a parser raises for a source file it cannot turn into documents."""

from __future__ import annotations

from pathlib import Path


class SourceError(Exception):
    """A source file was skipped; ``reason`` is meant for the person running the indexer."""

    def __init__(self, path: Path | str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason
