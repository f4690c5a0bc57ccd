"""Chest X-rays taken after a central venous line was placed: « pas de pneumothorax » or an iatrogenic one.

Why: "pneumothorax after central line" is one of the product brief's example queries, and no other
demo document names both concepts, so the query could only be answered by the dense leg. In a real
hospital this is the most common chest radiograph of an ICU or an oncology day unit, and nearly always
a negation (« contrôle post-pose de VVC : pas de pneumothorax »); the few that show a pneumothorax are
what the physician is looking for, and must rank above the many that rule it out (the negation-aware
index, ``indexer/clinical/context.py``). The line is written as physicians write it — « VVC », « KTC »,
« voie centrale », « cathéter veineux central », « chambre implantable », "central line", "CVC", "right
IJ line" — so the lexicon's French forms are exercised too.

They are planned after everything else (after :mod:`indexer.demo.coronary`), from their own random
stream: every other file of a seed is byte-identical with or without them. Accession numbers are taken
from a range of their own (``ACC09xxxxx``), far above the planned exams'.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from typing import Any

from indexer.demo import vocabulary as V

AFFIRMED, NEGATED = "affirmed", "negated"
#: (language, pneumothorax status) of each report, in writing order: a few iatrogenic pneumothoraces,
#: many more radiographs that rule one out, as in a real hospital
PLAN: tuple[tuple[str, str], ...] = (
    *(("fr", AFFIRMED),) * 4, *(("en", AFFIRMED),) * 2,
    *(("fr", NEGATED),) * 10, *(("en", NEGATED),) * 4,
)
FIRST_ACCESSION = 9_000_001

_SIDES = (("droite", "droit", "right"), ("gauche", "gauche", "left"))  # (feminine, masculine, English)
# French line wordings (with {side_f}/{side_m}; True: feminine) and English ones ({side}); cycled per report
_LINES_FR = (
    ("VVC jugulaire interne {side_f}", True),
    ("voie veineuse centrale sous-clavière {side_f}", True),
    ("KTC jugulaire {side_m}", False),
    ("voie centrale sous-clavière {side_f}", True),
    ("cathéter veineux central jugulaire interne {side_m}", False),
    ("chambre implantable sous-clavière {side_f}", True),
    ("KT central jugulaire {side_m}", False),
)
_LINES_EN = (
    "{side} internal jugular central line",
    "{side} subclavian central venous catheter",
    "{side} IJ CVC",
)
_TIPS_FR = ("à la jonction atrio-cave", "en projection de la veine cave supérieure", "en regard de la carène")
_TIPS_EN = ("at the cavoatrial junction", "in the superior vena cava", "at the level of the carina")

_NEGATED_FR = (  # the finding and the conclusion, as French radiologists rule it out
    ("Pas de pneumothorax.", "{Line} en bonne position. Pas de pneumothorax."),
    ("Absence de pneumothorax. Pas d'épanchement pleural.", "Contrôle post-pose de {line} : pas de pneumothorax."),
    ("Pas de décollement pleural, pas de pneumothorax.", "Pas de complication de la pose : pas de pneumothorax, pas d'hémothorax."),
    ("Parenchyme pulmonaire sans anomalie. Pas de pneumothorax.", "{Line} bien positionné{e}, absence de pneumothorax."),
)
_AFFIRMED_FR = (
    ("Hyperclarté apicale {side_f} avec ligne pleurale viscérale visible : pneumothorax {side_m} de {cm} cm au sommet.",
     "Pneumothorax {side_m} iatrogène de faible abondance après pose de {line}."),
    ("Décollement pleural apical {side_m} de {cm} cm, homolatéral au point de ponction.",
     "Pneumothorax {side_m} compliquant la pose de {line}. Avis chirurgien thoracique."),
)
_NEGATED_EN = (
    ("No pneumothorax.", "{Line} with the tip {tip}. No pneumothorax."),
    ("There is no evidence of pneumothorax. No pleural effusion.", "Satisfactory position of the {line}. No pneumothorax."),
)
_AFFIRMED_EN = (
    ("{Side} apical pneumothorax measuring {cm} cm, on the side of the puncture.",
     "Iatrogenic {side} pneumothorax after central line placement ({line})."),
    ("Visible {side} pleural line with a {cm} cm apical pneumothorax, no mediastinal shift.",
     "Small {side} pneumothorax following placement of the {line}."),
)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _french(status: str, variant: int, rng: random.Random, ipp: str, day: dt.date, accession: str) -> str:
    side_f, side_m, _ = rng.choice(_SIDES)
    wording, feminine = _LINES_FR[variant % len(_LINES_FR)]
    line = wording.format(side_f=side_f, side_m=side_m)
    fields = {"line": line, "Line": _cap(line), "side_f": side_f, "side_m": side_m, "cm": rng.randint(1, 3),
              "e": "e" if feminine else ""}
    if status == AFFIRMED:
        finding, conclusion = _AFFIRMED_FR[variant % len(_AFFIRMED_FR)]
        indication = f"Dyspnée et douleur thoracique {side_f} au décours de la pose de {line}." if variant % 2 else \
            f"Contrôle après pose de {line} en réanimation."
    else:
        finding, conclusion = _NEGATED_FR[variant % len(_NEGATED_FR)]
        indication = ("Contrôle post-pose de {line}.", "Contrôle de position de {line} posé{e} ce jour.",
                      "Radiographie de contrôle après pose de {line}.")[variant % 3]
    return "\n".join([
        f"Établissement : {V.HOSPITAL}",
        "Service : Radiologie",
        f"IPP : {ipp}",
        f"Date : {day:%d/%m/%Y}",
        f"N° d'examen : {accession}",
        "Type : Compte rendu de radiologie",
        "Titre : Radiographie thoracique de face",
        "",
        "INDICATION :",
        indication.format(**fields),
        "",
        "TECHNIQUE :",
        "Radiographie thoracique de face au lit.",
        "",
        "RÉSULTATS :",
        f"Extrémité distale du cathéter {rng.choice(_TIPS_FR)}.",
        finding.format(**fields),
        "Silhouette cardiaque de taille normale.",
        "",
        "CONCLUSION :",
        conclusion.format(**fields),
        f"Dr {rng.choice(V.FIRST_NAMES_F + V.FIRST_NAMES_M)} {rng.choice(V.LAST_NAMES)}, radiologue.",
        "",
    ])


def _english(status: str, variant: int, rng: random.Random, ipp: str, day: dt.date, accession: str) -> str:
    _, _, side = rng.choice(_SIDES)
    line = _LINES_EN[variant % len(_LINES_EN)].format(side=side)
    tip = rng.choice(_TIPS_EN)
    fields = {"line": line, "Line": _cap(line), "side": side, "Side": _cap(side), "cm": rng.randint(1, 3), "tip": tip}
    if status == AFFIRMED:
        finding, impression = _AFFIRMED_EN[variant % len(_AFFIRMED_EN)]
        indication = f"Shortness of breath after insertion of a {line}."
    else:
        finding, impression = _NEGATED_EN[variant % len(_NEGATED_EN)]
        indication = ("Post central line placement.", f"Check position of {line}.")[variant % 2]
    return "\n".join([
        f"Institution : {V.HOSPITAL}",
        "Department : Radiology",
        f"Patient ID : {ipp}",
        f"Date : {day:%Y-%m-%d}",
        f"Accession : {accession}",
        "Type : Radiology report",
        "Title : Chest X-ray",
        "",
        "Indication:",
        indication.format(**fields),
        "",
        "Findings:",
        f"The catheter tip projects {tip}.",
        finding.format(**fields),
        "Normal heart size.",
        "",
        "Impression:",
        impression.format(**fields),
        f"Electronically signed by Dr {rng.choice(V.FIRST_NAMES_F + V.FIRST_NAMES_M)} {rng.choice(V.LAST_NAMES)}, radiologist.",
        "",
    ])


def _truth(status: str, language: str, ipp: str, day: dt.date, file: str, accession: str) -> dict[str, Any]:
    pneumothorax = V.CONCEPTS["pneumothorax"].fr
    line = "cathéter veineux central"  # the lexicon's preferred French name (not a demo vocabulary concept)
    affirmed = [line] + ([pneumothorax] if status == AFFIRMED else [])
    return {
        "kind": "report",
        "subtype": "radiology",
        "patient_id": ipp,
        "language": language,
        "date": day.isoformat(),
        "file": file,
        "findings": {"affirmed": affirmed, "negated": [pneumothorax] if status == NEGATED else [],
                     "hypothetical": [], "family": []},
        "concepts": [
            {"concept": "central_venous_catheter", "name": line, "status": AFFIRMED},
            {"concept": "pneumothorax", "name": pneumothorax, "status": status},
        ],
        "accession": accession,
    }


#: a demo corpus of fewer patients gets no central-line radiographs (the tests' small corpora: 20
#: radiographs would swamp a few patients' timelines and stays); see :func:`indexer.demo.generate.generate_corpus`
MIN_PATIENTS = 20


def write_central_line_radiographs(out_dir: Path, seed: int, truth: dict[str, Any], first_number: int) -> int:
    """Write the radiographs as ``reports/RPT-<n>.txt`` from *first_number* on; add them to *truth*; return
    how many. An affirmed pneumothorax goes to a patient whose record already has one (the record's
    ground truth stays right); a negated one to any patient. A corpus without such a patient gets none."""
    patients = sorted(k for k, e in truth.items() if e["kind"] == "record")
    with_pneumothorax = [p for p in patients if any(
        c["concept"] == "pneumothorax" and c["status"] == AFFIRMED for c in truth[p]["concepts"])]
    if not with_pneumothorax:
        return 0
    rng = random.Random(f"central-lines-{seed}")  # its own stream: the rest of the corpus is unchanged
    variants: dict[tuple[str, str], int] = {}
    for n, (language, status) in enumerate(PLAN):
        variant = variants[(language, status)] = variants.get((language, status), -1) + 1
        pool = with_pneumothorax if status == AFFIRMED else patients
        ipp = pool[rng.randrange(len(pool))]
        day = dt.date(2019, 1, 1) + dt.timedelta(days=rng.randrange(6 * 365))
        accession = f"ACC{FIRST_ACCESSION + n:07d}"
        text = (_french if language == "fr" else _english)(status, variant, rng, ipp, day, accession)
        doc_id = f"RPT-{first_number + n:05d}"
        path = out_dir / "reports" / f"{doc_id}.txt"
        path.write_text(text, encoding="utf-8")
        truth[doc_id] = _truth(status, language, ipp, day, path.relative_to(out_dir).as_posix(), accession)
    return len(PLAN)
