"""``medsearch check`` on Elasticsearch: do the published generation's indices agree with each other?

On Elasticsearch a passage's text fields and its vector are one ``_source`` (the lexical and dense
"stores" cannot drift apart), but a generation is still several indices written by separate bulk
requests: the documents index (each entry lists its passage ids, ``pids``), the passages index and
one index per image space, plus the aliases that publish them. This check reads the live generation
through its aliases and reports:

* alias state: every family's alias on exactly one index, all of the same generation; the passages
  and documents aliases present; the generation's ``_meta`` readable (encoder, dim, ``next_pid``
  above every passage id);
* documents vs passages: passages of no document (orphans), passages a document lists that are
  missing, passages naming another document than the one listing them, passages listed twice,
  passages without a vector;
* image vectors: vectors of no image document (orphans); image documents without one (a note);
* notes: unpublished generations newer than the live one (a run in progress, or a killed run the next
  run resumes), and documents whose source file no longer exists.

The comparison itself (:func:`compare_generation`) is a pure function of what was read, so it is
tested without a server too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from indexer.check import CheckReport, _compare, _sample


def compare_aliases(report: CheckReport, aliases: dict[str, list[str]], number) -> int | None:  # noqa: ANN001
    """Check alias → indices (family → holders); return the live generation number (None: unusable)."""
    generations: dict[str, int] = {}
    for family, holders in sorted(aliases.items()):
        if len(holders) > 1:
            report.problems.append(f"aliases: {family} points at {len(holders)} indices at once: {', '.join(holders)}")
        if holders:
            generations[family] = number(holders[-1])
    for family in ("passages", "documents"):
        if family not in generations:
            report.problems.append(f"aliases: no {family} alias: nothing published (or a half-published generation)")
    if len(set(generations.values())) > 1:
        shown = ", ".join(f"{f}={g}" for f, g in sorted(generations.items()))
        report.problems.append(f"aliases: families point at different generations ({shown}): searches would mix them")
    return generations.get("passages")


def compare_generation(
    report: CheckReport,
    documents: dict[str, dict[str, Any]],
    passages: dict[int, dict[str, Any]],
    images: dict[str, set[str]],
    meta: dict[str, Any],
) -> None:
    """Fill *report* from one generation's contents.

    *documents*: id → ``{"kind", "pids", "source_path"}``; *passages*: pid → ``{"doc_id", "has_vector"}``;
    *images*: space → ids of the documents having a vector; *meta*: the passages index's ``_meta``.
    """
    report.documents, report.passages = len(documents), len(passages)
    report.lexical_passages = len(passages)  # one _source per passage: text fields and vector together
    report.dense_vectors = sum(1 for p in passages.values() if p.get("has_vector"))
    listed: dict[int, str] = {}
    twice: set[int] = set()
    for doc_id, entry in documents.items():
        for pid in entry.get("pids", []):
            if int(pid) in listed:
                twice.add(int(pid))
            listed[int(pid)] = doc_id
    if twice:
        report.problems.append(f"documents: {len(twice)} passage ids listed by more than one document: {_sample(twice)}")
    _compare(report, "passages", set(listed), set(passages), "passages")
    wrong = {pid for pid, p in passages.items() if pid in listed and p.get("doc_id") != listed[pid]}
    if wrong:
        report.problems.append(f"passages: {len(wrong)} passages name another document than the one listing them: {_sample(wrong)}")
    no_vector = {pid for pid, p in passages.items() if not p.get("has_vector")}
    if no_vector:
        report.problems.append(f"passages: {len(no_vector)} passages without a vector (dense search cannot find them): {_sample(no_vector)}")
    without = {d for d, e in documents.items() if e.get("kind") != "image" and not e.get("pids")}
    if without:
        report.notes.append(f"documents: {len(without)} non-image documents without passages: {_sample(without)}")

    image_docs = {d for d, e in documents.items() if e.get("kind") == "image"}
    report.image_documents = len(image_docs)
    for space, ids in sorted(images.items()):
        report.image_vectors[space] = len(ids)
        orphans = ids - image_docs
        if orphans:
            report.problems.append(f"images ({space}): {len(orphans)} vectors of no image document: {_sample(orphans)}")
        if image_docs - ids:
            report.notes.append(f"images ({space}): {len(image_docs - ids)} image documents without a vector (unreadable pixels?)")

    if not meta.get("encoder") or not meta.get("dim"):
        report.problems.append("meta: the passages index has no encoder/dim in its _meta (not written by medsearch?)")
    top = max(passages, default=-1)
    if passages and int(meta.get("next_pid", 0)) <= top:
        report.problems.append(f"meta: next_pid {meta.get('next_pid')} is not above the largest passage id {top} (ids would be reused)")

    gone = {d for d, e in documents.items() if e.get("source_path") and not Path(e["source_path"]).exists()}
    report.missing_sources = len(gone)
    if gone:
        report.notes.append(f"{len(gone)} documents whose source file no longer exists (index with --prune to drop them)")


def check_elasticsearch(settings: Any, client: Any = None) -> CheckReport:
    """Check the generation the aliases of ``backend.index_prefix`` publish (see module docstring)."""
    from elasticsearch import NotFoundError
    from elasticsearch.helpers import scan

    from indexer.backend.elasticsearch.client import make_client
    from indexer.backend.elasticsearch.generations import FAMILIES, IMAGE_FAMILIES, Generations
    from indexer.backend.elasticsearch.resume import MARKER, owner_alive, unpublished
    from indexer.backend.elasticsearch.writer import generation_meta

    backend = settings.backend
    own_client = client is None
    client = client if client is not None else make_client(backend)
    generations = Generations(client, backend.index_prefix)
    report = CheckReport(folder=f"{backend.url} (aliases {backend.index_prefix}-*)")
    try:
        aliases: dict[str, list[str]] = {}
        for family in FAMILIES:
            try:
                holders = sorted(client.indices.get_alias(name=generations.alias(family)).body)
            except NotFoundError:
                holders = []
            if holders:
                aliases[family] = holders
        live = compare_aliases(report, aliases, generations.number)
        if live is None or not report.ok:
            return report
        report.folder = f"{backend.url} generation {live} ({generations.index('passages', live)})"
        meta = generation_meta(client, aliases["passages"][-1])

        def read(index: str, fields: list[str]) -> list[dict[str, Any]]:
            return list(scan(client, index=index, query={"query": {"match_all": {}}, "_source": fields}, size=1000))

        documents = {h["_id"]: h["_source"] for h in read(aliases["documents"][-1], ["kind", "pids", "source_path"])}
        passages: dict[int, dict[str, Any]] = {}
        for hit in read(aliases["passages"][-1], ["doc_id"]):
            passages[int(hit["_id"])] = {"doc_id": hit["_source"].get("doc_id"), "has_vector": False}
        with_vector = scan(client, index=aliases["passages"][-1],
                           query={"query": {"exists": {"field": "vector"}}, "_source": False}, size=1000)
        for hit in with_vector:
            if int(hit["_id"]) in passages:
                passages[int(hit["_id"])]["has_vector"] = True
        images = {space: {h["_id"] for h in read(aliases[family][-1], ["key"])}
                  for space, family in IMAGE_FAMILIES.items() if family in aliases}
        compare_generation(report, documents, passages, images, meta)
        for generation, run_meta in unpublished(client, generations, live):
            state = "in progress" if owner_alive(run_meta) else (
                "resumable by the next run" if isinstance(run_meta.get(MARKER), dict) else "abandoned (dropped by the next run)")
            report.notes.append(f"unpublished generation {generation} newer than the live one: {state}")
        return report
    finally:
        if own_client:
            client.close()
