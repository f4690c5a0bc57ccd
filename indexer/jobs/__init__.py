"""Indexing jobs: configured sources run on a schedule (or once), one at a time per index, with a
history of every run. See :mod:`indexer.jobs.runner` for what one run does."""

from indexer.jobs.history import JobHistory, JobRecord
from indexer.jobs.lock import IndexBusyError, IndexLock
from indexer.jobs.runner import run_job, run_sources

__all__ = ["IndexBusyError", "IndexLock", "JobHistory", "JobRecord", "run_job", "run_sources"]
