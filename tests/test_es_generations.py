"""The Elasticsearch backend's publication step, without a server: the alias swap is ONE
``_aliases`` request (atomic in Elasticsearch), and old generations go only after it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

pytest.importorskip("elasticsearch")

from elasticsearch import NotFoundError  # noqa: E402

from indexer.backend.elasticsearch.generations import Generations  # noqa: E402


class _Indices:
    def __init__(self, indices: set[str], aliases: dict[str, str]) -> None:
        self.indices, self.aliases, self.calls = indices, aliases, []

    def get_alias(self, name: str):  # noqa: ANN201
        holders = {i: {"aliases": {name: {}}} for a, i in self.aliases.items() if a == name}
        if not holders:
            raise NotFoundError("alias missing", SimpleNamespace(status=404), {})  # type: ignore[arg-type]
        return SimpleNamespace(body=holders)

    def get(self, index: str, **_):  # noqa: ANN003, ANN201
        prefix = index.rstrip("*")
        return SimpleNamespace(body={i: {} for i in self.indices if i.startswith(prefix)})

    def exists(self, index: str) -> bool:
        return index in self.indices

    def update_aliases(self, actions: list) -> None:
        self.calls.append(("update_aliases", actions))

    def delete(self, index: str, **_) -> None:  # noqa: ANN003
        self.calls.append(("delete", index))
        self.indices.discard(index)


def test_publish_swaps_every_alias_in_one_request_then_drops_old() -> None:
    families = ("passages", "documents", "images-descriptor")
    old = {f"ms-{f}-000001" for f in families} | {f"ms-{f}-000002" for f in families}
    new = {f"ms-{f}-000003" for f in ("passages", "documents")}  # the new generation has no images
    indices = _Indices(old | new, {f"ms-{f}": f"ms-{f}-000002" for f in families})
    Generations(SimpleNamespace(indices=indices), "ms").publish(3, keep=2)
    assert indices.calls[0][0] == "update_aliases"
    assert [c[0] for c in indices.calls].count("update_aliases") == 1
    actions = indices.calls[0][1]
    assert {"add": {"index": "ms-passages-000003", "alias": "ms-passages"}} in actions
    assert {"remove": {"index": "ms-passages-000002", "alias": "ms-passages"}} in actions
    # an image space absent from the new generation loses its alias (no mix of generations)
    assert {"remove": {"index": "ms-images-descriptor-000002", "alias": "ms-images-descriptor"}} in actions
    assert not any("add" in a and a["add"]["alias"] == "ms-images-descriptor" for a in actions)
    deleted = {c[1] for c in indices.calls if c[0] == "delete"}
    assert {"ms-passages-000001", "ms-documents-000001"} <= deleted  # keep=2: generation 2 stays
    assert not any(name.endswith("000002") or name.endswith("000003") for name in deleted)
