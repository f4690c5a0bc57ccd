"""A key for evaluation indexes: a hash of everything that changes what an index contains.

Why: the Open-i tables did not reproduce on a fresh index (dense EN 0.759 vs the documented 0.748)
because the runner reused whatever index sat in its work directory, whichever code and settings had
built it. An evaluation index now lives in a folder named by this key, so changing the indexing code,
the clinical rules and word lists, the settings or the encoder (and its passage runtime) builds a new
one, and an unchanged setup reuses the old one safely.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: what decides an index's content: the indexing code and the clinical configuration (rules, lexicon)
INDEXING_SOURCES = ("indexer",)  # the code, and indexer/configs/ (clinical rules, lexicon, defaults)


def _files(paths: Iterable[str]) -> list[Path]:
    out: list[Path] = []
    for rel in paths:
        path = ROOT / rel
        if path.is_file():
            out.append(path)
        elif path.is_dir():
            out += [p for p in path.rglob("*") if p.is_file() and p.suffix in {".py", ".yaml", ".yml", ".json", ".tsv", ".csv"}
                    and "__pycache__" not in p.parts]
    return sorted(out)


def code_hash(paths: Iterable[str] = INDEXING_SOURCES) -> str:
    digest = hashlib.sha256()
    for path in _files(paths):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def index_key(settings: dict, encoder_fingerprint: str, corpus: Path | None = None) -> str:
    """12 hex digits over the indexing code, the settings that shape the index, the encoder and the
    corpus folder's file names and sizes (a changed corpus is a different index too)."""
    digest = hashlib.sha256()
    digest.update(code_hash().encode())
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    digest.update(encoder_fingerprint.encode())
    if corpus is not None and corpus.exists():
        for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
            digest.update(f"{path.relative_to(corpus)}:{path.stat().st_size}".encode())
    return digest.hexdigest()[:12]


def fingerprint(encoder: object) -> str:
    """The encoder's own fingerprint (name + passage runtime) when it has one, else its name and dim."""
    return str(getattr(encoder, "fingerprint", None) or f"{getattr(encoder, 'name', type(encoder).__name__)}:{getattr(encoder, 'dim', '')}")
