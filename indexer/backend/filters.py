"""The one filter type every storage backend applies *inside* retrieval (never after it).

A search, a dense query, an image query, a patient timeline and an access restriction are all a
:class:`DocumentFilter`. Each backend translates it into its own engine's terms (Tantivy clauses,
a FAISS id bitmap, SQL, Elasticsearch ``filter`` clauses). Adding a filter field means adding it
here and to each backend's translation, nothing else.

Two families of fields:

* what the user asked for (``kinds``, ``patient_id``, ``language``, dates, ``departments``,
  ``modalities``);
* what the user is *allowed* to see (``allowed_patients``, ``allowed_departments``): set by the
  access layer from the caller's identity, combined with AND, and applied in every leg before
  ranking and pagination so that totals and pages never reveal documents outside the scope.
  A restriction only concerns patient documents: a document with no patient (an article, a
  figure) is visible to everyone; a patient document with no department is hidden from a user
  restricted to departments (least privilege).
* ``granted_patients``: the exception to that restriction, the patients of the caller's valid
  « bris de glace » grants (:mod:`search_api.security.break_glass`). Every document of such a
  patient passes the restriction, whatever its department: the access rule becomes
  ``no patient OR granted patient OR (allowed patient AND allowed department)``. Without a
  restriction it changes nothing (an unrestricted user sees every patient already).

Patient ids and departments are compared case-insensitively (``normalise_key``): « p000023 »
finds « P000023 ».
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from indexer.departments import canonical_department
from indexer.modalities import MODALITY_NAMES  # names → DICOM codes, one table with the images' French words


def normalise_key(value: str) -> str:
    """The form keyword fields (patient id, department, modality) are stored and compared in."""
    return value.strip().casefold()


def _key(value: Any) -> str | None:
    if value is None:
        return None
    key = normalise_key(str(value))
    return key or None


def _keys(values: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    return tuple(dict.fromkeys(k for k in (_key(v) for v in values) if k))


def department_key(value: Any) -> str | None:
    """The key of a care unit: its canonical name's (:func:`indexer.departments.canonical_department`),
    so « Pneumologie » and "Pulmonology" are one department for filters and access rules."""
    return _key(canonical_department(value))


def _department_keys(values: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    return tuple(dict.fromkeys(k for k in (department_key(v) for v in values) if k))


@dataclass(frozen=True)
class DocumentKeys:
    """The normalised keyword values of one document that filters compare against.

    Every backend stores exactly these (so « Radiologie » in a report header and « RADIOLOGIE » in a
    DICOM header are one department), computed here once from the document.
    """

    patient: str | None
    department: str | None
    modality: str | None

    @classmethod
    def of(cls, document: Any) -> DocumentKeys:
        """Keys of an :class:`indexer.schema.Document` (department: ``metadata['department']``)."""
        metadata = getattr(document, "metadata", None) or {}
        return cls(_key(document.patient_id), department_key(metadata.get("department")), _key(document.modality))


@dataclass(frozen=True)
class DocumentFilter:
    """Structured constraints on documents (empty / None = no constraint)."""

    kinds: tuple[str, ...] = ()
    patient_id: str | None = None
    language: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    #: care units / departments the user asked for (any of them)
    departments: tuple[str, ...] = ()
    #: image modalities (CT, MR, CR...) the user asked for (any of them)
    modalities: tuple[str, ...] = ()
    #: access restriction: None = unrestricted; a tuple = only these patients (empty tuple = nothing)
    allowed_patients: tuple[str, ...] | None = None
    #: access restriction: None = unrestricted; a tuple = only documents of these departments
    allowed_departments: tuple[str, ...] | None = None
    #: access exception: patients admitted whatever ``allowed_*`` say (break-the-glass grants)
    granted_patients: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not (
            self.kinds
            or self.patient_id
            or self.language
            or self.date_from
            or self.date_to
            or self.departments
            or self.modalities
            or self.allowed_patients is not None
            or self.allowed_departments is not None
        )

    # -- normalised values, as every backend compares them --------------------------------------
    @property
    def patient_key(self) -> str | None:
        return _key(self.patient_id)

    @property
    def department_keys(self) -> tuple[str, ...]:
        return _department_keys(self.departments) or ()

    @property
    def modality_keys(self) -> tuple[str, ...]:
        """The DICOM modality codes asked for: a name a physician types in the portal's « Modalités
        d'imagerie » box (« IRM », « TDM », « scanner », « écho ») stands for its codes; it matched
        nothing, in silence (no document's modality is « irm »)."""
        keys = _keys(self.modalities) or ()
        return tuple(dict.fromkeys(code for key in keys for code in (key, *MODALITY_NAMES.get(key, ()))))

    @property
    def allowed_patient_keys(self) -> tuple[str, ...] | None:
        return _keys(self.allowed_patients)

    @property
    def allowed_department_keys(self) -> tuple[str, ...] | None:
        return _department_keys(self.allowed_departments)

    @property
    def granted_patient_keys(self) -> tuple[str, ...]:
        """The granted patients' keys, only when a restriction exists for them to lift (else empty)."""
        if self.allowed_patients is None and self.allowed_departments is None:
            return ()
        return _keys(self.granted_patients) or ()

    def admits(self, document: Any) -> bool:
        """Whether *document* passes this filter: the reference semantics every backend implements
        inside its engine (used by tests and by backends for single-document checks)."""
        keys = DocumentKeys.of(document)
        kind = getattr(document.kind, "value", document.kind)
        if self.kinds and kind not in self.kinds:
            return False
        if self.patient_id and keys.patient != self.patient_key:
            return False
        if self.language and document.language != self.language:
            return False
        if (self.date_from or self.date_to) and document.date is None:
            return False
        if self.date_from and document.date < self.date_from:
            return False
        if self.date_to and document.date > self.date_to:
            return False
        if self.departments and keys.department not in self.department_keys:
            return False
        if self.modalities and keys.modality not in self.modality_keys:
            return False
        if keys.patient is not None and keys.patient not in self.granted_patient_keys:
            # access restrictions only concern patient documents, and not a granted patient's
            allowed = self.allowed_patient_keys
            if allowed is not None and keys.patient not in allowed:
                return False
            allowed = self.allowed_department_keys
            if allowed is not None and keys.department not in allowed:
                return False
        return True

    def restricted(self, patients: tuple[str, ...] | None, departments: tuple[str, ...] | None,
                   granted: tuple[str, ...] = ()) -> DocumentFilter:
        """This filter narrowed to an access scope (None = no restriction on that axis), except the
        *granted* patients (break-the-glass grants), admitted whatever the restriction says."""
        return replace(self, allowed_patients=patients, allowed_departments=departments, granted_patients=tuple(granted))
