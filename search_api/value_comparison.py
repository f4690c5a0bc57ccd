"""A cohort criterion that compares a measured value with a threshold: « FEVG < 40 % », « créatinine > 150 ».

Why: the engine reads a query as words. « FEVG < 40 % » was a criterion satisfied by any document
holding « FEVG » and « 40 » anywhere: « Furosémide 40 mg » beside « insuffisance cardiaque à FEVG
altérée », or « FEVG à 40 % », which is not below 40. A research associate screening for a trial got
patients whose evidence was a drug dose. Here such a query is split into its label (searched as
usual) and a comparison checked on the document's text: the label, then within a few words of the
same sentence a number (with the query's unit when it names one) that satisfies the comparison.

What it does not do: synonyms of the label (« LVEF 34 % » for « FEVG »: write one criterion each),
ranges (« 30-40 % »), or values written in words. A document naming the label without a value
(« FEVG altérée ») does not satisfy the criterion: its value is unknown.
"""

from __future__ import annotations

import html
import operator
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, "≤": operator.le, "=<": operator.le,
    ">": operator.gt, ">=": operator.ge, "≥": operator.ge, "=>": operator.ge,
}
_QUERY = re.compile(
    r"^\s*(?P<label>[^\W\d][^<>=≤≥]*?)\s*(?P<op><=|>=|=<|=>|≤|≥|<|>)\s*"
    r"(?P<value>\d+(?:[.,]\d+)?)\s*(?P<unit>%|[^\W\d][\w/µ]*)?\s*$"
)
#: between the label and its value: a few characters, no digit (another value), no sentence end
MAX_GAP_CHARS = 40
_NUMBER = r"(?P<number>\d+(?:[.,]\d+)?)"
_SENTENCE_END = re.compile(r"[.;\n]")


class _FoldTable(dict):
    """Code point → its folded character, learnt on first sight (``str.translate``'s table).

    Why: /search checks every label match of a comparison query (403 documents for « créatinine > 150 »
    on the demo index); a Python step per character was 9/10 of that query's time, a table look-up in C is not."""

    def __missing__(self, code: int) -> str:
        c = chr(code)
        folded = self[code] = (unicodedata.normalize("NFD", c)[:1] or c).lower()
        return folded


_FOLD = _FoldTable()


def fold(text: str) -> str:
    """Lower case, accents removed, one character for one (offsets in the folded text are the original's)."""
    return text.translate(_FOLD)


def _number(text: str) -> float:
    return float(text.replace(",", "."))


@dataclass(frozen=True)
class ValueComparison:
    """« label op threshold unit », e.g. FEVG < 40 %."""

    label: str
    op: str
    threshold: float
    unit: str = ""

    def __str__(self) -> str:
        """As the portal's interpretation line shows it: « FEVG < 40 % » (a decimal with a comma)."""
        value = f"{self.threshold:g}".replace(".", ",")
        return f"{self.label} {self.op} {value} {self.unit}".strip()

    def holds(self, value: float) -> bool:
        return _OPERATORS[self.op](value, self.threshold)

    def _pattern(self) -> re.Pattern[str]:
        label = r"\s+".join(re.escape(w) for w in fold(self.label).split())
        unit = r"\s*" + re.escape(fold(self.unit)) if self.unit else ""
        gap = r"(?P<gap>[^\d.;\n]{0,%d}?)" % MAX_GAP_CHARS
        return re.compile(r"(?<!\w)" + label + r"(?!\w)" + gap + _NUMBER + r"(?![\d,.]\d)" + unit)

    def evidence(self, text: str) -> str | None:
        """The sentence of *text* where the label's value satisfies the comparison, as a snippet (HTML
        escaped, label to value in ``<mark>``); None when no value of the label does."""
        folded = fold(text)
        for found in self._pattern().finditer(folded):
            if not self.holds(_number(found.group("number"))):
                continue
            start = max((m.end() for m in _SENTENCE_END.finditer(folded, 0, found.start())), default=0)
            end_match = _SENTENCE_END.search(folded, found.end())
            end = end_match.end() if end_match else len(text)
            return (
                html.escape(text[start:found.start()].lstrip()) + "<mark>" + html.escape(text[found.start():found.end()])
                + "</mark>" + html.escape(text[found.end():end].rstrip())
            )
        return None


def parse(query: str) -> ValueComparison | None:
    """The comparison a query asks for (« FEVG < 40 % »), or None for an ordinary query."""
    found = _QUERY.match(query or "")
    if not found:
        return None
    unit = (found.group("unit") or "").strip()
    return ValueComparison(found.group("label").strip(), found.group("op"), _number(found.group("value")), unit)


def satisfying(comparison: ValueComparison, documents: Mapping[str, Any]) -> dict[str, str]:
    """Document id → the snippet giving a value that satisfies *comparison*, for those of *documents*
    (full documents: their ``text`` is read) that have one.

    The one check behind a cohort criterion, /search and /search/patients of a comparison query: the
    three must count the same documents."""
    found = {}
    for doc_id, document in documents.items():
        snippet = comparison.evidence(getattr(document, "text", "") or "")
        if snippet:
            found[doc_id] = snippet
    return found
