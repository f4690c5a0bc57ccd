"""Watched cohorts: re-evaluated after each index publication, with their owner's access scope.

What trial screening relies on (« saved queries re-run monthly »): a cohort saved with ``watch: true``
is evaluated again when the indexing jobs publish a new generation (:func:`indexer.jobs.runner.run_job`
calls :func:`refresh_after_publication`) or on ``medsearch cohorts refresh``. Each evaluation:

- reads the index as the owner would through the API: the owner's principal is rebuilt from the
  API's account and key stores, or for a user of the hospital's OIDC provider from the rights their
  last verified token carried, if younger than ``api.watch_rights_max_age_hours``
  (:func:`search_api.security.owners.owner_principal`), its filter and
  viewer built by :func:`search_api.scope.scope_for` / :func:`~search_api.scope.viewer_for` (what
  ``request_scope`` and ``patient_viewer`` use), so a restricted owner never counts a patient outside
  their scope and a researcher's cohort stays in pseudonyms. An owner who no longer exists or is
  disabled is skipped, with the reason logged and kept on the cohort (``refresh_error``);
- is written to the audit log as the system's action on behalf of the owner (user
  :data:`SYSTEM_USER`, ``on_behalf_of``), naming the real patients and the rights' source
  (``rights``: ``account``, ``key`` or ``rights snapshot of <time>``), before its result is stored;
- stores the run time, the members and the patients new to the owner (those absent from what the
  owner last saw), which ``GET /cohorts`` counts until the owner opens or re-runs the cohort.

One cohort that fails is logged and skipped; the others still run, and a failure of the whole
refresh never reaches the indexing run that triggered it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from indexer.jobs.logs import LOGGER, event
from indexer.settings import Settings
from search_api.audit import AuditLog
from search_api.cohorts import CohortDefinition, run_cohort
from search_api.scope import scope_for, viewer_for
from search_api.security.owners import owner_principal
from search_api.user_data import UserDataStore

log = logging.getLogger(f"{LOGGER}.cohort_watch")  # with the jobs' structured logs (text or JSON)

#: the audit log's user for watch evaluations (the owner is ``on_behalf_of``)
SYSTEM_USER = "system:cohort-watch"
AUDIT_ACTION = "cohort_watch_refresh"


@dataclass
class RefreshOutcome:
    """One watched cohort's refresh, as ``medsearch cohorts refresh`` prints it."""

    cohort_id: int
    owner: str
    name: str
    status: Literal["refreshed", "skipped", "failed"]
    members: int = 0
    new: list[str] = field(default_factory=list)  # new to the owner, as the owner sees them
    reason: str | None = None
    rights: str | None = None  # where the owner's rights came from (account, key, rights snapshot of <time>)


def _deid_registry(settings: Settings) -> Any:
    """The de-identifier registry the API builds (same pseudonym key, same date policy)."""
    from search_api.security.secrets import pseudonym_key
    from search_api.security.views import DeidRegistry

    return DeidRegistry(pseudonym_key(settings.security.secrets_dir), settings.security.deid_dates)


def refresh_watched(settings: Settings, *, engine: Any = None, encoder: Any = None, store: UserDataStore | None = None,
                    audit: AuditLog | None = None, trigger: str = "cli") -> list[RefreshOutcome]:
    """Re-evaluate every owner's watched cohorts on the published index; one outcome per cohort."""
    if store is None and not settings.api.user_data.exists():
        return []  # nobody ever saved anything: no database to create here
    own_store = store is None
    store = store or UserDataStore(settings.api.user_data)
    try:
        watched = store.watched_cohorts()
        if not watched:
            return []
        if engine is None:
            from search_api.engine_factory import build_engine

            engine = build_engine(settings, encoder, clip=False)  # cohorts read the lexical index only
        audit = audit or AuditLog(settings.api.audit_log, rotate_bytes=int(settings.security.audit_rotate_mb * 1e6))
        deid = _deid_registry(settings)
        return [_refresh_one(cohort, settings, engine, store, audit, deid, trigger) for cohort in watched]
    finally:
        if own_store:
            store.close()


def _refresh_one(cohort: dict[str, Any], settings: Settings, engine: Any, store: UserDataStore, audit: AuditLog,
                 deid: Any, trigger: str) -> RefreshOutcome:
    owner, cohort_id = cohort["owner"], int(cohort["id"])
    outcome = RefreshOutcome(cohort_id, owner, cohort["name"], "skipped")
    try:
        lookup = owner_principal(owner, settings.security, snapshots=store,
                                 max_age=timedelta(hours=settings.api.watch_rights_max_age_hours))
        outcome.rights = lookup.source
        if lookup.principal is None:
            outcome.reason = lookup.reason
            event(log, logging.WARNING, "cohort_watch_skipped", cohort=cohort_id, owner=owner, reason=lookup.reason,
                  rights=lookup.source)
            store.record_refresh_error(cohort_id, f"skipped: {lookup.reason}")
            return outcome
        principal = lookup.principal
        viewer = viewer_for(principal, deid, engine)
        definition = CohortDefinition.model_validate(cohort["definition"])
        result = run_cohort(engine, definition, scope_for(principal), cohort["members"], viewer)
        members = [p.patient_id for p in result.patients]
        new = [p.patient_id for p in result.patients if p.new]

        def real(patients: list[str]) -> list[str]:
            return viewer.patients_in(patients) if viewer.deidentified else patients

        # traced before it is kept: no audit line, no stored result (as the API's 503)
        audit.record(SYSTEM_USER, AUDIT_ACTION, role=principal.role, on_behalf_of=owner, cohort_id=cohort_id,
                     trigger=trigger, rights=lookup.source, returned=real(members), new=real(new))
        if not store.record_refresh(cohort_id, members, new, cohort["members"]):
            event(log, logging.INFO, "cohort_watch_superseded", cohort=cohort_id, owner=owner)  # re-run by its owner meanwhile
    except Exception as exc:  # one cohort's failure must not stop the others, nor the indexing run
        outcome.status, outcome.reason = "failed", f"{exc.__class__.__name__}: {exc}"
        log.error("cohort_watch_failed", exc_info=True,
                  extra={"fields": {"cohort": cohort_id, "owner": owner, "error": outcome.reason}})
        try:
            store.record_refresh_error(cohort_id, f"failed: {outcome.reason}")
        except Exception:  # the store itself is broken: the log line above is all there is
            log.error("cohort_watch_error_not_stored", exc_info=True, extra={"fields": {"cohort": cohort_id}})
        return outcome
    outcome.status, outcome.members, outcome.new = "refreshed", len(members), new
    event(log, logging.INFO, "cohort_watch_refreshed", cohort=cohort_id, owner=owner, members=len(members), new=len(new),
          rights=outcome.rights)
    return outcome


def refresh_after_publication(settings: Settings, encoder: Any = None, trigger: str = "index") -> list[RefreshOutcome]:
    """The indexing jobs' hook: refresh, and never raise (the index run's status is its own)."""
    try:
        return refresh_watched(settings, encoder=encoder, trigger=trigger)
    except Exception:
        log.error("cohort_watch_refresh_failed", exc_info=True)
        return []
