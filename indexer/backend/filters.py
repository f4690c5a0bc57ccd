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

Patient ids and departments are compared case-insensitively (``normalise_key``): « p000023 »
finds « P000023 ».
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date


def normalise_key(value: str) -> str:
    """The form keyword fields (patient id, department, modality) are stored and compared in."""
    return value.strip().casefold()


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

    def restricted(self, patients: tuple[str, ...] | None, departments: tuple[str, ...] | None) -> DocumentFilter:
        """This filter narrowed to an access scope (None = no restriction on that axis)."""
        return replace(self, allowed_patients=patients, allowed_departments=departments)
