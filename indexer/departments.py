"""One name per care unit: « Pneumologie », "Pulmonology" and « Service de pneumologie » are one department.

A hospital's exports name the same unit in French in one place (a French report's « Service : »
header, a FHIR ``serviceType``) and in English in another (an English letter's "Department:", a
DICOM ``InstitutionalDepartmentName``). Filters, cohort criteria, access restrictions and the patient
view compared the names as written (case aside), so « Pneumologie » and "Pulmonology" were two units:
a filter on one missed the other's documents. :func:`canonical_department` maps the usual names of a
hospital's specialties, French or English, case- and accent-insensitively, to one French name (the
portal's language); a name not in the table is kept as written (trimmed). Documents keep the name as
written next to it (``department_original``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

#: canonical (French) name → other names of the same unit (French variants, English); the canonical
#: name itself matches too. Matching ignores case, accents, punctuation and a leading « service de » /
#: trailing "department" (:func:`_match_key`).
SPECIALTIES: dict[str, tuple[str, ...]] = {
    "Cardiologie": ("cardiology", "cardiologie interventionnelle", "cardiovascular medicine"),
    "Pneumologie": ("pulmonology", "pneumology", "pulmonary medicine", "respiratory medicine", "chest medicine",
                    "pneumo"),
    "Neurologie": ("neurology",),
    "Neurologie - Unité neurovasculaire": ("neurology stroke unit", "unité neurovasculaire", "unv", "stroke unit"),
    "Neurochirurgie": ("neurosurgery", "neurological surgery"),
    "Radiologie": ("radiology", "imagerie médicale", "medical imaging", "service d'imagerie", "diagnostic radiology"),
    "Neuroradiologie": ("neuroradiology",),
    "Explorations fonctionnelles cardiologiques": ("cardiac imaging", "cardiac investigations"),
    "Oncologie": ("oncology", "medical oncology", "oncologie médicale", "cancérologie"),
    "Oncologie thoracique": ("thoracic oncology",),
    "Chirurgie orthopédique et traumatologique": ("orthopaedic and trauma surgery", "orthopedic and trauma surgery",
                                                  "orthopaedic surgery", "orthopedic surgery", "orthopédie",
                                                  "orthopaedics", "orthopedics", "chirurgie orthopédique"),
    "Chirurgie digestive": ("digestive surgery", "gastrointestinal surgery", "visceral surgery", "chirurgie viscérale"),
    "Chirurgie thoracique": ("thoracic surgery",),
    "Chirurgie cardiaque": ("cardiac surgery", "cardiothoracic surgery", "chirurgie cardio-thoracique"),
    "Chirurgie vasculaire": ("vascular surgery",),
    "Médecine interne": ("internal medicine",),
    "Urgences": ("emergency", "emergency department", "emergency medicine", "ed", "a&e", "accueil des urgences",
                 "service d'accueil des urgences", "sau"),
    "Réanimation": ("intensive care", "intensive care unit", "icu", "critical care", "réanimation médicale",
                    "soins intensifs"),
    "Gastro-entérologie": ("gastroenterology", "hépato-gastro-entérologie", "hepatogastroenterology",
                           "hepatology and gastroenterology"),
    "Néphrologie": ("nephrology",),
    "Endocrinologie": ("endocrinology", "endocrinologie-diabétologie", "diabetology", "diabétologie",
                       "endocrinology and diabetes"),
    "Rhumatologie": ("rheumatology",),
    "Dermatologie": ("dermatology",),
    "Hématologie": ("hematology", "haematology"),
    "Maladies infectieuses": ("infectious diseases", "infectiologie", "maladies infectieuses et tropicales"),
    "Gériatrie": ("geriatrics", "geriatric medicine"),
    "Pédiatrie": ("pediatrics", "paediatrics"),
    "Gynécologie-obstétrique": ("obstetrics and gynecology", "obstetrics and gynaecology", "gynecology",
                                "gynaecology", "gynécologie", "obstétrique", "maternité"),
    "Urologie": ("urology",),
    "Ophtalmologie": ("ophthalmology",),
    "ORL": ("ent", "otorhinolaryngology", "oto-rhino-laryngologie", "ear nose and throat"),
    "Psychiatrie": ("psychiatry",),
    "Anesthésie": ("anesthesiology", "anaesthesiology", "anesthesia", "anaesthesia", "anesthésie-réanimation"),
    "Médecine nucléaire": ("nuclear medicine",),
    "Anatomie pathologique": ("pathology", "anatomopathologie", "anatomical pathology"),
    "Médecine physique et réadaptation": ("physical medicine and rehabilitation", "rehabilitation", "rééducation"),
}

_PREFIXES = ("service de ", "service d ", "service des ", "service du ", "departement de ", "departement d ",
             "unite de ", "unite d ", "department of ", "dept of ", "division of ")
_SUFFIXES = (" department", " dept", " service", " ward", " unit")


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _match_key(name: str) -> str:
    """« Service de Pneumologie » → "pneumologie", "Pulmonology Department" → "pulmonology", "Neurology -
    Stroke Unit" → "neurology stroke unit" (a suffix is only dropped when something is left)."""
    key = re.sub(r"[^0-9a-z&]+", " ", _fold(name)).strip()
    for prefix in _PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            key = key[len(prefix):]
            break
    if key not in _table():
        for suffix in _SUFFIXES:
            if key.endswith(suffix) and len(key) > len(suffix):
                key = key[: -len(suffix)]
                break
    return key


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    table: dict[str, str] = {}
    for canonical, aliases in SPECIALTIES.items():
        for name in (canonical, *aliases):
            key = re.sub(r"[^0-9a-z&]+", " ", _fold(name)).strip()
            if table.setdefault(key, canonical) != canonical:
                raise ValueError(f"department name {name!r} is listed under two units")
    return table


@lru_cache(maxsize=4096)
def canonical_department(name: object) -> str | None:
    """The one name of the care unit *name* stands for (« Pulmonology » → « Pneumologie »); a name the
    table does not know, trimmed, as written; None for an empty one."""
    if name is None:
        return None
    text = " ".join(str(name).split())
    if not text:
        return None
    return _table().get(_match_key(text), text)


def department_fields(name: object) -> dict[str, str]:
    """A document's ``department`` (canonical) and ``department_original`` (as written) metadata for
    the unit a source names; nothing when it names none."""
    canonical = canonical_department(name)
    if canonical is None:
        return {}
    return {"department": canonical, "department_original": " ".join(str(name).split())}
