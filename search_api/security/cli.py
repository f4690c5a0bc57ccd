"""``medsearch keys``, ``medsearch users`` and ``medsearch audit``: the security commands.

Keys and users live in files under ``security.secrets_dir`` (hashes only); the commands edit those
files, and the running API picks changes up at once (keys file re-read on change, users on login).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

from indexer.settings import get_settings

keys_app = typer.Typer(help="API keys of service accounts (stored as argon2 hashes).", no_args_is_help=True)
users_app = typer.Typer(help="Local accounts for POST /auth/login (demo, or a site without OIDC).", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)


def _key_store():  # noqa: ANN202
    from search_api.security.keys import KeyStore

    s = get_settings().security
    return KeyStore(s.keys_path)


def _user_store():  # noqa: ANN202
    from search_api.security.users import UserStore

    s = get_settings().security
    return UserStore(s.users_path)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="Service account name (appears in the audit log as key:NAME)")],
    role: Annotated[list[str], typer.Option("--role", help="clinician, researcher, admin or auditor (repeatable)")],
    unit: Annotated[Optional[list[str]], typer.Option("--unit", help="Restrict to this care unit (repeatable)")] = None,
    patient: Annotated[Optional[list[str]], typer.Option("--patient", help="Restrict to this patient (repeatable)")] = None,
) -> None:
    """Create a key and print it once (only its hash is kept)."""
    try:
        key = _key_store().create(name, role, units=unit or None, patients=patient or None)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    typer.echo(key)
    typer.echo(f"# key {name!r} ({', '.join(role)}): send it as the X-API-Key header; it is not shown again.", err=True)


@keys_app.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument(help="The key's name")]) -> None:
    """Revoke a key (at once: the API re-reads the keys file when it changes)."""
    if not _key_store().revoke(name):
        typer.echo(f"error: no active key named {name!r}", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"revoked {name}")


@keys_app.command("list")
def keys_list() -> None:
    """Names, roles, restrictions and state of the keys (never the keys)."""
    for record in _key_store().records().values():
        state = f"revoked {record.revoked}" if record.revoked else "active"
        typer.echo(f"{record.name}\t{','.join(record.roles)}\tunits={record.units}\tpatients={record.patients}\t{state}")


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument()],
    role: Annotated[list[str], typer.Option("--role", help="clinician, researcher, admin or auditor (repeatable)")],
    unit: Annotated[Optional[list[str]], typer.Option("--unit")] = None,
    patient: Annotated[Optional[list[str]], typer.Option("--patient")] = None,
    name: Annotated[Optional[str], typer.Option("--name", help="Display name")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
) -> None:
    """Create or replace a local account; prints a generated password unless one is given on stdin."""
    import sys

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        chosen = _user_store().add(username, role, password, units=unit or None, patients=patient or None, display_name=name)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=2) from exc
    if not password_stdin:
        typer.echo(chosen)


@audit_app.command("verify")
def audit_verify(
    path: Annotated[Optional[Path], typer.Argument(help="Audit log (default: api.audit_log)")] = None,
) -> None:
    """Check the hash chain across rotated files; exit 1 when any line was edited, removed or inserted."""
    from search_api.security.audit import verify_chain

    log = path or get_settings().api.audit_log
    if not log.exists() and not list(log.parent.glob(log.name + ".*")):
        typer.echo(f"error: no audit log at {log}", err=True)
        raise typer.Exit(code=2)
    result = verify_chain(log)
    for problem in result.problems:
        typer.echo(problem, err=True)
    if not result.ok:
        typer.echo(f"BROKEN: {len(result.problems)} problem(s) in {result.entries} entries ({result.files} file(s))")
        raise typer.Exit(code=1)
    typer.echo(f"OK: {result.entries} entries, {result.files} file(s), chain intact")


#: the role written in the audit for an export made on the server: whoever has a shell there, not a token
CLI_ROLE = "server-shell"


@audit_app.command("export")
def audit_export(
    patient: Annotated[Optional[str], typer.Option(
        "--patient", help="Only entries touching this patient (IPP): their access report")] = None,
    user: Annotated[Optional[str], typer.Option("--user", help="Only this user's entries")] = None,
    action: Annotated[Optional[str], typer.Option("--action", help="Only this action (search, document_read...)")] = None,
    date_from: Annotated[Optional[datetime], typer.Option("--from", formats=["%Y-%m-%d"], help="From this UTC day")] = None,
    date_to: Annotated[Optional[datetime], typer.Option("--to", formats=["%Y-%m-%d"], help="To this UTC day (included)")] = None,
    report: Annotated[str, typer.Option("--report", help="entries (the DPO's working file) or patient (to hand to "
                                                       "the patient: no query text, no other patient; needs --patient)")] = "entries",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="CSV file (default: stdout)")] = None,
    log: Annotated[Optional[Path], typer.Option("--log", help="Audit log (default: api.audit_log)")] = None,
    break_glass: Annotated[bool, typer.Option("--break-glass", help="Only break-the-glass grants and the accesses "
                                                                     "made under them (the DPO's review)")] = False,
) -> None:
    """Whole entries as CSV, oldest first, for the DPO: the register of accesses, or with --patient the
    list of accesses to one patient's record (GDPR right of access), searches that showed them included.
    The export is itself written to the log (``audit_export``, user ``cli:<OS user>``)."""
    if report not in ("entries", "patient") or (report == "patient" and not patient):
        typer.echo("error: --report is entries or patient, and patient needs --patient", err=True)
        raise typer.Exit(code=2)
    import getpass

    from search_api.security.audit import AuditLog, AuditUnavailable
    from search_api.security.audit_read import AuditQuery, matching_entries, to_csv, to_patient_report_csv

    path = log or get_settings().api.audit_log
    if not path.exists() and not list(path.parent.glob(path.name + ".*")):
        typer.echo(f"error: no audit log at {path}", err=True)
        raise typer.Exit(code=2)
    query = AuditQuery(user, patient, action, date_from.date() if date_from else None, date_to.date() if date_to else None,
                       break_glass)
    entries = matching_entries(path, query)
    entries.reverse()
    try:  # traced before anything is shown, as the API's reads (no line, no export)
        rotate = int(get_settings().security.audit_rotate_mb * 1e6)
        AuditLog(path, rotate_bytes=rotate).record(
            f"cli:{getpass.getuser()}", "audit_export", role=CLI_ROLE, filters=query.as_filters(), redacted=False,
            format="csv", report=report, rows=len(entries), output=str(output) if output else "stdout",
        )
    except AuditUnavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    text = to_patient_report_csv(entries, patient) if report == "patient" and patient else to_csv(entries)
    if output:
        _write_owner_only(output, text)
        typer.echo(f"{len(entries)} entries written to {output}", err=True)
    else:
        typer.echo(text, nl=False)



@audit_app.command("prune")
def audit_prune(
    before: Annotated[Optional[datetime], typer.Option(
        "--before", formats=["%Y-%m-%d"], help="Delete files wholly before this UTC day")] = None,
    days: Annotated[Optional[int], typer.Option(
        "--days", min=1, help="...or older than this many days (default: security.audit_retention_days)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would be deleted")] = False,
    log: Annotated[Optional[Path], typer.Option("--log", help="Audit log (default: api.audit_log)")] = None,
) -> None:
    """Retention: delete the rotated audit files whose every entry is older than the cut-off, keeping
    the chain verifiable (the prune is an entry of the chain, its start is kept in <log>.anchor).
    Backups made by `medsearch backup` keep their own copy: apply the same retention to them."""
    import getpass
    from datetime import timedelta, timezone

    from search_api.security.audit import AuditLog, AuditUnavailable
    from search_api.security.audit_retention import prune

    settings = get_settings()
    days = days if days is not None else settings.security.audit_retention_days
    if before is None and days is None:
        typer.echo("error: give --before or --days (or set security.audit_retention_days)", err=True)
        raise typer.Exit(code=2)
    cutoff = before.date() if before else (datetime.now(timezone.utc) - timedelta(days=days or 0)).date()
    path = log or settings.api.audit_log
    audit = AuditLog(path, rotate_bytes=int(settings.security.audit_rotate_mb * 1e6))
    try:
        result = prune(audit, cutoff, f"cli:{getpass.getuser()}", CLI_ROLE, dry_run=dry_run)
    except AuditUnavailable as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    verb = "would delete" if dry_run else "deleted"
    typer.echo(f"{verb} {len(result.files)} file(s), {result.entries} entries before {cutoff.isoformat()}"
               + (f"; the chain now starts after seq {result.through_seq}" if result.through_seq and not dry_run else ""))
    for name in result.files:
        typer.echo(f"  {name}", err=True)


def _write_owner_only(path: Path, text: str) -> None:
    """Write *text* readable by its owner only (0600): an access report names patients and queries."""
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
