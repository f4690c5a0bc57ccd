"""The scheduler process: every configured source on its own cron schedule (APScheduler).

Jobs run one at a time in this process (a one-thread executor queues a job whose time comes while
another runs), and the index lock keeps other processes (a manual ``medsearch index``, a CronJob)
from writing at the same time. A job whose time passed while the process was down runs once when
it comes back, if within ``misfire_grace_time``.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler

from indexer.jobs.cron import cron_trigger
from indexer.jobs.logs import LOGGER, event
from indexer.jobs.runner import run_job, running_jobs, stop_starting_jobs
from indexer.settings import Settings, SourceSettings


def build_scheduler(settings: Settings, sources: list[SourceSettings] | None = None) -> BlockingScheduler:
    """A scheduler with one job per scheduled source (sources without ``schedule`` are left out)."""
    scheduler = BlockingScheduler(executors={"default": ThreadPoolExecutor(1)})
    for source in sources if sources is not None else settings.sources:
        if not source.schedule:
            continue
        scheduler.add_job(
            run_job,
            cron_trigger(source.schedule),
            args=(source, settings),
            kwargs={"trigger": "schedule"},
            id=source.name,
            name=f"index {source.name}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
        )
    return scheduler


def stop_on_signals(grace_s: float) -> None:
    """SIGTERM (``docker stop``, systemd, Kubernetes) and SIGINT stop ``medsearch schedule`` cleanly.

    The stop is logged (``scheduler_stopping``, with the runs in progress); no new run starts; a run in
    progress is given *grace_s* seconds (``jobs.stop_grace_s``) to finish and record its own end, and
    one still running after that is recorded ``interrupted`` in the job history (``medsearch jobs``)
    before the process exits 0. An interrupted run is safe: nothing was published (the index keeps
    serving the previous generation) and the next run completes the work, as after a crash."""
    log = logging.getLogger(LOGGER)

    def stop(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        stop_starting_jobs()
        running = running_jobs()
        event(log, logging.INFO, "scheduler_stopping", signal=name, running=sorted(running), grace_s=grace_s)
        deadline = time.monotonic() + grace_s
        while running_jobs() and time.monotonic() < deadline:
            time.sleep(0.1)
        for job_id, (history, source) in running_jobs().items():
            if history.mark_interrupted(job_id, f"stopped by {name}: still running {grace_s:g} s after the scheduler was "
                                                f"asked to stop (jobs.stop_grace_s); the next run completes the work"):
                event(log, logging.WARNING, "job_interrupted", job=job_id, source=source, signal=name)
        event(log, logging.INFO, "scheduler_stopped", signal=name)
        for handler in log.handlers:
            handler.flush()
        sys.stdout.flush()
        sys.stderr.flush()
        # not sys.exit: the executor's worker thread (a run past its grace) would keep the process alive
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
