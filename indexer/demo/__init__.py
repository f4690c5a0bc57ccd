"""Reproducible, entirely fictional demo corpus (reports, FHIR records, articles, DICOM images).

See :mod:`indexer.demo.generate` for the file formats and the ground truth.
"""

from __future__ import annotations

from typing import Any

__all__ = ["generate_corpus"]


def __getattr__(name: str) -> Any:
    # Lazy so that ``python -m indexer.demo.generate`` does not import the module twice.
    if name == "generate_corpus":
        from indexer.demo.generate import generate_corpus

        return generate_corpus
    raise AttributeError(name)
