"""Index generations published by an alias swap.

Readers only ever address aliases (``medsearch-passages``, ``medsearch-documents``,
``medsearch-images-descriptor``, ``medsearch-images-clip``). A rebuild writes a complete new set of
physical indices (``medsearch-passages-<generation>``...) that no alias points to, and
:meth:`Generations.publish` moves every alias to it in ONE ``_aliases`` request, which Elasticsearch
applies atomically: a query sees either the old set or the new one, never a half-built one. Older
generations are then deleted (``keep`` of them stay, for a quick roll-back by hand).

Incremental runs write into the live generation's indices, which have ``refresh_interval: -1``:
their changes become visible at the backend's explicit refresh on commit.
"""

from __future__ import annotations

import time
import uuid

from elasticsearch import Elasticsearch, NotFoundError

FAMILIES: tuple[str, ...] = ("passages", "documents", "images-descriptor", "images-clip")


class Generations:
    def __init__(self, client: Elasticsearch, prefix: str = "medsearch") -> None:
        self.client = client
        self.prefix = prefix

    def alias(self, family: str) -> str:
        return f"{self.prefix}-{family}"

    def index(self, family: str, generation: str) -> str:
        return f"{self.prefix}-{family}-{generation}"

    @staticmethod
    def new_id() -> str:
        """Sortable by creation time, unique across concurrent writers."""
        now = time.time_ns()
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now // 1_000_000_000))
        return f"g{stamp}{now % 1_000_000_000:09d}{uuid.uuid4().hex[:4]}"

    def _holders(self, alias: str) -> list[str]:
        try:
            return sorted(self.client.indices.get_alias(name=alias).body)
        except NotFoundError:
            return []

    def live(self) -> str | None:
        """The generation the passages alias points to (None: nothing published yet)."""
        holders = self._holders(self.alias("passages"))
        if not holders:
            return None
        return holders[-1][len(self.alias("passages")) + 1 :]

    def all(self) -> list[str]:
        """Every generation that has a passages index, oldest first (published or not)."""
        pattern = f"{self.alias('passages')}-*"
        names = self.client.indices.get(index=pattern, allow_no_indices=True, expand_wildcards="open").body
        start = len(self.alias("passages")) + 1
        return sorted(name[start:] for name in names)

    def exists(self, family: str, generation: str) -> bool:
        return bool(self.client.indices.exists(index=self.index(family, generation)))

    def publish(self, generation: str, keep: int = 0) -> None:
        """Point every alias at *generation* in one atomic request, then drop old generations."""
        actions: list[dict] = []
        for family in FAMILIES:
            alias = self.alias(family)
            target = self.index(family, generation)
            has_target = self.exists(family, generation)
            for holder in self._holders(alias):
                if holder != target:
                    actions.append({"remove": {"index": holder, "alias": alias}})
            if has_target:
                actions.append({"add": {"index": target, "alias": alias}})
        if actions:
            self.client.indices.update_aliases(actions=actions)
        self.drop_older_than(generation, keep)

    def drop_older_than(self, generation: str, keep: int = 0) -> None:
        older = [g for g in self.all() if g < generation]
        for old in older[: max(0, len(older) - keep)]:
            self.drop(old)

    def drop(self, generation: str) -> None:
        """Delete every index of *generation* (an abandoned rebuild, or an old published one)."""
        for family in FAMILIES:
            self.client.indices.delete(index=self.index(family, generation), ignore_unavailable=True)
