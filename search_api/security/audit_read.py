"""Reading the audit log: filters, who-saw-which-patient, least-privilege redaction, CSV export.

Shared by ``GET /audit``, ``GET /audit/export`` and ``medsearch audit export`` so that the API and the
command the DPO runs on the server answer the same question the same way.

Why redaction: the log holds what clinicians typed (« cancer du sein Mme Dupont »), the patients their
results showed and the documents they read. An operations admin needs to see *that* something happened
(who, when, which action, from where, refused or not) to run the service and investigate incidents,
not *what* was searched or *whom* it was about. So only an ``auditor`` (the DPO or their delegate)
reads whole entries; an ``admin`` gets the metadata fields of :data:`METADATA_FIELDS`, and the names
of the fields withheld in ``redacted``. Redaction happens when reading: the stored lines, and therefore
the hash chain ``medsearch audit verify`` checks, are never changed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from search_api.security.audit import iter_entries

#: what an admin without the auditor role sees of an entry: who, when, what kind of action, from where,
#: the outcome, the chain links, and ids of the users' own objects (cohort, saved search, job). Any other
#: field (query, filters, returned ids, patients, documents, cohort definitions...) is withheld, so a
#: field added to the log later is withheld by default.
METADATA_FIELDS = frozenset({
    "seq", "ts", "user", "role", "action", "client", "request_id", "method", "status", "reason", "path",
    "prev", "hash", "cohort_id", "search_id", "format", "replaced", "via", "on_behalf_of", "rights", "redacted",
    # break-the-glass: the grant ids an access was made under, the motive's category, the grant's end (not
    # the patient, not the clinician's justification: the auditor's)
    "break_glass", "grant_id", "grant_user", "motive", "expires_at", "revoked_at",
})

#: actions whose ``returned`` list names patients (the others' ``returned`` are document, cohort or job ids)
PATIENT_RESULT_ACTIONS = frozenset({
    "patient_search", "cohort_evaluate", "cohort_list", "cohort_open", "cohort_update", "cohort_run", "cohort_watch_refresh",
})
#: fields that name patients whatever the action (search results' patients, cohort members, new members)
_PATIENT_LIST_FIELDS = ("patients", "members", "new")

CSV_COLUMNS = ("seq", "ts", "user", "role", "action", "patients", "client", "request_id", "query", "details")
#: a patient's access report (GDPR art. 15): who, when, in which role, did what with *their* record
PATIENT_REPORT_COLUMNS = ("date_utc", "user", "role", "action", "document_id")
#: what each action means for the patient reading their report (French: the hospital's patients)
PATIENT_ACTION_LABELS = {
    "search": "dossier apparu dans les résultats d'une recherche",
    "patient_search": "dossier apparu dans les résultats d'une recherche de patients",
    "image_search": "image apparue dans les résultats d'une recherche par image",
    "document_read": "lecture d'un document",
    "image_thumbnail": "affichage d'une vignette d'image",
    "image_render": "affichage d'une image",
    "patient_view": "consultation de la fiche patient",
    "patient_timeline": "consultation de la chronologie du dossier",
    "timeline": "consultation de la chronologie du dossier",
    "denied": "tentative d'accès refusée",
    "audit_read": "consultation de l'historique des accès au dossier",
    "audit_export": "export de l'historique des accès au dossier",
    "break_glass": "accès exceptionnel (bris de glace) ouvert sur le dossier",
    "break_glass_revoke": "fin d'un accès exceptionnel (bris de glace) au dossier",
}


@dataclass(frozen=True)
class AuditQuery:
    """Which entries to read: every given criterion must match (UTC dates, both bounds included)."""

    user: str | None = None
    patient_id: str | None = None
    action: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    #: only entries of a break-the-glass access: the grants themselves and what was read under them
    break_glass: bool = False

    def matches(self, entry: dict[str, Any]) -> bool:
        if self.user and entry.get("user") != self.user:
            return False
        if self.break_glass and not entry.get("break_glass"):
            return False
        if self.action and entry.get("action") != self.action:
            return False
        day = str(entry.get("ts", ""))[:10]
        if self.date_from and day < self.date_from.isoformat():
            return False
        if self.date_to and day > self.date_to.isoformat():
            return False
        if self.patient_id:
            wanted = self.patient_id.casefold()
            return any(str(p).casefold() == wanted for p in patients_of(entry))
        return True

    def as_filters(self) -> dict[str, str | None]:
        """The criteria as written in the ``audit_read`` / ``audit_export`` entry."""
        return {
            "user": self.user, "patient_id": self.patient_id, "action": self.action,
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            **({"break_glass": "true"} if self.break_glass else {}),
        }


def patients_of(entry: dict[str, Any]) -> list[str]:
    """Every patient an entry says was touched: read, filtered on, or shown in results.

    « Who accessed patient X's record » must include the searches whose results showed X, not only
    reads of X's documents: a patient search or a cohort lists patients in ``returned``, a cohort
    save its ``members``, a document search the patients of its results in ``patients``, a cohort
    review its ``decisions``. Researchers' entries hold real ids too (the routers audit real ids)."""
    found: list[str] = []
    if entry.get("patient_id"):
        found.append(str(entry["patient_id"]))
    for name in _PATIENT_LIST_FIELDS:
        found += _strings(entry.get(name))
    if entry.get("action") in PATIENT_RESULT_ACTIONS:
        found += _strings(entry.get("returned"))
    for decision in entry.get("decisions") or []:
        if isinstance(decision, dict) and decision.get("patient"):  # a cohort member included or excluded
            found.append(str(decision["patient"]))
    filters = entry.get("filters")
    if isinstance(filters, dict) and filters.get("patient_id"):
        found.append(str(filters["patient_id"]))
    return list(dict.fromkeys(found))


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value if isinstance(v, (str, int))] if isinstance(value, list) else []


def matching_entries(path: Path, query: AuditQuery) -> list[dict[str, Any]]:
    """The entries of the log at *path* (rotated files included) matching *query*, newest first."""
    matched = [entry for entry in iter_entries(path) if query.matches(entry)]
    matched.reverse()
    return matched


def redacted(entry: dict[str, Any]) -> dict[str, Any]:
    """*entry* as an admin without the auditor role sees it: metadata only, withheld field names listed.

    A refused path names what was asked for (``/patients/P900001``): only its first segment is kept."""
    shown = {k: v for k, v in entry.items() if k in METADATA_FIELDS}
    if isinstance(shown.get("path"), str):
        shown["path"] = _path_shape(shown["path"])
    withheld = sorted(k for k in entry if k not in METADATA_FIELDS)
    if withheld:
        shown["redacted"] = withheld
    return shown


def _path_shape(path: str) -> str:
    """``/patients/P900001/timeline`` → ``/patients/…``: the endpoint without the ids it was given."""
    head, _, rest = path.lstrip("/").partition("/")
    return f"/{head}/…" if rest else f"/{head}"


def to_csv(entries: Iterable[dict[str, Any]]) -> str:
    """A spreadsheet of *entries* for the DPO: one row each, patients and query in their own columns,
    every other field as JSON in ``details`` (chain fields left out: the log itself is the evidence)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in csv_rows(entries):
        writer.writerow(row)
    return out.getvalue()


def csv_rows(entries: Iterable[dict[str, Any]]) -> Iterator[list[str]]:
    skip = {"seq", "ts", "user", "role", "action", "client", "request_id", "query", "prev", "hash"}
    for entry in entries:
        details = {k: v for k, v in entry.items() if k not in skip}
        yield [_cell(v) for v in (
            entry.get("seq"), entry.get("ts"), entry.get("user"), entry.get("role"), entry.get("action"),
            " ".join(patients_of(entry)), entry.get("client"), entry.get("request_id"), entry.get("query"),
            json.dumps(details, ensure_ascii=False, sort_keys=True) if details else "",
        )]


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (a query typed « =HYPERLINK(...) »)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def to_patient_report_csv(entries: Iterable[dict[str, Any]], patient_id: str) -> str:
    """*patient_id*'s access report: one row per access to their record, and nothing else of the log.

    Unlike :func:`to_csv` (the DPO's working file), this is meant to be handed to the patient: no query
    text (it may name other patients or read as a diagnosis), no other patient's id, no client address;
    a document id only when the document is theirs. Cohort actions read « inclusion dans une cohorte »."""
    wanted = patient_id.casefold()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(PATIENT_REPORT_COLUMNS)
    for entry in entries:
        if wanted not in {p.casefold() for p in patients_of(entry)}:
            continue
        action = str(entry.get("action", ""))
        label = PATIENT_ACTION_LABELS.get(action) or (
            "dossier concerné par une cohorte de recherche" if action.startswith("cohort_") else action)
        own_document = str(entry.get("patient_id", "")).casefold() == wanted and entry.get("document_id")
        writer.writerow([_cell(v) for v in (
            str(entry.get("ts", ""))[:19].replace("T", " "), entry.get("user"), entry.get("role"), label,
            entry.get("document_id") if own_document else "",
        )])
    return out.getvalue()
