"""``medsearch user-data``: retention of the portal's per-user data (GDPR art. 5(1)(e)).

Saved searches hold query text, cohorts hold patient lists and screening decisions, rights snapshots
hold an OIDC user's roles and units: personal data of users and of patients, kept in ``api.user_data``
until their owner deletes them. These commands let the DPO see whose data is kept and since when
(``owners``), and delete a departed user's data, or of every user inactive for a period (``purge``).
Each deletion is written to the audit log (``user_data_purge``, with the deleted ids) before it happens.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Annotated, Optional

import typer

from indexer.settings import get_settings

user_data_app = typer.Typer(help="Per-user portal data (saved searches, cohorts): who holds what, retention.",
                            no_args_is_help=True)

#: the role written in the audit for a purge made on the server (whoever has a shell there)
CLI_ROLE = "server-shell"


def _store():  # noqa: ANN202
    from search_api.user_data import UserDataStore

    return UserDataStore(get_settings().api.user_data)


@user_data_app.command("owners")
def owners() -> None:
    """Each user holding data: saved searches, cohorts, last activity (UTC)."""
    for row in _store().owners():
        typer.echo(f"{row['owner']}\tsearches={row['searches']}\tcohorts={row['cohorts']}\tlast={row['last_activity']}")


@user_data_app.command("purge")
def purge(
    owner: Annotated[Optional[list[str]], typer.Option("--owner", help="A departed user (repeatable)")] = None,
    inactive_days: Annotated[Optional[int], typer.Option("--inactive-days", min=30,
                                                         help="...or every user without activity for this many days "
                                                              "(default: api.user_data_retention_days)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list whose data would be deleted")] = False,
) -> None:
    """Delete the saved searches, cohorts and rights snapshot of the given users, or of inactive ones."""
    import getpass

    from search_api.security.audit import AuditLog, AuditUnavailable

    settings = get_settings()
    store = _store()
    inactive_days = inactive_days if inactive_days is not None or owner else settings.api.user_data_retention_days
    if not owner and inactive_days is None:
        typer.echo("error: give --owner or --inactive-days (or set api.user_data_retention_days)", err=True)
        raise typer.Exit(code=2)
    targets = list(owner or [])
    if inactive_days is not None:
        cutoff = (datetime.now(timezone.utc) - timedelta(days=inactive_days)).isoformat(timespec="seconds")
        targets += [r["owner"] for r in store.owners() if str(r["last_activity"] or "") < cutoff and r["owner"] not in targets]
    held = {r["owner"]: r for r in store.owners()}
    audit = AuditLog(settings.api.audit_log, rotate_bytes=int(settings.security.audit_rotate_mb * 1e6))
    for name in targets:
        if dry_run:
            typer.echo(f"would purge {name}")
            continue
        try:  # traced first: no audit line, no deletion
            audit.record(f"cli:{getpass.getuser()}", "user_data_purge", role=CLI_ROLE, owner=name,
                         reason="owner named" if name in (owner or []) else f"inactive {inactive_days} days",
                         saved_searches=held.get(name, {}).get("searches", 0), cohorts=held.get(name, {}).get("cohorts", 0),
                         last_activity=held.get(name, {}).get("last_activity"))
        except AuditUnavailable as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(code=1) from exc
        deleted = store.purge_owner(name)
        typer.echo(f"purged {name}: {len(deleted['saved_searches'])} saved searches, {len(deleted['cohorts'])} cohorts"
                   + (", rights snapshot" if deleted["rights_snapshot"] else ""))
