"""Which documents only negate a query's finding: what ``search.demote_negating_dense`` asks per search.

Why a module and a memo: the dense leg reads meaning, not polarity, so « contrôle post-pose de VVC :
pas de pneumothorax » looks like "pneumothorax after central line"; :meth:`SearchEngine.search`
moves such dense-only documents to the end of the dense ranking. Answering it takes two exact-set
look-ups per query concept (the documents that negate it, those that affirm it), and Tantivy evaluates
a concept's phrase forms over the whole index whatever the candidates (narrowing them to the page's
documents saved ~10 %): +2.6 ms a hybrid query at 100k synthetic passages without this memo
(BENCHMARKS.md, the ``search.demote_negating_dense`` paragraph of the clinical-language section;
``python -m bench.negating_cost``). The sets depend only on the concept, the status and the index
generation — filters are per document and the candidates already passed them — and physicians
query the same findings again and again, so they are kept until the next generation, a bounded
number of them (the larger sets of a big index are a few hundred kB each).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence

NEGATED, AFFIRMED = "negated", "affirmed"  # context statuses (indexer.backend.base.CONTEXT_FIELDS)

#: (concept forms, status) → the documents with a passage mentioning the concept with that status
Lookup = Callable[[list[str], str], set[str]]


class ConceptDocuments:
    """The documents mentioning a concept with one status, memoised (LRU of *size*) until :meth:`clear`."""

    def __init__(self, lookup: Lookup, size: int = 256) -> None:
        self._lookup, self._size = lookup, size
        self._memo: OrderedDict[tuple[tuple[str, ...], str], frozenset[str]] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._memo.clear()

    def __call__(self, forms: Sequence[str], status: str) -> frozenset[str]:
        key = (tuple(forms), status)
        with self._lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
        found = frozenset(self._lookup(list(forms), status))
        with self._lock:
            self._memo[key] = found
            if len(self._memo) > self._size:
                self._memo.popitem(last=False)
        return found


def negating_documents(concepts: Sequence[Sequence[str]], ranked: Sequence[str], documents: ConceptDocuments) -> set[str]:
    """Those of *ranked* whose text negates one of *concepts* and nowhere affirms it (« pas de
    pneumothorax »; "rule out pneumothorax ... No pneumothorax": a suspicion the report then rules out)."""
    candidates, found = set(ranked), set()
    for forms in concepts:
        negating = documents(forms, NEGATED) & candidates
        if negating:
            found |= negating - documents(forms, AFFIRMED)
    return found
