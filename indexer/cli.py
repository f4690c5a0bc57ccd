"""``medsearch`` command line: index sources, serve the API, build the demo, schedule reindexing."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from indexer.settings import get_settings

app = typer.Typer(help="medsearch: multimodal clinical search (reports, records, articles, images).", no_args_is_help=True)
console = Console()


def _rich_progress(items: Iterable, description: str, total: int) -> Iterable:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        yield from progress.track(items, total=total, description=description)


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
        ("durées (s)", ", ".join(f"{k} {v:.1f}" for k, v in report.seconds.items())),
    ):
        table.add_row(label, str(value))
    console.print(table)
    for path, reason in report.skipped:
        console.print(f"[yellow]ignoré[/yellow] {path}: {reason}")
    for path, message in getattr(report, "warnings", []):
        console.print(f"[cyan]avertissement[/cyan] {path}: {message}")


def run_index(paths: list[Path], rebuild: bool = False, prune: bool = False, quiet: bool = False):  # noqa: ANN201
    """Index *paths* with the configured settings and encoder; shared by ``index``, ``demo`` and ``schedule``."""
    from indexer.encoders import load_encoder
    from indexer.pipeline import index_paths

    settings = get_settings()
    encoder = load_encoder(settings.encoder)
    kwargs = {} if quiet else {"progress": _rich_progress}
    report = index_paths(paths, settings, encoder, rebuild=rebuild, prune=prune, **kwargs)
    _print_report(report)
    return report


@app.command()
def index(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to index (recursively)")],
    rebuild: Annotated[bool, typer.Option(help="Delete the existing index first")] = False,
    prune: Annotated[bool, typer.Option(help="Remove documents whose source file no longer exists")] = False,
) -> None:
    """Index reports (.txt/.md/.pdf), FHIR records (.json), articles (.json/.xml/.pdf), images (.dcm/.png/.jpg)."""
    from indexer.pipeline import EncoderMismatchError

    try:
        report = run_index(paths, rebuild=rebuild, prune=prune)
    except EncoderMismatchError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=2) from exc
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
    uvicorn.run("search_api.app:create_app", factory=True, host=host or settings.api.host, port=port or settings.api.port)


@app.command()
def schedule(
    paths: Annotated[list[Path], typer.Argument(help="Folders to re-index")],
    cron: Annotated[str, typer.Option(help="Crontab expression, e.g. '0 2 * * *' for 2 am nightly")] = "0 2 * * *",
) -> None:
    """Re-index *paths* incrementally on a schedule (APScheduler), pruning deleted sources."""
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger

    scheduler = BlockingScheduler()
    scheduler.add_job(run_index, CronTrigger.from_crontab(cron), kwargs={"paths": paths, "prune": True, "quiet": True})
    console.print(f"Re-indexing {', '.join(map(str, paths))} on '{cron}'. Ctrl-C to stop.")
    scheduler.start()


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


if __name__ == "__main__":
    app()
