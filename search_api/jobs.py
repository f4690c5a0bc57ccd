"""``GET /jobs``: the indexing runs (start, end, status, counts, errors, generation published).

Read from the job history beside the index (:mod:`indexer.jobs.history`), so the API shows what the
scheduler, CronJobs and manual runs did without talking to them. Operational data: the security
work makes this router admin-only, and reads are audited (a run's paths and errors may name source
files, which in a hospital can carry an IPP).
"""

# No `from __future__ import annotations`: FastAPI resolves the dependency annotations at runtime.
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request

from indexer.jobs.history import JobHistory, JobRecord
from indexer.settings import Settings
from search_api.models import RowId
from search_api.security import Principal, current_principal


def jobs_router(settings: Settings) -> APIRouter:
    router = APIRouter(tags=["jobs"])

    def history() -> JobHistory:
        return JobHistory.for_index(settings.index.dir)

    @router.get("/jobs", response_model=list[JobRecord])
    def list_jobs(
        http: Request,
        principal: Annotated[Principal, Depends(current_principal)],
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        source: Annotated[str | None, Query(max_length=100)] = None,
    ) -> list[JobRecord]:
        """Most recent runs first; ``status`` is running, succeeded, failed, skipped (index busy), crashed or interrupted (stopped by SIGTERM)."""
        records = history().list(limit=limit, source=source)
        http.app.state.security.record(http, principal, "jobs_read", returned=[r.id for r in records])
        return records

    @router.get("/jobs/{job_id}", response_model=JobRecord)
    def get_job(job_id: RowId, http: Request, principal: Annotated[Principal, Depends(current_principal)]) -> JobRecord:
        record = history().get(job_id)
        if record is None:
            raise HTTPException(status_code=404, detail=f"no job {job_id}")
        http.app.state.security.record(http, principal, "jobs_read", returned=[record.id])
        return record

    return router
