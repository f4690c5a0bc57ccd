"""How patient data leaves (and patient references enter) the patient-centred endpoints, per caller.

A clinician sees the index as it is. A researcher sees the de-identified view of issue #12
(:class:`~search_api.security.deid.Deidentifier`): patient ids are keyed pseudonyms ``PSN-…`` in
every URL and response and are the only ids accepted back (a real IPP matches nothing, as in
``/search``); names, IPPs, NIR, phones, e-mails and addresses are masked in titles, snippets and
stay reasons; every date of a patient is shifted by that patient's offset, the same one the search
results and ``/documents`` use, so a document has one date wherever a researcher meets it; stay
ids are keyed too (encounter ids are visit numbers or embed the IPP). What a researcher keeps: sex,
age at a document's date (exact: the shift moves the birth date and the document alike; the identity
block's age is the age at the patient's last document, never today's, which would narrow the shift),
care units, kinds, modalities, and every interval between two dates of one patient.

The patient, timeline, grouped-search, cohort and document-context routers translate through one
:class:`Viewer` (FastAPI dependency :func:`search_api.scope.patient_viewer`), so the rules live here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from search_api.security.deid import Deidentifier
from search_api.security.views import NO_SUCH_PATIENT

#: identity fields a researcher may see (no name, no birth date: age and sex are enough for cohorts)
RESEARCHER_IDENTITY = ("sex", "age", "age_on")


@dataclass(frozen=True)
class Viewer:
    """Translation between the index's patient data and what one caller sees (None: as is)."""

    deid: Deidentifier | None = None

    @property
    def deidentified(self) -> bool:
        return self.deid is not None

    # -- references coming in ------------------------------------------------------------------
    def patient_in(self, shown: str | None) -> str | None:
        """The index's patient id behind an id this caller sent (a researcher's unknown pseudonym, or a
        real IPP, becomes an id no document has: « not found », exactly as for a missing patient)."""
        if self.deid is None or not shown:
            return shown
        return self.deid.real_patient(shown) or NO_SUCH_PATIENT

    def patients_in(self, shown: list[str]) -> list[str]:
        return [p for p in (self.patient_in(s) for s in shown) if p and p != NO_SUCH_PATIENT]

    def doc_in(self, shown: str) -> str:
        """The index's document id behind an id this caller sent; check it with :meth:`shows_as`."""
        return self.deid.real_doc_id(shown) if self.deid is not None else shown

    def shows_as(self, real_id: str, patient_id: str | None, shown: str) -> bool:
        """Whether *shown* is how this caller addresses document *real_id* (a researcher asking by the
        real IPP-named id gets 404: the API never confirms that an IPP exists)."""
        return self.doc_out(real_id, patient_id) == shown

    def query(self, text: str) -> str:
        """The query as it may run for this caller (a researcher cannot probe names or IPPs)."""
        return self.deid.query(text) if self.deid is not None else text

    # -- data going out ------------------------------------------------------------------------
    def patient_out(self, patient_id: str | None) -> str | None:
        return self.deid.pseudonym(patient_id) if self.deid is not None and patient_id else patient_id

    def doc_out(self, doc_id: str, patient_id: str | None) -> str:
        return self.deid.doc_id(doc_id, patient_id) if self.deid is not None else doc_id

    def date(self, value: dt.date | None, patient_id: str | None) -> dt.date | None:
        return self.deid.date(value, patient_id) if self.deid is not None else value

    def text(self, value: str | None, patient_id: str | None) -> str | None:
        return self.deid.text(value, patient_id) if self.deid is not None and value else value

    def html(self, value: str | None, patient_id: str | None) -> str | None:
        return self.deid.html(value, patient_id) if self.deid is not None and value else value

    def identity(self, identity: Mapping[str, Any]) -> dict[str, Any]:
        """The identity block: whole for clinicians, sex and age only for researchers."""
        if self.deid is None:
            return dict(identity)
        return {k: v for k, v in identity.items() if k in RESEARCHER_IDENTITY}

    def stay(self, stay: Mapping[str, Any], patient_id: str | None) -> dict[str, Any]:
        """A stay (FHIR encounter: ``id``, ``class``, ISO ``start``/``end``, ``reason``, ``unit``) as shown."""
        if self.deid is None:
            return dict(stay)

        def shifted(value: Any) -> str | None:
            day = _iso_date(value)
            moved = self.date(day, patient_id)
            return moved.isoformat() if moved else None

        return {
            **stay,
            "id": self.deid.stay_id(str(stay.get("id") or ""), patient_id),
            "start": shifted(stay.get("start")),
            "end": shifted(stay.get("end")),
            "reason": self.text(stay.get("reason"), patient_id),
        }


IDENTIFIED = Viewer()


def _iso_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None
