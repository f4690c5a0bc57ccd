"""``medsearch`` command line: index sources, serve the API, build the demo, schedule reindexing."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from indexer.settings import get_settings

app = typer.Typer(help="medsearch: multimodal clinical search (reports, records, articles, images).", no_args_is_help=True)
console = Console()


class RichProgress:
    """The pipeline's progress factory (:data:`indexer.pipeline.ProgressFactory`) on one rich display.

    Bars may nest: while « Indexation par lots » runs, a big file's passages get a bar of their own
    (« Analyse : rapport.txt »), removed when it is done. Why one display: rich allows a single live
    display at a time, so a second ``Progress`` opened inside the first raised ``LiveError``."""

    def __init__(self, output: Console | None = None) -> None:
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        self._progress = Progress(*columns, console=output or console, transient=False)
        self._open = 0  # bars being iterated: the display runs while there is one

    def __call__(self, items: Iterable, description: str, total: int) -> Iterable:
        if self._open == 0:
            self._progress.start()
        nested = self._open > 0
        self._open += 1
        task = self._progress.add_task(description, total=total)
        try:
            for item in items:
                yield item
                self._progress.advance(task)
        finally:
            self._open -= 1
            if nested:
                self._progress.remove_task(task)  # a big file's bar: gone once the file is done
            if self._open == 0:
                self._progress.stop()


def _print_report(report) -> None:  # noqa: ANN001 - IndexReport, imported lazily
    table = Table(title="Indexation", show_header=False)
    for label, value in (
        ("fichiers lus", report.files_seen),
        ("documents ajoutés", report.documents_added),
        ("documents mis à jour", report.documents_updated),
        ("documents inchangés", report.documents_unchanged),
        ("documents supprimés", report.documents_removed),
        ("passages indexés", report.passages_added),
        ("fichiers ignorés", len(report.skipped)),
        ("doublons ignorés", len(getattr(report, "duplicates", []))),
        ("durées (s)", ", ".join(f"{k} {v:.1f}" for k, v in report.seconds.items())),
    ):
        table.add_row(label, str(value))
    console.print(table)
    for path, reason in report.skipped:
        console.print(f"[yellow]ignoré[/yellow] {path}: {reason}")
    for path, message in getattr(report, "warnings", []):
        console.print(f"[cyan]avertissement[/cyan] {path}: {message}")
    for path, message in getattr(report, "duplicates", []):
        console.print(f"[blue]doublon[/blue] {path}: {message}")


def run_index(paths: list[Path], rebuild: bool = False, prune: bool = False, quiet: bool = False):  # noqa: ANN201
    """Index *paths* with the configured settings and encoder, as a recorded job under the index lock;
    shared by ``index`` and ``demo``. Returns the pipeline's report."""
    from indexer.jobs.runner import run_job
    from indexer.settings import SourceSettings

    settings = get_settings()
    source = SourceSettings(name="manual", paths=paths, prune=prune, rebuild=rebuild)
    outcome = run_job(source, settings, trigger="cli", progress=None if quiet else RichProgress(), raise_errors=True)
    _print_report(outcome.report)
    return outcome.report


@app.command()
def index(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to index (recursively)")],
    rebuild: Annotated[bool, typer.Option(help="Delete the existing index first")] = False,
    prune: Annotated[bool, typer.Option(help="Remove documents whose source file no longer exists")] = False,
) -> None:
    """Index reports (.txt/.md/.pdf, DICOM SR .dcm), FHIR records (.json), articles (.json/.xml/.pdf), images (.dcm/.png/.jpg)."""
    from indexer.jobs.lock import IndexBusyError
    from indexer.pipeline import EncoderMismatchError

    try:
        report = run_index(paths, rebuild=rebuild, prune=prune)
    except EncoderMismatchError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=2) from exc
    except IndexBusyError as exc:
        console.print(f"[red]{exc}: try again when it has finished[/red]")
        raise typer.Exit(code=75) from exc
    if report.files_seen == 0:
        console.print("[red]No supported file found.[/red]")
        raise typer.Exit(code=1)


@app.command("demo-corpus")
def demo_corpus(
    out: Annotated[Path, typer.Argument(help="Output folder")] = Path("data/demo"),
    seed: int = 42,
    patients: int = 200,
) -> None:
    """Generate the bundled synthetic demo corpus (deterministic for a given seed)."""
    from indexer.demo.generate import generate_corpus

    counts = generate_corpus(out, seed=seed, n_patients=patients)
    console.print(f"Demo corpus written to {out}: {counts}")


@app.command()
def serve(
    host: Optional[str] = None,
    port: Optional[int] = None,
) -> None:
    """Serve the search API (FastAPI + uvicorn)."""
    import uvicorn

    settings = get_settings()
    from search_api.app import check_writable

    check_writable(settings)  # before uvicorn: a ConfigError is then one message and exit 78, not a traceback
    from search_api.logging_config import uvicorn_log_config

    uvicorn.run("search_api.app:create_app", factory=True, host=host or settings.api.host, port=port or settings.api.port,
                log_config=uvicorn_log_config(settings.api.log_format))


def _configure_job_logs(json_logs: bool) -> None:
    from indexer.jobs.logs import configure_logging

    settings = get_settings()
    configure_logging("json" if json_logs else settings.jobs.log_format, settings.jobs.log_level)


@app.command()
def schedule(
    paths: Annotated[Optional[list[Path]], typer.Argument(help="Folders to re-index (default: the configured sources)")] = None,
    cron: Annotated[str, typer.Option(help="Crontab expression for PATHS, e.g. '0 2 * * *' for 2 am nightly")] = "0 2 * * *",
    json_logs: Annotated[bool, typer.Option("--json-logs", help="One JSON object per log line")] = False,
) -> None:
    """Run the configured sources (``sources:`` in the config), each on its own cron schedule; or PATHS
    on --cron. Runs never overlap on one index, and each is recorded (``medsearch jobs``)."""
    import logging

    from indexer.jobs.logs import LOGGER, event
    from indexer.jobs.scheduler import build_scheduler, stop_on_signals
    from indexer.settings import SourceSettings

    _configure_job_logs(json_logs)
    settings = get_settings()
    sources = [SourceSettings(name="cli", paths=paths, schedule=cron, prune=True)] if paths else settings.sources
    scheduled = [s for s in sources if s.schedule]
    if not scheduled:
        console.print("[red]Nothing to schedule: give PATHS, or configure `sources:` with a `schedule`.[/red]")
        raise typer.Exit(code=1)
    scheduler = build_scheduler(settings, scheduled)
    for source in scheduled:
        console.print(f"{source.name}: {', '.join(map(str, source.paths))} on '{source.schedule}'")
    console.print("Ctrl-C (or SIGTERM) to stop.")
    stop_on_signals(settings.jobs.stop_grace_s)
    event(logging.getLogger(LOGGER), logging.INFO, "scheduler_started", sources=[s.name for s in scheduled])
    scheduler.start()


@app.command("run-jobs")
def run_jobs(
    once: Annotated[bool, typer.Option("--once", help="Run each source once and exit (the only mode; for cron, systemd timers, Kubernetes CronJobs)")] = True,
    source: Annotated[Optional[list[str]], typer.Option("--source", help="Only this configured source (repeatable)")] = None,
    json_logs: Annotated[bool, typer.Option("--json-logs", help="One JSON object per log line")] = False,
) -> None:
    """Run the configured sources once, one after the other. Exit code: 0 all succeeded, 1 a run
    failed, 75 the index was busy (another run holds its lock: retry later)."""
    from indexer.jobs.runner import run_sources

    _configure_job_logs(json_logs)
    settings = get_settings()
    if not settings.sources:
        console.print("[red]No source configured: add `sources:` to the config (see configs/default.yaml).[/red]")
        raise typer.Exit(code=1)
    try:
        outcomes = run_sources(settings, source, trigger="once")
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=2) from exc
    statuses = [o.record.status for o in outcomes]
    for outcome in outcomes:
        r = outcome.record
        console.print(f"job {r.id} {r.source}: {r.status} (added {r.added}, updated {r.updated}, deleted {r.deleted}, "
                      f"unchanged {r.unchanged}, failed {r.failed}){' - ' + r.message if r.message else ''}")
    if "failed" in statuses:
        raise typer.Exit(code=1)
    if "skipped" in statuses:
        raise typer.Exit(code=75)


@app.command()
def jobs(
    limit: Annotated[int, typer.Option(help="How many recent runs")] = 20,
    source: Annotated[Optional[str], typer.Option(help="Only this source")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines, with every recorded error")] = False,
) -> None:
    """Recent indexing runs: start, end, status, counts, generation published, errors."""
    from indexer.jobs.history import JobHistory

    records = JobHistory.for_index(get_settings().index.dir).list(limit=limit, source=source)
    if as_json:
        for record in records:
            typer.echo(record.model_dump_json())
        return
    table = Table(title="Indexing jobs")
    for column in ("id", "source", "trigger", "status", "started", "ended", "added", "updated", "deleted",
                   "unchanged", "failed", "generation", "message"):
        table.add_column(column)
    for r in records:
        table.add_row(*(str(v) if v is not None else "" for v in (
            r.id, r.source, r.trigger, r.status, r.started_at, r.ended_at, r.added, r.updated, r.deleted,
            r.unchanged, r.failed, r.generation, r.message)))
    print_table(table)


def print_table(table: Table) -> None:
    """*table* in full. Outside a terminal (cron mail, a log file, a pipe) Rich assumes 80 columns and
    cut every cell of ``medsearch jobs`` to « su… », « 20… »: the table is printed at its own width there."""
    if console.is_terminal:
        console.print(table)
        return
    needed = console.measure(table, options=console.options.update(width=10_000)).maximum
    Console(width=max(console.width, needed), no_color=console.no_color).print(table)  # print() caps width at the console's


@app.command()
def check(
    index_dir: Annotated[Optional[Path], typer.Argument(help="Index directory (default: the configured index.dir); its published generation is checked")] = None,
) -> None:
    """Compare the index's stores (metadata, lexical, dense, image vectors; on Elasticsearch the
    documents, passages and image indices and their aliases): orphans, duplicates, count mismatches.
    Exit code 1 when any is found."""
    from indexer.check import check_configured

    report = check_configured(get_settings(), index_dir)
    console.print(f"{report.folder}: {report.documents} documents, {report.passages} passages; lexical "
                  f"{report.lexical_passages}, dense {report.dense_vectors}, image vectors {report.image_vectors}")
    for note in report.notes:
        console.print(f"[cyan]note[/cyan] {note}")
    for problem in report.problems:
        console.print(f"[red]problem[/red] {problem}")
    if not report.ok:
        raise typer.Exit(code=1)
    console.print("[green]consistent[/green]")


@app.command()
def stats() -> None:
    """Print document counts per kind and index age."""
    from dataclasses import asdict

    from indexer.backend import IndexNotFoundError, open_backend

    settings = get_settings()
    backend = open_backend(settings)
    try:
        stats = backend.stats()
    except IndexNotFoundError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=1) from exc
    finally:
        backend.close()
    console.print({"backend": backend.kind, **asdict(stats)})


generations_app = typer.Typer(help="Published index generations: list them, roll back to a kept one.",
                               no_args_is_help=True)
app.add_typer(generations_app, name="generations")


def _elasticsearch_generations(settings):  # noqa: ANN001, ANN202
    """(backend, its Generations) on Elasticsearch (a cluster that cannot be reached: main() says so, exit 69)."""
    from indexer.backend.factory import open_backend

    backend = open_backend(settings)
    return backend, backend.generations


@generations_app.command("list")
def generations_list() -> None:
    """Each kept generation: number, live or not, when it was written, encoder, documents, the run that published it."""
    import sqlite3

    from indexer.backend.embedded.generations import Generations
    from indexer.jobs.history import JobHistory

    settings = get_settings()
    index_dir = settings.index.dir
    runs = {r.generation: r for r in reversed(JobHistory.for_index(index_dir).list(limit=1000)) if r.generation}
    rows = []
    if settings.backend.kind == "elasticsearch":
        from indexer.backend.elasticsearch.rollback import kept

        backend, generations = _elasticsearch_generations(settings)
        try:
            found = kept(backend.client, generations)
        finally:
            backend.close()
        if not found:
            typer.echo(f"nothing published under the alias {generations.alias('passages')}: run `medsearch index PATH` first", err=True)
            raise typer.Exit(code=1)
        title = f"Générations de {generations.alias('*')}"
        rows = [(g.number, g.live, g.updated_at, g.encoder, g.documents) for g in found]
    else:
        generations = Generations(index_dir)
        live = generations.current()
        if live is None:
            typer.echo(f"no index at {index_dir}: run `medsearch index PATH` first", err=True)
            raise typer.Exit(code=1)
        title = f"Générations de {index_dir}"
        for number in [n for n in generations.numbered() if n <= live]:
            layout = generations.layout(number)
            manifest = layout.read_manifest()
            with sqlite3.connect(f"file:{layout.metadata}?mode=ro", uri=True) as db:
                documents = db.execute("SELECT count(*) FROM documents").fetchone()[0]
            rows.append((number, number == live, manifest.updated_at, manifest.encoder, documents))
    table = Table(title=title)
    for column in ("n°", "en ligne", "écrite le (UTC)", "encodeur", "documents", "publiée par"):
        table.add_column(column)
    for number, is_live, updated_at, encoder_name, documents in rows:
        run = runs.get(str(number))
        table.add_row(str(number), "●" if is_live else "", updated_at, encoder_name, str(documents),
                      f"run {run.id} ({run.source}, {run.trigger})" if run else "")
    print_table(table)


@contextmanager
def exit_codes(*codes: tuple[type[BaseException], int]) -> Iterator[None]:
    """Turn the operator errors *codes* names (exception type, exit code) into « error: … » on stderr and that
    exit code (sysexits: 75 = busy, try again; 2 = wrong argument), so scripts and cron can tell them apart."""
    try:
        yield
    except tuple(kind for kind, _ in codes) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=next(code for kind, code in codes if isinstance(exc, kind))) from exc


@generations_app.command("rollback")
def generations_rollback(
    number: Annotated[int, typer.Argument(help="A kept generation (see `medsearch generations list`)")],
) -> None:
    """Serve a kept generation again: a copy of it is published as the next generation (the API switches
    at its next request; the generation left stays kept, to roll forward). Embedded: a copy-on-write copy;
    Elasticsearch: a _clone of its indices and one alias swap. Takes the index lock: exit 75 while an
    indexing run writes."""
    from indexer.backend.embedded.generations import restore_generation
    from indexer.jobs import IndexBusyError, IndexLock

    settings = get_settings()
    index_dir = settings.index.dir
    with exit_codes((IndexBusyError, 75), (ValueError, 2)), IndexLock(index_dir, "generations rollback"):
        if settings.backend.kind == "elasticsearch":
            from indexer.backend.elasticsearch.rollback import rollback

            backend, generations = _elasticsearch_generations(settings)
            try:
                new = rollback(backend.client, generations, number, settings.backend.keep_generations)
            finally:
                backend.close()
        else:
            new = restore_generation(index_dir, number, settings.backend.keep_generations, settings.backend.grace_seconds)
    typer.echo(f"generation {number} is live again, published as generation {new}")


@app.command("backup")
def backup_command(
    dest: Annotated[Path, typer.Argument(help="A new folder (created, mode 0700: it holds the secrets)")],
) -> None:
    """Copy what a site must keep: the audit chain (under its lock), user data and job history (SQLite online
    backup), the secrets, and the embedded index's live generation (under the index lock; exit 75 while a
    run writes). Elasticsearch: snapshot the cluster itself. Check the copy: `medsearch audit verify DEST/audit/<log>`."""
    from indexer.backup import backup
    from indexer.jobs import IndexBusyError

    with exit_codes((IndexBusyError, 75), (FileExistsError, 2)):
        held = backup(get_settings(), dest)
    for key, value in held.items():
        typer.echo(f"{key}: {value}")


@app.command("restore")
def restore_command(
    source: Annotated[Path, typer.Argument(help="A folder written by `medsearch backup`")],
    force: Annotated[bool, typer.Option("--force", help="Replace what exists at the configured paths")] = False,
) -> None:
    """Copy a backup back to the configured paths (index.dir, api.audit_log, api.user_data,
    security.secrets_dir). Stop the API, the portal and the re-indexer first."""
    from indexer.backup import restore

    with exit_codes((FileNotFoundError, 2), (FileExistsError, 2)):
        written = restore(get_settings(), source, force=force)
    for path in written:
        typer.echo(f"restored {path}")


def _security_commands() -> None:
    """``medsearch keys|users|audit``: defined with the security layer (search_api/security/cli.py); and
    ``medsearch user-data`` (retention of saved searches and cohorts: search_api/user_data_cli.py)."""
    from search_api.security.cli import audit_app, keys_app, users_app

    app.add_typer(keys_app, name="keys")
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")

    from search_api.user_data_cli import user_data_app

    app.add_typer(user_data_app, name="user-data")


_security_commands()


def _cohort_commands() -> None:
    """``medsearch cohorts refresh``: the watched cohorts (search_api/cohort_cli.py)."""
    from search_api.cohort_cli import cohorts_app

    app.add_typer(cohorts_app, name="cohorts")


_cohort_commands()


def main() -> None:
    """The ``medsearch`` entry point: :func:`app`, with a configuration error printed as one message that
    names the wrong settings (no traceback) and exit code 78 (``EX_CONFIG``), so that a service manager or
    a container runtime shows why it refused to start; and an Elasticsearch that cannot be reached as one
    line and exit code 69 (``EX_UNAVAILABLE``)."""
    import sys

    from indexer.settings import ConfigError

    from indexer.backend.base import backend_unreachable

    try:
        app()
    except ConfigError as exc:
        print(f"medsearch: configuration error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
    except Exception as exc:
        from indexer.pipeline import SourceUnavailableError

        if isinstance(exc, SourceUnavailableError):
            print(f"medsearch: {exc}", file=sys.stderr)
            sys.exit(66)  # EX_NOINPUT
        if not backend_unreachable(exc):
            raise
        import re

        url = re.sub(r"//[^/@]*@", "//***@", get_settings().backend.url or "")  # credentials in a URL never printed
        print(f"medsearch: the index's server cannot be reached (backend.url = {url}): {type(exc).__name__}: {exc}",
              file=sys.stderr)
        sys.exit(69)  # EX_UNAVAILABLE: try again later


if __name__ == "__main__":
    main()
