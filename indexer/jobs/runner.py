"""Run one configured source (or several) once: the unit that the scheduler, ``medsearch run-jobs``
and ``medsearch index`` share.

A run takes the index lock (a second run on the same index is recorded as ``skipped``, never run
concurrently), writes its start to the job history, indexes, and records its end with the counts,
the files that could not be read and the generation it published. A run that raises is recorded as
``failed``; one that is killed stays ``running`` until the history notices (``crashed``). A run that
published a new generation then refreshes the watched cohorts (:mod:`search_api.cohort_watch`),
after its end is recorded and never changing it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer.jobs.history import JobHistory, JobRecord
from indexer.jobs.lock import IndexBusyError, IndexLock
from indexer.jobs.logs import LOGGER, event
from indexer.settings import Settings, SourceSettings

log = logging.getLogger(LOGGER)
_ENCODERS: dict[str, Any] = {}
#: runs in progress in this process (job id → (history, source name)): what a stopping scheduler waits for
_RUNNING: dict[int, tuple[JobHistory, str]] = {}
_STOPPING = threading.Event()


def running_jobs() -> dict[int, tuple[JobHistory, str]]:
    return dict(_RUNNING)


def stop_starting_jobs() -> None:
    """No run starts in this process from now on (the scheduler is stopping)."""
    _STOPPING.set()


@dataclass
class JobOutcome:
    record: JobRecord
    report: Any = None  # indexer.pipeline.IndexReport when the run got that far


def _encoder(settings: Settings) -> Any:
    """One encoder per configuration for the scheduler's lifetime (loading one takes seconds)."""
    from indexer.encoders import load_encoder

    key = settings.encoder.model_dump_json()
    if key not in _ENCODERS:
        _ENCODERS[key] = load_encoder(settings.encoder)
    return _ENCODERS[key]


def published_generation(settings: Settings) -> str | None:
    """The generation the index serves now (an embedded generation number, an Elasticsearch index name)."""
    from indexer.backend.factory import open_backend

    try:
        backend = open_backend(settings)
    except Exception:  # no index yet, or the engine is unreachable: nothing to name
        return None
    try:
        return str(backend.info().generation) if backend.exists() else None
    except Exception:
        return None
    finally:
        backend.close()


def run_job(
    source: SourceSettings,
    settings: Settings,
    *,
    trigger: str = "manual",
    encoder: Any = None,
    progress: Callable[[Iterable, str, int], Iterable] | None = None,
    raise_errors: bool = False,
) -> JobOutcome:
    """Index *source* once under the index lock, recording the run in the job history."""
    from indexer.pipeline import index_paths

    history = JobHistory.for_index(settings.index.dir)
    paths = [str(Path(p)) for p in source.paths]
    options = {"prune": source.prune, "rebuild": source.rebuild}
    if _STOPPING.is_set():
        job_id = history.record_skipped(source.name, trigger, paths, "the scheduler is stopping")
        return JobOutcome(history.get(job_id))  # type: ignore[arg-type]
    try:
        lock = IndexLock(settings.index.dir, f"job {source.name}").acquire()
    except IndexBusyError as exc:
        job_id = history.record_skipped(source.name, trigger, paths, str(exc))
        event(log, logging.WARNING, "job_skipped", job=job_id, source=source.name, reason=str(exc))
        if raise_errors:
            raise
        return JobOutcome(history.get(job_id))  # type: ignore[arg-type]
    try:
        before = published_generation(settings)
        job_id = history.start(source.name, trigger, paths, options)
        _RUNNING[job_id] = (history, source.name)
        event(log, logging.INFO, "job_started", job=job_id, source=source.name, trigger=trigger, paths=paths, **options)
        try:
            kwargs = {"progress": progress} if progress is not None else {}
            report = index_paths(
                [Path(p) for p in source.paths], settings, encoder or _encoder(settings),
                rebuild=source.rebuild, prune=source.prune, **kwargs,
            )
        except Exception as exc:
            message = f"{exc.__class__.__name__}: {exc}"
            history.finish(job_id, "failed", message=message, generation=published_generation(settings))
            log.error("job_failed", exc_info=True, extra={"fields": {"job": job_id, "source": source.name, "error": message}})
            if raise_errors:
                raise
            return JobOutcome(history.get(job_id))  # type: ignore[arg-type]
        for path, reason in report.skipped:
            event(log, logging.WARNING, "file_skipped", job=job_id, source=source.name, path=path, reason=reason)
        for path, message in report.warnings:
            event(log, logging.INFO, "file_warning", job=job_id, source=source.name, path=path, message=message)
        for path, message in report.duplicates:
            event(log, logging.INFO, "file_duplicate", job=job_id, source=source.name, path=path, message=message)
        counts = {
            "files_seen": report.files_seen,
            "added": report.documents_added,
            "updated": report.documents_updated,
            "deleted": report.documents_removed,
            "unchanged": report.documents_unchanged,
            "failed": len(report.skipped),
            "warnings": len(report.warnings),
            "duplicates": len(report.duplicates),
            "passages": report.passages_added,
        }
        generation = published_generation(settings)
        message = None if report.files_seen else "no supported file found under the source's paths"
        history.finish(job_id, "succeeded", counts=counts, errors=report.skipped, generation=generation, message=message)
        event(log, logging.INFO, "job_finished", job=job_id, source=source.name, status="succeeded",
              generation=generation, seconds=round(report.seconds.get("total", 0.0), 1), **counts)
        if generation is not None and generation != before:
            _refresh_watched_cohorts(settings, encoder or _encoder(settings), job_id)
        return JobOutcome(history.get(job_id), report)  # type: ignore[arg-type]
    finally:
        _RUNNING.pop(locals().get("job_id", -1), None)
        lock.release()


def _refresh_watched_cohorts(settings: Settings, encoder: Any, job_id: int) -> None:
    """Re-evaluate the watched cohorts on the generation just published (under the index lock, so no
    other run replaces it meanwhile). Nothing it raises reaches the run, already recorded."""
    try:
        from search_api.cohort_watch import refresh_after_publication

        outcomes = refresh_after_publication(settings, encoder=encoder, trigger=f"job:{job_id}")
    except Exception:
        log.error("cohort_watch_failed", exc_info=True, extra={"fields": {"job": job_id}})
        return
    if outcomes:
        event(log, logging.INFO, "cohort_watch_done", job=job_id,
              **{status: sum(o.status == status for o in outcomes) for status in ("refreshed", "skipped", "failed")})


def run_sources(settings: Settings, names: list[str] | None = None, trigger: str = "once") -> list[JobOutcome]:
    """Run the configured sources (all, or those named) once each, one after the other."""
    sources = settings.sources
    if names:
        unknown = sorted(set(names) - {s.name for s in sources})
        if unknown:
            raise ValueError(f"unknown source(s) {', '.join(unknown)}; configured: {', '.join(s.name for s in sources) or 'none'}")
        sources = [s for s in sources if s.name in names]
    return [run_job(source, settings, trigger=trigger) for source in sources]
