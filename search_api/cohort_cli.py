"""``medsearch cohorts refresh``: re-evaluate the watched cohorts now (what each index publication does).

For a site that indexes by other means than the jobs (or to refresh after changing an owner's
rights): one line per watched cohort; exit code 1 when one failed (the others still ran), 0 otherwise
(skipped owners included: their reason is printed and kept on the cohort).
"""

from __future__ import annotations

import typer

from indexer.settings import get_settings

cohorts_app = typer.Typer(help="Saved cohorts: refresh the watched ones.", no_args_is_help=True)


@cohorts_app.command("refresh")
def refresh() -> None:
    """Re-evaluate every watched cohort with its owner's access scope, and store who is new."""
    from indexer.backend.base import IndexNotFoundError
    from indexer.jobs.logs import configure_logging
    from search_api.cohort_watch import refresh_watched

    settings = get_settings()
    configure_logging(settings.jobs.log_format, settings.jobs.log_level)
    try:
        outcomes = refresh_watched(settings, trigger="cli")
    except IndexNotFoundError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    if not outcomes:
        typer.echo("no watched cohort")
    for o in outcomes:
        detail = f"{o.members} patients, {len(o.new)} new" if o.status == "refreshed" else (o.reason or "")
        if o.status == "refreshed" and o.rights:
            detail += f" (rights: {o.rights})"  # account, key, or an OIDC user's rights snapshot of <time>
        typer.echo(f"cohort {o.cohort_id} « {o.name} » ({o.owner}): {o.status} - {detail}")
    if any(o.status == "failed" for o in outcomes):
        raise typer.Exit(code=1)
