"""How often does context detection agree with the demo corpus' ground truth?

For every text report of ``data/demo`` (``.txt``/``.md``; PDFs need the indexer's parser), the lexicon
finds the concept mentions, :func:`split_by_context` gives each mention a status, and the mentions
are folded into one status per concept with the generator's own rule (the report's final definite
word — affirmed or negated — wins, a hypothesis only counts when nothing definite is said; family
history is kept apart). The result is compared with ``ground_truth.json``.

This measures the context rules and trigger lists on realistic report layouts (headings, bullets,
indication vs conclusion) and is the quickest way to see which trigger is missing::

    python -m eval.context_agreement data/demo            # summary
    python -m eval.context_agreement data/demo --errors   # and every disagreement

Ambiguous abbreviations (« EP ») are skipped: resolving them is not the context module's job.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from indexer.clinical.context import ContextStatus, split_by_context, status_at
from indexer.clinical.lexicon import Lexicon, load_default_lexicon

# Lexicon concepts that the demo vocabulary files under another id.
_DEMO_ALIASES = {"stroke": "ischemic_stroke"}  # the demo calls its ischemic strokes « AVC »
_HEADER_END = "\n\n"


@dataclass(frozen=True)
class Disagreement:
    doc_id: str
    concept: str
    expected: str
    found: str


def document_statuses(text: str, language: str, lexicon: Lexicon, concepts: set[str]) -> dict[str, list[str]]:
    """Concept → statuses of its mentions in text order (only ``concepts``, ambiguous mentions skipped)."""
    spans = split_by_context(text, language)
    found: dict[str, list[str]] = {}
    for mention in lexicon.find(text):
        if mention.ambiguous:
            continue
        concept = _demo_id(mention.concept_ids[0], lexicon, concepts)
        if concept is None:
            continue
        status = status_at(spans, mention.start, mention.end)
        found.setdefault(concept, []).append(status.value)
    return found


def fold_statuses(statuses: list[str]) -> tuple[str | None, bool]:
    """(patient status, family): the last definite status, else hypothetical if any."""
    family = ContextStatus.FAMILY.value in statuses
    definite = [s for s in statuses if s in (ContextStatus.AFFIRMED.value, ContextStatus.NEGATED.value)]
    if definite:
        return definite[-1], family
    if ContextStatus.HYPOTHETICAL.value in statuses:
        return ContextStatus.HYPOTHETICAL.value, family
    return None, family


def compare(demo_dir: Path, lexicon: Lexicon) -> tuple[Counter[str], list[Disagreement]]:
    """Per-status agreement counts ("negated:ok", "negated:hypothetical"...) and the disagreements."""
    truth = json.loads((demo_dir / "ground_truth.json").read_text(encoding="utf-8"))
    concepts = {c["concept"] for entry in truth.values() for c in entry.get("concepts", [])}
    counts: Counter[str] = Counter()
    errors: list[Disagreement] = []
    for doc_id, entry in sorted(truth.items()):
        path = demo_dir / entry.get("file", "")
        if entry.get("kind") != "report" or path.suffix not in {".txt", ".md"}:
            continue
        text = path.read_text(encoding="utf-8")
        body = text.split(_HEADER_END, 1)[-1]  # header lines hold no finding
        found = document_statuses(body, entry["language"], lexicon, concepts)
        expected = _expected(entry)
        for concept in sorted(set(found) | set(expected)):
            want_patient, want_family = expected.get(concept, (None, False))
            got_patient, got_family = fold_statuses(found.get(concept, []))
            for label, want, got in (
                ("patient", want_patient, got_patient),
                ("family", "family" if want_family else None, "family" if got_family else None),
            ):
                if want is None and got is None:
                    continue
                key = want or "absent"
                if want == got:
                    counts[f"{key}:ok"] += 1
                else:
                    counts[f"{key}:{got or 'missed'}"] += 1
                    errors.append(Disagreement(doc_id, f"{concept} ({label})", key, got or "missed"))
    return counts, errors


def _expected(entry: dict) -> dict[str, tuple[str | None, bool]]:
    statuses: dict[str, list[str]] = {}
    for item in entry.get("concepts", []):
        statuses.setdefault(item["concept"], []).append(item["status"])
    return {concept: fold_statuses(values) for concept, values in statuses.items()}


def _demo_id(concept_id: str, lexicon: Lexicon, demo_concepts: set[str]) -> str | None:
    """The demo concept a lexicon concept counts as: its alias, itself, or its nearest broader one."""
    seen: set[str] = set()
    queue = [_DEMO_ALIASES.get(concept_id, concept_id)]
    while queue:
        current = queue.pop(0)
        if current in seen:
            continue
        seen.add(current)
        if current in demo_concepts:
            return current
        queue.extend(lexicon.get(current).broader)
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("demo_dir", type=Path, nargs="?", default=Path("data/demo"))
    parser.add_argument("--errors", action="store_true", help="print every disagreement")
    args = parser.parse_args(argv)
    counts, errors = compare(args.demo_dir, load_default_lexicon())
    for status in ("affirmed", "negated", "hypothetical", "family", "absent"):
        total = sum(v for k, v in counts.items() if k.startswith(status + ":"))
        if total:
            ok = counts[f"{status}:ok"]
            wrong = {
                k.split(":")[1]: v for k, v in counts.items() if k.startswith(status + ":") and v and "ok" not in k
            }
            print(f"{status:13s} {ok:5d}/{total:<5d} ({ok / total:.1%})  wrong: {wrong}")
    if args.errors:
        for error in errors:
            print(f"{error.doc_id}\t{error.concept}\texpected {error.expected}\tfound {error.found}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
