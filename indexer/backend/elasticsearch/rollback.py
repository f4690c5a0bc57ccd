"""``medsearch generations list / rollback N`` on Elasticsearch: the kept generations, and serving one again.

As on the embedded backend (:func:`indexer.backend.embedded.generations.restore_generation`), a rollback
publishes a **copy** of the kept generation N as the next generation number, not an alias swap back to
N's own indices: every rule of an indexing run then still holds — generations above the live one are an
abandoned run's leftovers (the next run drops them: an alias moved back to N would make the generation
rolled back from one of them), passage ids continue after every id used (``next_pid``: the higher of
N's and the live one's), and the generation rolled back from stays kept (``keep_generations``) to roll
forward again. The copy is Elasticsearch's ``_clone`` of N's write-blocked indices (hard-linked
segments: seconds, whatever the size), published by the same single ``_aliases`` request as a run.
The caller holds the index lock (no indexing run writes meanwhile).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from indexer.backend.elasticsearch import resume
from indexer.backend.elasticsearch.generations import FAMILIES, Generations
from indexer.backend.elasticsearch.writer import generation_meta


@dataclass
class KeptGeneration:
    number: int
    live: bool
    updated_at: str
    encoder: str
    documents: int
    meta: dict[str, Any]


def kept(client: Any, generations: Generations) -> list[KeptGeneration]:
    """The published generations still kept, oldest first (an unpublished run's indices are left out)."""
    live = generations.live()
    if live is None:
        return []
    out = []
    for number in generations.all():
        if number > live:
            continue  # a run in progress or abandoned
        meta = generation_meta(client, generations.index("passages", number))
        if number != live and meta.get(resume.MARKER) != "published":
            continue
        documents = int(client.count(index=generations.index("documents", number))["count"]) \
            if generations.exists("documents", number) else 0
        out.append(KeptGeneration(number, number == live, str(meta.get("updated_at", "")), str(meta.get("encoder", "")),
                                  documents, meta))
    return out


def rollback(client: Any, generations: Generations, number: int, keep: int) -> int:
    """Publish a copy of the kept generation *number* as the next generation; its number."""
    generations_kept = {g.number: g for g in kept(client, generations)}
    live = next((g for g in generations_kept.values() if g.live), None)
    if live is None:
        raise ValueError(f"nothing is published under the aliases {generations.alias('passages')}")
    if number == live.number:
        raise ValueError(f"generation {number} is already the live one")
    if number not in generations_kept:
        raise ValueError(f"generation {number} is not kept (kept: {', '.join(map(str, sorted(generations_kept)))})")
    source = generations_kept[number].meta
    new = max([*generations.all(), live.number, int(live.meta.get("generation", 0))]) + 1
    copied = []
    try:
        for family in FAMILIES:
            if generations.exists(family, number):
                target = generations.index(family, new)
                client.indices.clone(index=generations.index(family, number), target=target,
                                     settings={"index.blocks.write": False})
                copied.append(target)
        meta = {**source, "generation": new, resume.MARKER: "published",
                "updated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "next_pid": max(int(source.get("next_pid", 0)), int(live.meta.get("next_pid", 0))),
                "rolled_back_to": number, "rolled_back_from": live.number}
        client.indices.put_mapping(index=generations.index("passages", new), meta=meta)
        client.indices.put_settings(index=",".join(copied), settings={"index.blocks.write": True})
        generations.publish(new, keep=max(keep, 2))  # the generation rolled back from stays, to roll forward
    except BaseException:
        generations.drop(new)
        raise
    return new
