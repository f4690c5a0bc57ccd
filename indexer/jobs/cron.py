"""Crontab expressions with crontab's meaning, for APScheduler 3.

APScheduler 3 numbers weekdays from Monday = 0, while crontab (and every systemd/Kubernetes example
an operator copies) uses Sunday = 0 (or 7): ``CronTrigger.from_crontab("30 3 * * 0")`` fires on
*Mondays*, and ``1-5`` means Tuesday to Saturday. Weekday numbers are therefore rewritten as names
(``sun``, ``mon-fri``), which both read the same way.
"""

from __future__ import annotations

import re

from apscheduler.triggers.cron import CronTrigger

_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _weekday_names(field: str) -> str:
    parts = []
    for part in field.split(","):
        base, slash, step = part.partition("/")
        base = re.sub(r"\d+", lambda m: _DAYS[int(m.group()) % 7], base)
        parts.append(base + slash + step)
    return ",".join(parts)


def cron_trigger(expression: str, timezone: object = None) -> CronTrigger:
    """A trigger that fires when crontab would for *expression* (5 fields); ValueError if invalid."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"a crontab expression has 5 fields (minute hour day month weekday), got {len(fields)}")
    minute, hour, day, month, weekday = fields
    return CronTrigger(minute=minute, hour=hour, day=day, month=month, day_of_week=_weekday_names(weekday), timezone=timezone)
