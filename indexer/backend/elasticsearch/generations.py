"""Index generations published by an alias swap.

Readers address aliases (``<prefix>-passages``, ``<prefix>-documents``, ``<prefix>-images-descriptor``,
``<prefix>-images-clip``), resolved once per :meth:`~ElasticsearchBackend.refresh` to the physical
indices of one generation (``<prefix>-passages-000042``...). Every indexing run writes a complete new
generation that no alias points to: a rebuild from empty indices, an incremental run from a *clone*
of the live generation (Elasticsearch's ``_clone`` hard-links the segments: seconds, whatever the
size). :meth:`Generations.publish` then moves every alias to it in ONE ``_aliases`` request, which
Elasticsearch applies atomically: a query sees the old generation or the new one, never a half-built
one, and a run that dies before publishing leaves the live generation untouched. Published
generations are write-blocked (immutable); the ``keep`` newest stay, older ones are deleted.
"""

from __future__ import annotations

from elasticsearch import Elasticsearch, NotFoundError

TEXT_FAMILIES: tuple[str, ...] = ("passages", "documents")
#: image vector space → index family (one index per space: models and dimensions differ)
IMAGE_FAMILIES: dict[str, str] = {"descriptor": "images-descriptor", "clip": "images-clip"}
FAMILIES: tuple[str, ...] = (*TEXT_FAMILIES, *IMAGE_FAMILIES.values())


class Generations:
    def __init__(self, client: Elasticsearch, prefix: str = "medsearch") -> None:
        self.client = client
        self.prefix = prefix

    def alias(self, family: str) -> str:
        return f"{self.prefix}-{family}"

    def index(self, family: str, generation: int) -> str:
        return f"{self.prefix}-{family}-{generation:06d}"

    def _holders(self, alias: str) -> list[str]:
        try:
            return sorted(self.client.indices.get_alias(name=alias).body)
        except NotFoundError:
            return []

    def live_indices(self) -> dict[str, str]:
        """Family → the physical index its alias points to now (absent families left out), in ONE
        request (readers call this before every search to notice a new generation)."""
        wanted = {self.alias(family): family for family in FAMILIES}
        # a wildcard never answers 404; other prefixes sharing ours ("medsearch-bench") are filtered out
        body = self.client.indices.get_alias(name=f"{self.prefix}-*").body
        out: dict[str, str] = {}
        for index, entry in sorted(body.items()):
            for alias in entry.get("aliases", {}):
                if alias in wanted:
                    out[wanted[alias]] = index
        return out

    def number(self, index: str) -> int:
        return int(index.rsplit("-", 1)[1])

    def live(self) -> int | None:
        """The generation the passages alias points to (None: nothing published yet)."""
        holders = self._holders(self.alias("passages"))
        return self.number(holders[-1]) if holders else None

    def all(self) -> list[int]:
        """Every generation with a passages index, oldest first (published or not)."""
        pattern = f"{self.alias('passages')}-*"
        names = self.client.indices.get(index=pattern, allow_no_indices=True, expand_wildcards="open").body
        out = []
        for name in names:
            try:
                out.append(self.number(name))
            except ValueError:
                continue
        return sorted(out)

    def exists(self, family: str, generation: int) -> bool:
        return bool(self.client.indices.exists(index=self.index(family, generation)))

    def publish(self, generation: int, keep: int = 2) -> None:
        """Point every alias at *generation* in one atomic request, then drop generations older than
        the *keep* newest published ones (the live one included)."""
        actions: list[dict] = []
        for family in FAMILIES:
            alias = self.alias(family)
            target = self.index(family, generation)
            for holder in self._holders(alias):
                if holder != target:
                    actions.append({"remove": {"index": holder, "alias": alias}})
            if self.exists(family, generation):
                actions.append({"add": {"index": target, "alias": alias}})
        if actions:
            self.client.indices.update_aliases(actions=actions)
        older = [g for g in self.all() if g < generation]
        for old in older[: max(0, len(older) - (keep - 1))]:
            self.drop(old)

    def drop(self, generation: int) -> None:
        """Delete every index of *generation* (an abandoned run, or an old published one)."""
        for family in FAMILIES:
            self.client.indices.delete(index=self.index(family, generation), ignore_unavailable=True)
