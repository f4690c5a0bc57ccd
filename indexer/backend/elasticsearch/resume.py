"""Resuming a killed Elasticsearch run from its last committed batch (issue #11 items 1-2 on Elasticsearch).

Like the embedded backend (:mod:`indexer.backend.embedded.resume`), a run writes a generation that no
alias points to and commits it after every batch (:meth:`ElasticsearchWriter.commit`: bulk flushed,
indices refreshed, ``next_pid`` saved in the passages index's ``_meta``). The passages index's
``_meta`` also carries a *resume marker*: the generation the run started from (``base``), ``rebuild``,
the encoder and dimension, and the run's owner (host, pid). When the process dies, the next run that
starts from the same point adopts that generation instead of dropping it; the documents already there
have their content hash, so the pipeline skips them and only the rest is parsed, encoded and written.

A kill can land in the middle of a bulk request, so a document's passages and its document entry may
disagree (the entry lists the passage ids it owns, ``pids``). :func:`repair` makes them agree before
the run goes on: a document whose listed passages are not exactly the passages naming it is removed
(entry and passages; the resumed run adds it again), and passages of no document are deleted.

The live generation is never touched: it is write-blocked, and aliases move only at publish.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from elasticsearch import Elasticsearch
from elasticsearch.helpers import scan

from indexer.backend.elasticsearch.bulk import bulk_write
from indexer.backend.elasticsearch.generations import Generations

#: key of the resume marker in the passages index's ``_meta``
MARKER = "resume"


def marker(base: int | None, rebuild: bool, encoder: str, dim: int, fmt: int) -> dict[str, Any]:
    """What a run starts from; an abandoned generation is adopted only by a run with the same one."""
    return {"base": base, "rebuild": bool(rebuild), "encoder": encoder, "dim": int(dim), "format": fmt}


def owner() -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid()}


def owner_alive(meta: dict[str, Any]) -> bool:
    """Whether the run that owns a generation still runs on this machine (then it is neither adopted
    nor dropped). A run on another host cannot be probed: the index lock (``indexer/jobs/lock.py``)
    is what keeps two runs apart; a generation owned elsewhere counts as abandoned."""
    from indexer.backend.embedded.generations import process_alive

    who = meta.get("owner") or {}
    pid = who.get("pid")
    return (
        who.get("host") == socket.gethostname()
        and isinstance(pid, int)
        and pid != os.getpid()
        and process_alive(pid)
    )


def passages_meta(client: Elasticsearch, index: str) -> dict[str, Any]:
    body = client.indices.get_mapping(index=index).body
    return next(iter(body.values()))["mappings"].get("_meta", {}) or {}


def unpublished(client: Elasticsearch, generations: Generations, live: int | None) -> list[tuple[int, dict[str, Any]]]:
    """(generation, its passages ``_meta``) of every generation newer than the live one, oldest first."""
    out = []
    for generation in generations.all():
        if live is not None and generation <= live:
            continue
        try:
            meta = passages_meta(client, generations.index("passages", generation))
        except Exception:  # noqa: BLE001 - a half-created generation: no readable mapping
            meta = {}
        out.append((generation, meta))
    return out


def find_resumable(candidates: list[tuple[int, dict[str, Any]]], wanted: dict[str, Any]) -> int | None:
    """The newest abandoned generation whose marker is *wanted* (and whose documents index exists)."""
    found = [g for g, meta in candidates if meta.get(MARKER) == wanted and not owner_alive(meta)]
    return max(found) if found else None


def text_state(client: Elasticsearch, passages: str, documents: str) -> tuple[dict[str, list[int]], dict[int, str]]:
    """(document id → its listed passage ids, passage id → the document it names) of two indices
    (refreshed first: a killed run's last bulk may not be searchable yet)."""
    client.indices.refresh(index=f"{passages},{documents}")
    listed = {
        hit["_id"]: [int(p) for p in hit["_source"].get("pids", [])]
        for hit in scan(client, index=documents, query={"query": {"match_all": {}}, "_source": ["pids"]}, size=1000)
    }
    named = {
        int(hit["_id"]): hit["_source"].get("doc_id", "")
        for hit in scan(client, index=passages, query={"query": {"match_all": {}}, "_source": ["doc_id"]}, size=1000)
    }
    return listed, named


def disagreements(listed: dict[str, list[int]], named: dict[int, str]) -> tuple[set[str], set[int]]:
    """(documents whose listed passages differ from the passages naming them, passages of no document)."""
    of: dict[str, set[int]] = {}
    for pid, doc_id in named.items():
        of.setdefault(doc_id, set()).add(pid)
    dirty = {d for d, pids in listed.items() if set(pids) != of.get(d, set())}
    stray = {pid for pid, doc_id in named.items() if doc_id not in listed}
    return dirty, stray


def repair(client: Elasticsearch, generations: Generations, generation: int) -> list[str]:
    """Make an adopted generation's documents and passages agree (see module docstring); returns the
    ids of the documents removed (the resumed run adds them again)."""
    passages, documents = generations.index("passages", generation), generations.index("documents", generation)
    listed, named = text_state(client, passages, documents)
    dirty, stray = disagreements(listed, named)
    if not dirty and not stray:
        return []
    pids = set(stray)
    for doc_id in dirty:
        pids |= set(listed[doc_id])
        pids |= {pid for pid, owner_id in named.items() if owner_id == doc_id}
    actions = [{"_op_type": "delete", "_index": passages, "_id": str(pid)} for pid in sorted(pids)]
    actions += [{"_op_type": "delete", "_index": documents, "_id": doc_id} for doc_id in sorted(dirty)]
    bulk_write(client, actions)
    client.indices.refresh(index=f"{passages},{documents}")
    return sorted(dirty)
