"""Small French/English text helpers and the assertion recorder used to build the ground truth.

French needs elision and agreement (« d'épanchement » but « de hernie », « un AVC » but « une EP »),
so concept names are never pasted into templates raw: :func:`concept_context` prepares every form a
template may ask for. :class:`Mentions` records the assertion status of each concept as sentences are
written, which is how the ground truth stays exact by construction.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from indexer.demo import vocabulary as V
from indexer.demo.model import AFFIRMED, FAMILY, HYPOTHETICAL, NEGATED

_VOWELS = set("aeiouyàâäéèêëîïôöûüœAEIOUYÀÂÄÉÈÊËÎÏÔÖÛÜŒhH")
_H_ASPIRE = ("hernie",)


def elides(word: str) -> bool:
    """Whether French elides the article before ``word`` (« l'embolie », « d'HTA », but « de hernie »)."""
    return bool(word) and word[0] in _VOWELS and not word.lower().startswith(_H_ASPIRE)


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def de(name: str) -> str:
    return f"d'{name}" if elides(name) else f"de {name}"


def un(name: str, gender: str) -> str:
    return f"{'une' if gender == 'f' else 'un'} {name}"


def le(name: str, gender: str) -> str:
    return f"l'{name}" if elides(name) else f"{'la' if gender == 'f' else 'le'} {name}"


def du(name: str, gender: str) -> str:
    if elides(name):
        return f"de l'{name}"
    return f"de la {name}" if gender == "f" else f"du {name}"


def au(name: str, gender: str) -> str:
    if elides(name):
        return f"à l'{name}"
    return f"à la {name}" if gender == "f" else f"au {name}"


def lower_first(text: str) -> str:
    """Lower-case the first letter unless the first word is an acronym or code (« IRM », "CT", "HbA1c")."""
    first_word = text.split(" ", 1)[0]
    if any(ch.isupper() or ch.isdigit() for ch in first_word[1:]):
        return text
    return text[:1].lower() + text[1:]


def exam_definite_fr(title: str) -> str:
    """« l'angioscanner thoracique », « le scanner cérébral », « la radiographie du genou »."""
    word = lower_first(title)
    if elides(word):
        return f"l'{word}"
    return f"le {word}" if word.startswith("scanner") else f"la {word}"


def fr_number(value: float, decimals: int) -> str:
    return f"{value:.{decimals}f}".replace(".", ",") if decimals else f"{value:.0f}"


def fr_date(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def fill(template: str, ctx: dict[str, Any]) -> str:
    """Format a template and capitalise the sentence."""
    return cap(template.format_map(ctx))


def concept_context(concept_id: str, lang: str, rng: random.Random, synonym_rate: float = 0.3) -> dict[str, str]:
    """Every grammatical form of a concept name a template may use, with an occasional synonym/abbreviation."""
    concept = V.CONCEPTS[concept_id]
    if lang == "fr":
        name = rng.choice(concept.fr_syn) if concept.fr_syn and rng.random() < synonym_rate else concept.fr
        gender = concept.gender
        return {
            "name": name,
            "Name": cap(name),
            "de": de(name),
            "un": un(name, gender),
            "Un": cap(un(name, gender)),
            "e": "e" if gender == "f" else "",
            "exclu": "exclue" if gender == "f" else "exclu",
            "art": "une" if gender == "f" else "un",
        }
    name = rng.choice(concept.en_syn) if concept.en_syn and rng.random() < synonym_rate else concept.en
    return {"name": name, "Name": cap(name)}


def patient_context(sex: str, lang: str) -> dict[str, str]:
    """Agreement forms for the patient (« admise », « un fumeur », "she")."""
    female = sex == "F"
    if lang == "fr":
        return {
            "e": "e" if female else "",
            "il": "elle" if female else "il",
            "Il": "Elle" if female else "Il",
            "r_se": "se" if female else "r",
            "tte": "tte" if female else "",
            "Patient": "Patiente" if female else "Patient",
            "civ": "Mme" if female else "M.",
        }
    return {
        "he": "she" if female else "he",
        "He": "She" if female else "He",
        "his": "her" if female else "his",
        "man": "woman" if female else "man",
        "civ": "Mrs" if female else "Mr",
        "e": "",
        "r_se": "r",
        "tte": "",
    }


@dataclass
class Mentions:
    """Assertion status per concept for one document, as its sentences are generated.

    A definite statement (affirmed/negated) wins over a hypothesis about the same concept, because
    the document's final word is what a physician searching for the concept cares about (an
    indication « suspicion d'EP » followed by « pas d'EP » is a negative report). Family history is
    kept apart: a patient can have an AVC *and* a mother who died of one. ``prefer_affirmed`` is for
    patient records, where a resolved problem stays a problem even if a control exam is negative.
    """

    prefer_affirmed: bool = False
    status: dict[str, str] = field(default_factory=dict)
    family: list[str] = field(default_factory=list)
    #: concept → the relatives who have it (English names of ``vocabulary.RELATIVES``: « mother »,
    #: « maternal grandmother »), for queries naming a relative (« cancer du sein chez la mère »)
    family_relatives: dict[str, list[str]] = field(default_factory=dict)

    def add(self, concept: str, status: str, relative: str | None = None) -> None:
        if status == FAMILY:
            if concept not in self.family:
                self.family.append(concept)
            if relative is not None and relative not in self.family_relatives.setdefault(concept, []):
                self.family_relatives[concept].append(relative)
            return
        previous = self.status.get(concept)
        if previous is None or previous == HYPOTHETICAL:
            self.status[concept] = status
        elif status == HYPOTHETICAL or status == previous:
            return
        elif self.prefer_affirmed:
            self.status[concept] = AFFIRMED
        else:
            raise ValueError(f"contradictory statements about {concept}: {previous} then {status}")

    def merge(self, other: Mentions) -> None:
        for concept, status in other.status.items():
            self.add(concept, status)
        for concept in other.family:
            self.add(concept, FAMILY)
            for relative in other.family_relatives.get(concept, []):
                self.add(concept, FAMILY, relative)

    def ground_truth(self) -> dict[str, Any]:
        """``findings`` keyed by status (canonical French names) and ``concepts`` as a flat list."""
        findings: dict[str, list[str]] = {AFFIRMED: [], NEGATED: [], HYPOTHETICAL: [], FAMILY: []}
        concepts = []
        for concept, status in self.status.items():
            findings[status].append(V.CONCEPTS[concept].fr)
            concepts.append({"concept": concept, "name": V.CONCEPTS[concept].fr, "status": status})
        for concept in self.family:
            findings[FAMILY].append(V.CONCEPTS[concept].fr)
            item: dict[str, Any] = {"concept": concept, "name": V.CONCEPTS[concept].fr, "status": FAMILY}
            if self.family_relatives.get(concept):
                item["relatives"] = list(self.family_relatives[concept])
            concepts.append(item)
        return {"findings": findings, "concepts": concepts}
