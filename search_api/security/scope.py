"""Who is asking (:class:`Principal`) and what they may see (:class:`AccessScope`).

The scope is *not* checked on results after retrieval: it becomes the restriction fields of the one
filter type, :class:`~indexer.backend.filters.DocumentFilter`, which every retrieval leg applies
before ranking and pagination, so totals and pages never reveal what lies outside it. Single
documents (``/documents``, image thumbnails and renders) are checked with :meth:`AccessScope.admits`,
which has the filter's own semantics (a document without a patient is visible to everyone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from indexer.backend.filters import DocumentFilter, normalise_key


class Role(str, Enum):
    CLINICIAN = "clinician"   # identified patient data, optionally restricted to units / patients
    RESEARCHER = "researcher"  # de-identified view of patient data
    ADMIN = "admin"           # operations: jobs, stats, audit metadata (no patient data by itself)
    AUDITOR = "auditor"       # the DPO / their delegate: whole audit entries (queries, patients), no documents


class View(str, Enum):
    """How patient documents are shown to a principal."""

    IDENTIFIED = "identified"
    DEIDENTIFIED = "deidentified"
    NONE = "none"  # no patient document at all (an admin or auditor without a clinical role)


@dataclass(frozen=True)
class AccessScope:
    """Patients and care units a principal may see (None on an axis = not restricted on it)."""

    patients: tuple[str, ...] | None = None
    departments: tuple[str, ...] | None = None
    #: patients of the principal's valid break-the-glass grants: admitted whatever the restriction says
    granted: tuple[str, ...] = ()

    def apply(self, where: DocumentFilter) -> DocumentFilter:
        """*where* narrowed to this scope: what every retrieval leg must be given."""
        return where.restricted(self.patients, self.departments, self.granted)

    @property
    def standing(self) -> AccessScope:
        """This scope without its break-the-glass grants: what research uses (cohorts, their exports and
        watch), since a grant is for the care of one patient, not for counting or exporting them."""
        return AccessScope(self.patients, self.departments)

    def admits(self, document: Any) -> bool:
        """Whether one document is inside the scope (same semantics as the filter's restriction)."""
        patient = getattr(document, "patient_id", None)
        if not patient:
            return True  # articles, figures: no patient, visible to everyone
        if normalise_key(patient) in {normalise_key(p) for p in self.granted}:
            return True  # a break-the-glass grant for this patient
        if self.patients is not None and normalise_key(patient) not in {normalise_key(p) for p in self.patients}:
            return False
        if self.departments is not None:
            department = (getattr(document, "metadata", None) or {}).get("department")
            if not department or normalise_key(str(department)) not in {normalise_key(d) for d in self.departments}:
                return False
        return True

    @property
    def unrestricted(self) -> bool:
        return self.patients is None and self.departments is None


NO_PATIENTS = AccessScope(patients=())


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: a token's subject or an API key."""

    user: str
    roles: frozenset[Role]
    units: tuple[str, ...] | None = None      # from the token's units claim or the key's record
    patients: tuple[str, ...] | None = None   # idem
    via: str = "jwt"                          # jwt | api_key
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    #: valid break-the-glass grants (search_api.security.break_glass.Grant), attached per request by
    #: current_principal: the one place they join the scope
    grants: tuple[Any, ...] = field(default=(), compare=False)

    @property
    def view(self) -> View:
        if Role.CLINICIAN in self.roles:
            return View.IDENTIFIED
        if Role.RESEARCHER in self.roles:
            return View.DEIDENTIFIED
        return View.NONE

    @property
    def scope(self) -> AccessScope:
        """The restriction to apply to every search and read of this principal."""
        if self.view is View.NONE:
            return NO_PATIENTS
        return AccessScope(self.patients, self.units, tuple(g.patient_id for g in self.grants))

    @property
    def role(self) -> str:
        """The role shown to the user and written in the audit log (the most data-bearing first)."""
        for role in (Role.CLINICIAN, Role.RESEARCHER, Role.AUDITOR, Role.ADMIN):
            if role in self.roles:
                return role.value
        return "none"

    @property
    def deidentified(self) -> bool:
        return self.view is View.DEIDENTIFIED
