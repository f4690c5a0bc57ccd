"""The scheduler process: every configured source on its own cron schedule (APScheduler).

Jobs run one at a time in this process (a one-thread executor queues a job whose time comes while
another runs), and the index lock keeps other processes (a manual ``medsearch index``, a CronJob)
from writing at the same time. A job whose time passed while the process was down runs once when
it comes back, if within ``misfire_grace_time``.
"""

from __future__ import annotations

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler

from indexer.jobs.cron import cron_trigger
from indexer.jobs.runner import run_job
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
