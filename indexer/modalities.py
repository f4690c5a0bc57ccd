"""Imaging modalities: the DICOM Modality codes (0008,0060) and the words physicians use for them, in one place.

Three uses read this one table:

* an image document's searchable text names its modality in French (« Modalité CT (scanner TDM
  tomodensitométrie) »: :mod:`indexer.sources.images`), so « scanner » finds a CT series;
* the « Modalités d'imagerie » filter accepts a name (« IRM », « scanner », "ultrasound") for its codes
  (:attr:`indexer.backend.filters.DocumentFilter.modality_keys`, through :data:`MODALITY_NAMES`);
* a report that no image links to carries the modality its exam title names (« IRM cérébrale », « Scanner
  thoracique injecté », "Contrast-enhanced chest CT": :func:`modality_named_in`), so the filter finds it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Modality:
    code: str  # the DICOM code, upper case
    french: str  # the words an image's text gives it (changing them changes every image's indexed text)
    names: tuple[str, ...]  # what a physician types for it (French and English, lower case): filter and titles


MODALITIES: dict[str, Modality] = {m.code: m for m in (
    Modality("CT", "scanner TDM tomodensitométrie", ("tdm", "scanner", "tomodensitométrie", "angioscanner", "ct scan")),
    Modality("MR", "IRM imagerie par résonance magnétique", ("irm", "mri")),
    Modality("CR", "radiographie", ("radiographie", "radio", "rx", "x-ray", "radiograph")),
    Modality("DX", "radiographie", ("radiographie", "radio", "rx", "x-ray", "radiograph")),
    Modality("US", "échographie", ("échographie", "echographie", "écho", "echo", "ultrasound",
                                   "échocardiographie", "echocardiography")),
    Modality("XA", "angiographie", ("angiographie", "angiography")),
    Modality("MG", "mammographie", ("mammographie", "mammography")),
    Modality("NM", "scintigraphie", ("scintigraphie", "scintigraphy")),
    Modality("PT", "TEP", ("tep", "pet")),
)}

#: modality names (casefolded) → the DICOM codes (lower case, as filters compare them) they stand for
MODALITY_NAMES: dict[str, tuple[str, ...]] = {}
for _modality in MODALITIES.values():
    for _name in _modality.names:
        MODALITY_NAMES[_name] = (*MODALITY_NAMES.get(_name, ()), _modality.code.lower())

#: codes an exam title may write as they are, upper case only (« CT » of "chest CT"; not the English "us")
_TITLE_CODES = {"CT": "CT", "MR": "MR", "IRM": "MR", "MRI": "MR", "TDM": "CT", "TEP": "PT", "PET": "PT"}


def french_words(code: str | None) -> str:
    """The French words of a DICOM code (« scanner TDM tomodensitométrie » for CT); "" when unknown."""
    modality = MODALITIES.get((code or "").upper())
    return modality.french if modality else ""


def folded_words(text: str) -> str:
    """*text* folded (case, accents) as space-delimited words, hyphens and apostrophes splitting them."""
    bare = "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))
    return " " + " ".join(re.findall(r"[a-z0-9]+", bare)) + " "


_FOLDED_NAMES = [(folded_words(name), codes) for name, codes in MODALITY_NAMES.items()]


def modality_named_in(title: str | None) -> str | None:
    """The DICOM code of the one modality a report's exam title names, as whole words: « IRM cérébrale » →
    MR, « Scanner thoracique injecté » → CT, « Radiographie du genou » → CR, "Contrast-enhanced chest CT" →
    CT, « Échographie cardiaque transthoracique » → US. None when it names none (« Lettre de sortie »,
    « Prothèse totale de genou ») or several (« TEP-scanner », "PET-CT": no one modality).

    Reliable enough to filter on: an imaging report's title is the exam's name, and the names are whole
    words (« radiologie » is not « radio », « échographique » not « écho »). Plain radiography is CR
    (the filter's « radiographie » finds CR and DX alike)."""
    found = _named_code_groups(title)
    if len(found) != 1:
        return None
    return found.pop()[0].upper()


def _named_code_groups(title: str | None) -> set[tuple[str, ...]]:
    """The modalities *title* names, each as the code group of :data:`MODALITY_NAMES` (CR and DX are one)."""
    if not title:
        return set()
    folded = folded_words(title)
    found = {codes for name, codes in _FOLDED_NAMES if name in folded}
    spaced = " " + " ".join(re.findall(r"\w+", title)) + " "
    found |= {MODALITY_NAMES[MODALITIES[code].names[0]] for word, code in _TITLE_CODES.items() if f" {word} " in spaced}
    return found


def names_a_modality(title: str | None) -> bool:
    """Whether *title* names at least one modality, as :func:`modality_named_in` reads it: « CT pulmonary
    angiography » and « TEP-scanner » name two (no one modality to filter on) but are imaging exams all
    the same (:func:`indexer.linking.imaging_evidence`)."""
    return bool(_named_code_groups(title))
