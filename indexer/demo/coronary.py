"""Coronary-care letters that name the type of myocardial infarction: NSTEMI or STEMI.

The rest of the demo corpus says « infarctus du myocarde » (or « SCA ST+ ») without telling the two
apart, so nothing measured whether « IDM ST- » or « IDM sans sus-décalage » finds NSTEMI letters rather
than STEMI ones (until indexer/text/signs.py both were read as « IDM ST »). These letters are written
the way cardiologists write the diagnosis — « IDM ST- », « SCA ST+ », « ST− » with a typographic minus,
« sans sus-décalage du segment ST », "non-ST-elevation", "STEMI" — for the patients whose record already
has a myocardial infarction, so the ground truth stays consistent (the letter is about that infarction).

They are planned after everything else, from their own random stream: every other file of a seed is
byte-identical with or without them.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

from indexer.demo import vocabulary as V

#: ground-truth concept id → (French name, English name): the infarction's type, a child of
#: ``myocardial_infarction`` (ids as in the lexicon, ``indexer/configs/clinical/lexicon.yaml``)
SUBTYPES = {
    "nstemi": ("infarctus du myocarde sans sus-décalage du segment ST", "non-ST-elevation myocardial infarction"),
    "stemi": ("infarctus du myocarde avec sus-décalage du segment ST", "ST-elevation myocardial infarction"),
}
LETTERS_PER_SUBTYPE = 8  # 6 French, 2 English each

_WALLS_FR = ("antérieur", "inférieur", "latéral", "antéro-septal")
_WALLS_EN = ("anterior", "inferior", "lateral", "anteroseptal")
_ARTERIES = ("l'IVA proximale", "la coronaire droite moyenne", "la circonflexe", "l'IVA moyenne")
_ARTERIES_EN = ("the proximal LAD", "the mid right coronary artery", "the circumflex artery", "the mid LAD")

# How the diagnosis is written: one wording per French letter (cycled), so each form is in the corpus.
_NSTEMI_FR = (
    "IDM ST- {wall}.",
    "Infarctus du myocarde sans sus-décalage du segment ST.",
    "SCA ST- avec élévation de la troponine (NSTEMI).",
    "IDM ST\u2212 {wall}, troponine positive.",
    "Syndrome coronarien aigu sans sus-décalage du segment ST, nécrose myocardique (NSTEMI).",
    "IDM ST- sur sténose de {artery}.",
)
_STEMI_FR = (
    "SCA ST+ {wall}.",
    "Infarctus du myocarde avec sus-décalage du segment ST {wall}.",
    "IDM ST+ {wall} thrombolysé.",
    "STEMI {wall}, angioplastie primaire.",
    "Syndrome coronarien aigu avec sus-décalage du segment ST {wall} (SCA ST+).",
    "IDM ST+ sur occlusion de {artery}.",
)


def _french(kind: str, variant: int, rng: random.Random, ipp: str, day: dt.date) -> str:
    wall, artery = rng.choice(_WALLS_FR), rng.choice(_ARTERIES)
    diagnosis = (_NSTEMI_FR if kind == "nstemi" else _STEMI_FR)[variant % 6].format(wall=wall, artery=artery)
    if kind == "nstemi":
        ecg = f"ECG : sous-décalage du segment ST de {rng.randint(1, 3)} mm en {rng.choice(('V4-V6', 'D2 D3 aVF', 'D1 aVL'))}, sans sus-décalage du segment ST."
        care = f"Coronarographie à J{rng.randint(1, 2)} : sténose serrée de {artery}, angioplastie avec pose d'un stent actif."
        troponin = rng.randint(120, 2400)
    else:
        ecg = f"ECG : sus-décalage du segment ST de {rng.randint(2, 5)} mm en territoire {wall}, avec miroir."
        care = f"Coronarographie en urgence : occlusion de {artery}, angioplastie primaire avec pose d'un stent actif."
        troponin = rng.randint(3000, 25000)
    fevg = rng.randint(35, 60)
    return "\n".join([
        f"Établissement : {V.HOSPITAL}",
        "Service : Cardiologie",
        f"IPP : {ipp}",
        f"Date : {day:%d/%m/%Y}",
        "Type : Lettre de sortie",
        "Titre : Lettre de sortie - Unité de soins intensifs cardiologiques",
        "",
        "Chère consœur, cher confrère,",
        "Votre patient(e) a été hospitalisé(e) en unité de soins intensifs cardiologiques.",
        "",
        "Motif d'hospitalisation :",
        "Douleur thoracique constrictive prolongée.",
        "",
        "Examens complémentaires :",
        ecg,
        f"Troponine I hypersensible à {troponin} ng/L.",
        f"Échographie cardiaque : FEVG {fevg} %.",
        "",
        "Évolution :",
        care + " Pas de complication rythmique.",
        "",
        "Diagnostic de sortie :",
        diagnosis,
        "",
        "Traitement de sortie :",
        "- Aspirine 75 mg : 1 cp/j",
        "- Ticagrélor 90 mg : 1 cp matin et soir",
        "- Atorvastatine 80 mg : 1 cp/j",
        "",
        "Bien confraternellement.",
        "Dr Hélène Moreau, Cardiologie",
        "",
    ])


def _english(kind: str, variant: int, rng: random.Random, ipp: str, day: dt.date) -> str:
    wall, artery = rng.choice(_WALLS_EN), rng.choice(_ARTERIES_EN)
    if kind == "nstemi":
        diagnosis = ("Non-ST-elevation myocardial infarction (NSTEMI).", f"NSTEMI, {wall} territory.")[variant % 2]
        ecg = f"ECG: ST depression in leads {rng.choice(('V4-V6', 'II, III and aVF'))}, no ST elevation."
        care = f"Coronary angiography on day {rng.randint(1, 2)}: tight stenosis of {artery}, treated with a drug-eluting stent."
    else:
        diagnosis = (f"ST-elevation myocardial infarction (STEMI), {wall} wall.", f"STEMI, {wall} wall.")[variant % 2]
        ecg = f"ECG: ST elevation in the {wall} leads with reciprocal changes."
        care = f"Emergency coronary angiography: occlusion of {artery}, primary PCI with a drug-eluting stent."
    return "\n".join([
        f"Institution : {V.HOSPITAL}",
        "Department : Cardiology",
        f"Patient ID : {ipp}",
        f"Date : {day:%Y-%m-%d}",
        "Type : Discharge letter",
        "Title : Discharge letter - Coronary care unit",
        "",
        "Dear colleague,",
        "Your patient was admitted to the coronary care unit.",
        "",
        "Reason for admission:",
        "Prolonged crushing chest pain.",
        "",
        "Investigations:",
        ecg,
        f"High-sensitivity troponin I {rng.randint(150, 20000)} ng/L.",
        "",
        "Course:",
        care + " No arrhythmic complication.",
        "",
        "Discharge diagnosis:",
        diagnosis,
        "",
        "Yours sincerely,",
        "Dr Helen Moore, Cardiology",
        "",
    ])


def _truth(kind: str, language: str, ipp: str, day: dt.date, file: str) -> dict[str, Any]:
    infarction = V.CONCEPTS["myocardial_infarction"].fr
    name = SUBTYPES[kind][0]
    return {
        "kind": "report",
        "subtype": "letter",
        "patient_id": ipp,
        "language": language,
        "date": day.isoformat(),
        "file": file,
        "findings": {"affirmed": [infarction, name], "negated": [], "hypothetical": [], "family": []},
        "concepts": [
            {"concept": "myocardial_infarction", "name": infarction, "status": "affirmed"},
            {"concept": kind, "name": name, "status": "affirmed"},
        ],
    }


def write_coronary_letters(out_dir: Path, seed: int, truth: dict[str, Any], first_number: int) -> int:
    """Write the letters as ``reports/RPT-<n>.txt`` from *first_number* on, for the patients whose record
    has an affirmed myocardial infarction (none: no letter); add them to *truth*; return how many."""
    patients = sorted(
        doc_id for doc_id, entry in truth.items() if entry["kind"] == "record"
        and any(c["concept"] == "myocardial_infarction" and c["status"] == "affirmed" for c in entry["concepts"])
    )
    if not patients:
        return 0
    rng = random.Random(f"coronary-{seed}")  # its own stream: the rest of the corpus is unchanged
    number = first_number
    for kind in ("nstemi", "stemi"):
        for variant in range(LETTERS_PER_SUBTYPE):
            language = "fr" if variant < 6 else "en"
            ipp = patients[(number - first_number) % len(patients)]
            day = dt.date(2019, 1, 1) + dt.timedelta(days=rng.randrange(6 * 365))
            text = (_french if language == "fr" else _english)(kind, variant, rng, ipp, day)
            doc_id = f"RPT-{number:05d}"
            path = out_dir / "reports" / f"{doc_id}.txt"
            path.write_text(text, encoding="utf-8")
            truth[doc_id] = _truth(kind, language, ipp, day, path.relative_to(out_dir).as_posix())
            number += 1
    return number - first_number
